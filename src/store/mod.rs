//! What the broker keeps between requests: browser sessions, role sessions, one-time values,
//! revocations and per-person preferences, each behind a small trait with an in-memory and a Redis backend.
//!
//! Knows no business rules: records are plain data with an owner, an expiry and a payload.
//! Every read checks expiry against the injected clock, so both backends agree on when a
//! value stops existing and tests need no sleeping.

mod browser;
mod error;
mod memory;
mod redis;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::config::StoreSpec;

pub use browser::BrowserSessionStore;
pub use error::StoreError;

/// The prefix of every Redis key rolegate writes.
pub const KEY_PREFIX: &str = "rolegate:";

/// What a one-time value is for; each purpose has its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OneTimePurpose {
    /// An OIDC authorization request's `state`, bound to its browser session.
    OidcState,
    /// The ID of a SAML `AuthnRequest` awaiting its `InResponseTo`.
    SamlRequestId,
    /// The ID of a SAML assertion already consumed (replay detection).
    SamlAssertionId,
    /// A verified SAML sign-in handed from the ACS (a cross-site post, which carries no
    /// session cookie) to the browser's next, same-site request.
    SamlSignIn,
    /// The ID of an identity provider's `LogoutRequest` already answered (replay detection).
    SamlLogoutRequest,
    /// An authorization code issued by the demo identity provider.
    DemoAuthorizationCode,
}

impl OneTimePurpose {
    /// The key-space name used in storage keys.
    pub fn as_str(self) -> &'static str {
        match self {
            OneTimePurpose::OidcState => "oidc-state",
            OneTimePurpose::SamlRequestId => "saml-request",
            OneTimePurpose::SamlAssertionId => "saml-assertion",
            OneTimePurpose::SamlSignIn => "saml-sign-in",
            OneTimePurpose::SamlLogoutRequest => "saml-logout",
            OneTimePurpose::DemoAuthorizationCode => "demo-code",
        }
    }
}

/// Values that may be used once and expire: OIDC state, SAML request and assertion ids,
/// authorization codes.
#[async_trait]
pub trait OneTimeStore: Send + Sync + Debug {
    /// Records `key` with `value` for `ttl` unless an unexpired entry exists.
    /// Returns `false` when the key was already present: a replay.
    async fn insert_once(
        &self,
        purpose: OneTimePurpose,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Removes `key` and returns its value if it existed and had not expired; a second call
    /// returns `None`.
    async fn take(&self, purpose: OneTimePurpose, key: &str) -> Result<Option<String>, StoreError>;
}

/// One issued role session, as the store sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleSessionRecord {
    /// The session's unique id (its access key id).
    pub id: String,
    /// The person who holds it: a stable `idp/subject` key.
    pub owner: String,
    /// The ARN of the assumed role.
    pub role_arn: String,
    /// When it was issued (Unix seconds).
    pub issued_at: u64,
    /// When it expires (Unix seconds).
    pub expires_at: u64,
    /// Whatever the session layer needs to keep; opaque to the store.
    pub payload: serde_json::Value,
}

/// Issued role sessions, by id and by owner.
#[async_trait]
pub trait RoleSessionStore: Send + Sync + Debug {
    /// Stores `record` until its `expires_at`, replacing any record with the same id.
    async fn put(&self, record: &RoleSessionRecord) -> Result<(), StoreError>;

    /// The unexpired record with `id`.
    async fn get(&self, id: &str) -> Result<Option<RoleSessionRecord>, StoreError>;

    /// The owner's unexpired records, oldest issued first.
    async fn list_for_owner(&self, owner: &str) -> Result<Vec<RoleSessionRecord>, StoreError>;

    /// The role's unexpired records, oldest issued first.
    async fn list_for_role(&self, role_arn: &str) -> Result<Vec<RoleSessionRecord>, StoreError>;

    /// Removes the record; returns whether it existed.
    async fn remove(&self, id: &str) -> Result<bool, StoreError>;
}

/// What a revocation applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationTarget {
    /// One session, by id.
    Session(String),
    /// Every session of one person (`idp/subject`) issued before the cut-off.
    Owner(String),
    /// Every session of one role (ARN) issued before the cut-off.
    Role(String),
}

/// The facts about a session that revocation is checked against.
#[derive(Debug, Clone, Copy)]
pub struct SessionFacts<'a> {
    /// The session id.
    pub id: &'a str,
    /// The owner key.
    pub owner: &'a str,
    /// The role ARN.
    pub role_arn: &'a str,
    /// When the session was issued (Unix seconds).
    pub issued_at: u64,
}

/// Revoked sessions, seen by every instance that shares the store.
#[async_trait]
pub trait RevocationStore: Send + Sync + Debug {
    /// Revokes `target`: for an owner or a role, every session issued strictly before
    /// `issued_before` (Unix seconds). The entry is kept until `keep_until`, after which every
    /// session it could apply to has expired anyway. A later cut-off never moves back.
    async fn revoke(
        &self,
        target: &RevocationTarget,
        issued_before: u64,
        keep_until: SystemTime,
    ) -> Result<(), StoreError>;

    /// Whether any revocation applies to the session.
    async fn is_revoked(&self, session: SessionFacts<'_>) -> Result<bool, StoreError>;
}

/// How long a person's preferences are kept after their last change.
pub const PREFERENCES_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// Per-person settings that follow the person across instances and browsers (favourites,
/// recently used roles, switch-role history, portal options): one JSON document per owner
/// key, kept for [`PREFERENCES_TTL`] after its last change. The last write wins.
#[async_trait]
pub trait PreferenceStore: Send + Sync + Debug {
    /// The document of `owner`, when there is one.
    async fn get(&self, owner: &str) -> Result<Option<serde_json::Value>, StoreError>;

    /// Replaces the document of `owner`.
    async fn put(&self, owner: &str, document: &serde_json::Value) -> Result<(), StoreError>;
}

/// Whether the backing store answers; for `/readyz`.
#[async_trait]
pub trait StoreHealth: Send + Sync + Debug {
    /// Succeeds when the store can serve requests.
    async fn ping(&self) -> Result<(), StoreError>;

    /// How many unexpired entries rolegate keeps in the store, of every kind.
    async fn entry_count(&self) -> Result<u64, StoreError>;
}

/// Every store the broker uses, on one backend.
#[derive(Clone, Debug)]
pub struct Stores {
    /// Browser sessions, for tower-sessions.
    pub browser_sessions: BrowserSessionStore,
    /// Issued role sessions.
    pub role_sessions: Arc<dyn RoleSessionStore>,
    /// One-time values.
    pub one_time: Arc<dyn OneTimeStore>,
    /// Revocations.
    pub revocations: Arc<dyn RevocationStore>,
    /// Per-person preferences.
    pub preferences: Arc<dyn PreferenceStore>,
    /// Backend health.
    pub health: Arc<dyn StoreHealth>,
}

impl Stores {
    /// Stores kept in this process's memory.
    pub fn memory(clock: Arc<dyn Clock>) -> Self {
        memory::stores(clock)
    }

    /// Stores on the Redis server at `url`; fails if it cannot be reached now.
    pub async fn redis(url: &str, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        redis::stores(url, clock).await
    }

    /// The stores `spec` describes.
    pub async fn open(spec: &StoreSpec, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        match spec {
            StoreSpec::Memory => Ok(Self::memory(clock)),
            StoreSpec::Redis(url) => Self::redis(url.expose(), clock).await,
        }
    }
}
