//! Discovery metadata and the JWKS: fetched on first use, cached for an hour, fetched again
//! early (at most once a minute) when a token names a key the cache lacks.
//!
//! One fetch serves every sign-in waiting for it, under one timeout, and no lock is held
//! across the network: a slow provider delays its waiters once, not one after another. A
//! failed fetch is remembered for [`FAILURE_TTL`], so a dead provider answers at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use openidconnect::IssuerUrl;
use tokio::sync::OnceCell;

use super::OidcProvider;
use super::errors::error_chain;
use super::types::Metadata;
use super::verify::Rejection;
use crate::idp::SignInError;

/// How long discovery metadata and the JWKS are trusted before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// How long a failed fetch is remembered before the next sign-in tries again.
const FAILURE_TTL: Duration = Duration::from_secs(15);
/// The shortest time between two fetches caused by tokens naming unknown keys.
const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// The provider's metadata: the latest fetch (done or under way) and the last forced one.
#[derive(Default)]
pub(super) struct MetadataCache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    latest: Option<Arc<Fetch>>,
    /// When a token with an unknown key last made us fetch before the TTL ran out.
    forced_at: Option<SystemTime>,
}

/// One fetch, shared by everyone who waits for it.
struct Fetch {
    started_at: SystemTime,
    outcome: OnceCell<Result<Metadata, String>>,
}

impl Fetch {
    fn new(started_at: SystemTime) -> Arc<Self> {
        Arc::new(Self {
            started_at,
            outcome: OnceCell::new(),
        })
    }

    /// Whether a caller at `now` may use this fetch rather than start another.
    fn usable_at(&self, now: SystemTime) -> bool {
        let age = now.duration_since(self.started_at).unwrap_or_default();
        match self.outcome.get() {
            None => true,
            Some(Ok(_)) => age < METADATA_TTL,
            Some(Err(_)) => age < FAILURE_TTL,
        }
    }
}

impl MetadataCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl OidcProvider {
    /// Discovery metadata (with JWKS), fetched when missing, older than [`METADATA_TTL`],
    /// or failed more than [`FAILURE_TTL`] ago.
    pub(super) async fn metadata(&self) -> Result<Metadata, SignInError> {
        let now = self.clock.now();
        let fetch = {
            let mut state = self.metadata.lock();
            match &state.latest {
                Some(fetch) if fetch.usable_at(now) => fetch.clone(),
                _ => {
                    let fetch = Fetch::new(now);
                    state.latest = Some(fetch.clone());
                    fetch
                }
            }
        };
        self.complete(&fetch).await
    }

    /// Fetches discovery and the JWKS again because a token names a key we do not have; at
    /// most once per [`KEY_REFETCH_INTERVAL`], so forged `kid`s cannot make us hammer the
    /// provider.
    pub(super) async fn refetch_for_unknown_key(&self) -> Result<Metadata, SignInError> {
        let now = self.clock.now();
        let fetch = {
            let mut state = self.metadata.lock();
            if state
                .forced_at
                .is_some_and(|at| now.duration_since(at).unwrap_or_default() < KEY_REFETCH_INTERVAL)
            {
                return Err(Rejection::UnknownKey.into_error());
            }
            // Counted before fetching, so that a failing fetch is rate-limited too.
            state.forced_at = Some(now);
            let fetch = Fetch::new(now);
            state.latest = Some(fetch.clone());
            fetch
        };
        self.complete(&fetch).await
    }

    /// Waits for `fetch`, running it if nobody is.
    async fn complete(&self, fetch: &Fetch) -> Result<Metadata, SignInError> {
        fetch
            .outcome
            .get_or_init(|| self.discover())
            .await
            .clone()
            .map_err(SignInError::Discovery)
    }

    /// `{issuer}/.well-known/openid-configuration`, then the JWKS it names, within the
    /// configured provider timeout for both.
    async fn discover(&self) -> Result<Metadata, String> {
        let issuer =
            IssuerUrl::new(self.settings.issuer.clone()).map_err(|e| format!("issuer: {e}"))?;
        let fetched =
            tokio::time::timeout(self.timeout, Metadata::discover_async(issuer, &self.http))
                .await
                .map_err(|_| format!("no answer within {} s", self.timeout.as_secs()))?;
        fetched.map_err(|e| error_chain(&e))
    }
}
