//! Discovery metadata and the JWKS: fetched on first use, cached for an hour, fetched again
//! early (at most once a minute) when a token names a key the cache lacks.

use std::time::{Duration, SystemTime};

use openidconnect::IssuerUrl;

use super::OidcProvider;
use super::errors::error_chain;
use super::types::Metadata;
use super::verify::Rejection;
use crate::idp::SignInError;

/// How long discovery metadata and the JWKS are trusted before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The shortest time between two fetches caused by tokens naming unknown keys.
const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

pub(super) struct CachedMetadata {
    metadata: Metadata,
    fetched_at: SystemTime,
    /// When a token with an unknown key last made us fetch before the TTL ran out.
    forced_at: Option<SystemTime>,
}

impl OidcProvider {
    /// Discovery metadata (with JWKS), fetched when missing or older than [`METADATA_TTL`].
    pub(super) async fn metadata(&self) -> Result<Metadata, SignInError> {
        let now = self.clock.now();
        let mut cached = self.metadata.lock().await;
        if let Some(c) = cached.as_ref() {
            let age = now.duration_since(c.fetched_at).unwrap_or_default();
            if age < METADATA_TTL {
                return Ok(c.metadata.clone());
            }
        }
        let metadata = self.discover().await?;
        let forced_at = cached.as_ref().and_then(|c| c.forced_at);
        *cached = Some(CachedMetadata {
            metadata: metadata.clone(),
            fetched_at: now,
            forced_at,
        });
        Ok(metadata)
    }

    /// Fetches discovery and the JWKS again because a token names a key we do not have; at
    /// most once per [`KEY_REFETCH_INTERVAL`], so forged `kid`s cannot make us hammer the
    /// provider.
    pub(super) async fn refetch_for_unknown_key(&self) -> Result<Metadata, SignInError> {
        let now = self.clock.now();
        let mut cached = self.metadata.lock().await;
        let last_forced = cached.as_ref().and_then(|c| c.forced_at);
        if last_forced
            .is_some_and(|at| now.duration_since(at).unwrap_or_default() < KEY_REFETCH_INTERVAL)
        {
            return Err(Rejection::UnknownKey.into_error());
        }
        // Counted before fetching, so that a failing fetch is rate-limited too.
        if let Some(c) = cached.as_mut() {
            c.forced_at = Some(now);
        }
        let metadata = self.discover().await?;
        *cached = Some(CachedMetadata {
            metadata: metadata.clone(),
            fetched_at: now,
            forced_at: Some(now),
        });
        Ok(metadata)
    }

    /// `{issuer}/.well-known/openid-configuration`, then the JWKS it names.
    async fn discover(&self) -> Result<Metadata, SignInError> {
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|e| SignInError::Discovery(format!("issuer: {e}")))?;
        Metadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| SignInError::Discovery(error_chain(&e)))
    }
}
