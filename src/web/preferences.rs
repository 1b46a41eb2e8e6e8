//! A person's console preferences, kept in the store so they follow the person across
//! instances and browsers: favourite accounts and roles, recently used roles (with a switch
//! to turn them off, since reordering trips muscle memory), the switch-role history, and
//! whether a single offered role opens at once.

use serde::{Deserialize, Serialize};

use super::{AppState, Error};

/// Recently used roles kept.
pub(super) const MAX_RECENTS: usize = 10;
/// Switch-role history entries kept (AWS keeps 5).
pub(super) const MAX_SWITCHES: usize = 10;
/// Favourites kept.
pub(super) const MAX_FAVOURITES: usize = 500;

/// One role switched to, as the switch-role form named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct SwitchEntry {
    /// The account id.
    pub(super) account: String,
    /// The role name.
    pub(super) role: String,
    /// What the header shows, e.g. `prod-admin`.
    pub(super) display_name: String,
    /// One of [`COLOURS`].
    pub(super) colour: String,
}

/// The colours the switch-role form offers, as AWS's console does.
pub(super) const COLOURS: [(&str, &str); 5] = [
    ("red", "#d13212"),
    ("orange", "#ec7211"),
    ("yellow", "#f2c94c"),
    ("green", "#2e7d32"),
    ("blue", "#0073bb"),
];

/// What one person chose.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Preferences {
    /// `account:<id>` or `role:<arn>`.
    pub(super) favourites: Vec<String>,
    /// Role ARNs, the most recent first.
    pub(super) recents: Vec<String>,
    /// Whether recently used roles are not recorded or shown.
    pub(super) recents_off: bool,
    /// Roles switched to, the most recent first.
    pub(super) switches: Vec<SwitchEntry>,
    /// Whether the portal opens the only offered role at once.
    pub(super) straight_to_single_role: bool,
    /// The role chosen, with "remember my choice", among those a SAML provider asserted.
    pub(super) saml_role_choice: Option<String>,
}

impl Preferences {
    /// The preferences of `owner` (`idp/subject`); defaults when none are kept or the kept
    /// document no longer reads.
    pub(super) async fn load(state: &AppState, owner: &str) -> Result<Self, Error> {
        let document = state.stores.preferences.get(owner).await?;
        Ok(document
            .and_then(|d| serde_json::from_value(d).ok())
            .unwrap_or_default())
    }

    /// Keeps them for `owner`.
    pub(super) async fn save(&self, state: &AppState, owner: &str) -> Result<(), Error> {
        let document = serde_json::to_value(self).unwrap_or_default();
        state.stores.preferences.put(owner, &document).await?;
        Ok(())
    }

    /// Records a sign-in to `role_arn` among the recently used, unless recents are off.
    pub(super) fn used(&mut self, role_arn: &str) {
        if self.recents_off {
            return;
        }
        self.recents.retain(|r| r != role_arn);
        self.recents.insert(0, role_arn.to_owned());
        self.recents.truncate(MAX_RECENTS);
    }

    /// Records a switch, first in the history.
    pub(super) fn switched(&mut self, entry: SwitchEntry) {
        self.switches
            .retain(|e| (&e.account, &e.role) != (&entry.account, &entry.role));
        self.switches.insert(0, entry);
        self.switches.truncate(MAX_SWITCHES);
    }

    /// Stars or unstars `favourite`.
    pub(super) fn toggle_favourite(&mut self, favourite: &str) {
        if let Some(at) = self.favourites.iter().position(|f| f == favourite) {
            self.favourites.remove(at);
        } else if self.favourites.len() < MAX_FAVOURITES {
            self.favourites.push(favourite.to_owned());
        }
    }

    /// Whether `favourite` is starred.
    pub(super) fn is_favourite(&self, favourite: &str) -> bool {
        self.favourites.iter().any(|f| f == favourite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recents_keep_the_last_ten_distinct_roles_unless_turned_off() {
        let mut preferences = Preferences::default();
        for i in 0..12 {
            preferences.used(&format!("role-{i}"));
        }
        preferences.used("role-5");
        assert_eq!(preferences.recents.len(), MAX_RECENTS);
        assert_eq!(
            preferences.recents.first().map(String::as_str),
            Some("role-5")
        );
        assert_eq!(
            preferences
                .recents
                .iter()
                .filter(|r| *r == "role-5")
                .count(),
            1
        );
        preferences.recents_off = true;
        preferences.used("role-99");
        assert!(!preferences.recents.iter().any(|r| r == "role-99"));
    }

    #[test]
    fn switching_again_moves_the_entry_first_and_the_history_is_capped() {
        let mut preferences = Preferences::default();
        let entry = |i: usize| SwitchEntry {
            account: format!("{i:012}"),
            role: "Admin".into(),
            display_name: format!("admin-{i}"),
            colour: "red".into(),
        };
        for i in 0..12 {
            preferences.switched(entry(i));
        }
        preferences.switched(entry(4));
        assert_eq!(preferences.switches.len(), MAX_SWITCHES);
        assert_eq!(preferences.switches.first(), Some(&entry(4)));
    }

    #[test]
    fn a_favourite_toggles() {
        let mut preferences = Preferences::default();
        preferences.toggle_favourite("account:111122223333");
        assert!(preferences.is_favourite("account:111122223333"));
        preferences.toggle_favourite("account:111122223333");
        assert!(!preferences.is_favourite("account:111122223333"));
    }
}
