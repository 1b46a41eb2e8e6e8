//! `[admin]`: who may use the admin pages. Every entry names the identity provider it is
//! valid at (`corp:rolegate-admins`), because a group name or a `sub` is unique only within
//! one provider: a partner provider's `alice` is not ours.

use toml::Spanned;

use super::source::Source;
use super::{ConfigError, IdpConfig, IdpName};

/// Who may use the admin pages: members of these groups, or these subjects, each at one
/// provider.
#[derive(Debug, Default, Clone)]
pub struct Admin {
    /// Groups, each as its provider sends it.
    pub groups: Vec<AtIdp>,
    /// Subjects (`sub` or SAML NameID).
    pub subjects: Vec<AtIdp>,
}

/// A name that means something only at one identity provider: `idp:name` in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtIdp {
    /// The provider.
    pub idp: IdpName,
    /// The group or subject, as that provider sends it.
    pub name: String,
}

impl Admin {
    /// Whether a person signed in through `idp` as `subject`, in `groups`, is an admin.
    pub fn admits(&self, idp: &IdpName, subject: &str, groups: &[String]) -> bool {
        self.subjects
            .iter()
            .any(|s| &s.idp == idp && s.name == subject)
            || self
                .groups
                .iter()
                .any(|g| &g.idp == idp && groups.contains(&g.name))
    }
}

impl Source<'_> {
    /// `[admin]`, each entry checked against the configured providers.
    pub(super) fn admin(
        &self,
        raw: &super::raw::RawAdmin,
        idps: &[IdpConfig],
    ) -> Result<Admin, ConfigError> {
        let qualified = |entries: &[Spanned<String>], key: &str, what: &str| {
            entries
                .iter()
                .enumerate()
                .map(|(i, entry)| {
                    self.at_idp(entry.get_ref(), idps, what).map_err(|reason| {
                        self.invalid(entry.span(), &format!("{key}[{i}]"), reason)
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Admin {
            groups: qualified(&raw.groups, "admin.groups", "group")?,
            subjects: qualified(&raw.subjects, "admin.subjects", "subject")?,
        })
    }

    fn at_idp(&self, entry: &str, idps: &[IdpConfig], what: &str) -> Result<AtIdp, String> {
        let Some((idp, name)) = entry.split_once(':') else {
            let example = idps.first().map_or("corp", |idp| idp.name.as_str());
            return Err(format!(
                "`{entry}` names no identity provider: write `{example}:{entry}`; a {what} is \
                 unique only within one provider"
            ));
        };
        let idp = IdpName::parse(idp)?;
        if !idps.iter().any(|configured| configured.name == idp) {
            return Err(format!("`{idp}` is not a configured [[idp]]"));
        }
        if name.is_empty() {
            return Err(format!("`{entry}` names no {what} after the provider"));
        }
        Ok(AtIdp {
            idp,
            name: name.to_owned(),
        })
    }
}
