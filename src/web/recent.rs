//! The last sign-ins' claims, for the mapping playground (this instance only, memory only).

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::idp::Identity;

/// How many sign-ins are remembered.
pub(super) const RECENT_SIGN_INS: usize = 20;

/// The most recent sign-ins, newest first.
#[derive(Debug, Default)]
pub struct RecentSignIns {
    identities: Mutex<VecDeque<Identity>>,
}

impl RecentSignIns {
    /// Remembers `identity`, replacing an earlier sign-in of the same person.
    pub fn record(&self, identity: &Identity) {
        let mut identities = self
            .identities
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        identities.retain(|i| i.owner_key() != identity.owner_key());
        identities.push_front(identity.clone());
        identities.truncate(RECENT_SIGN_INS);
    }

    /// The remembered identities, newest first.
    pub fn list(&self) -> Vec<Identity> {
        self.identities
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}
