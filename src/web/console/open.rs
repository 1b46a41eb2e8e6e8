//! The role sessions open in one browser: kept in its browser session (server-side), each
//! as its session token, at most [`MAX_OPEN`], the newest first. The secret is never kept:
//! it is derived again from the token when the access keys page shows it.

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::super::role_sessions::refuse_revoked;
use super::super::{AppState, Error};
use crate::sts::{Credentials, SessionClaims, StsErrorCode, TokenRejection, credentials_of};

/// Browser-session key of the open role sessions.
const OPEN_SESSIONS: &str = "role_sessions";
/// Role sessions one browser keeps open; opening another forgets the oldest.
pub(super) const MAX_OPEN: usize = 10;

/// One open role session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct OpenSession {
    /// Its access key id, which addresses it in URLs (not a secret).
    pub(super) id: String,
    /// Its session token.
    pub(super) token: String,
    /// `role @ account-alias` or the name given at switch-role, for menus.
    pub(super) label: String,
    /// The session it was switched from, for "Back to …".
    #[serde(default)]
    pub(super) parent: Option<String>,
}

/// An open session that is still valid: unexpired, unrevoked.
pub(super) struct Live {
    pub(super) open: OpenSession,
    pub(super) claims: SessionClaims,
    pub(super) credentials: Credentials,
}

/// The open sessions, newest first.
pub(super) async fn all(session: &Session) -> Result<Vec<OpenSession>, Error> {
    Ok(session.get(OPEN_SESSIONS).await?.unwrap_or_default())
}

/// Opens `open`: first in the list, replacing an older one with the same id.
pub(super) async fn remember(session: &Session, open: OpenSession) -> Result<(), Error> {
    let mut list = all(session).await?;
    list.retain(|o| o.id != open.id);
    list.insert(0, open);
    list.truncate(MAX_OPEN);
    session.insert(OPEN_SESSIONS, &list).await?;
    Ok(())
}

/// Closes `id` in this browser.
pub(super) async fn forget(session: &Session, id: &str) -> Result<(), Error> {
    let mut list = all(session).await?;
    list.retain(|o| o.id != id);
    session.insert(OPEN_SESSIONS, &list).await?;
    Ok(())
}

/// The open session `id`, verified again (signature, expiry, revocation): a 404 when this
/// browser holds no such session, a 410 when it has ended.
pub(super) async fn live(state: &AppState, session: &Session, id: &str) -> Result<Live, Error> {
    let open = all(session)
        .await?
        .into_iter()
        .find(|o| o.id == id)
        .ok_or(Error::NoSuchRoleSession)?;
    // One verification serves both: the token's claims and the credentials derived from it.
    let issuer = state.public_url.origin();
    let (claims, credentials) = credentials_of(
        &state.session_keys,
        &open.token,
        &issuer,
        state.clock.unix_seconds(),
    )
    .map_err(|rejection| match rejection {
        TokenRejection::Expired => Error::RoleSessionEnded("expired"),
        TokenRejection::Invalid => Error::RoleSessionEnded("no longer valid"),
    })?;
    let claims = refuse_revoked(state, claims)
        .await
        .map_err(|e| match e.code {
            StsErrorCode::ServiceUnavailable => {
                Error::Store(crate::store::StoreError::Backend(e.detail))
            }
            _ => Error::RoleSessionEnded("revoked"),
        })?;
    Ok(Live {
        open,
        claims,
        credentials,
    })
}
