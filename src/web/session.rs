//! What the browser session holds, the `SignedIn` extractor, and CSRF tokens.

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::{AppState, Error};
use crate::idp::Identity;
use crate::idp::oidc::PendingSignIn;

/// Session key of the signed-in [`Identity`].
pub const IDENTITY: &str = "identity";
/// Session key of the sign-ins this browser started and has not finished.
pub const PENDING_SIGN_INS: &str = "pending_sign_ins";
/// Session key of the CSRF token.
const CSRF: &str = "csrf";

/// How long a started sign-in may take.
pub const PENDING_TTL: Duration = Duration::from_secs(600);
/// At most this many unfinished sign-ins are remembered per browser (several tabs).
pub const MAX_PENDING: usize = 5;
/// A sign-in is good for at most this long, however active the browser is.
pub const MAX_SIGN_IN_AGE: Duration = Duration::from_secs(12 * 3600);
/// Idle browser sessions end after this long.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);

/// A request from a signed-in person; others are redirected to `/login`.
#[derive(Debug)]
pub struct SignedIn {
    /// Who.
    pub identity: Identity,
    /// Their browser session.
    pub session: Session,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let identity: Option<Identity> = session
            .get(IDENTITY)
            .await
            .map_err(|e| Error::Session(e).into_response())?;
        let now = state.clock.unix_seconds();
        match identity {
            Some(identity)
                if now
                    < identity
                        .signed_in_at
                        .saturating_add(MAX_SIGN_IN_AGE.as_secs())
                    && identity.session_ends_at.is_none_or(|end| now < end) =>
            {
                Ok(Self { identity, session })
            }
            _ => Err(Redirect::to(&login_url(
                parts.uri.path_and_query().map_or("/", |p| p.as_str()),
            ))
            .into_response()),
        }
    }
}

/// A signed-in rolegate administrator (a member of a configured admin group, or a configured
/// admin subject, at the provider the entry names); others get a 403 page.
#[derive(Debug)]
pub struct AdminUser(pub SignedIn);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = Response;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let signed_in =
            <SignedIn as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        let identity = &signed_in.identity;
        if state
            .admin
            .admits(&identity.idp, &identity.subject, &identity.groups)
        {
            Ok(Self(signed_in))
        } else {
            Err(Error::NotAdmin.into_response())
        }
    }
}

/// `/login`, with `return_to` when it is not the portal itself.
fn login_url(return_to: &str) -> String {
    if return_to == "/" {
        return "/login".to_owned();
    }
    let encoded: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    format!("/login?return_to={encoded}")
}

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, Error> {
    if let Some(token) = session.get::<String>(CSRF).await? {
        return Ok(token);
    }
    let token = random_token();
    session.insert(CSRF, &token).await?;
    Ok(token)
}

/// 256 random bits, base64url: for CSRF tokens and one-time tickets.
pub fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Checks a submitted CSRF token against the session's, in constant time.
pub async fn verify_csrf(session: &Session, submitted: &str) -> Result<(), Error> {
    let expected: Option<String> = session.get(CSRF).await?;
    match expected {
        Some(expected) if bool::from(expected.as_bytes().ct_eq(submitted.as_bytes())) => Ok(()),
        _ => Err(Error::Csrf),
    }
}

/// Makes the session cookie a browser-session cookie: `Max-Age` and `Expires` are dropped
/// from a cookie that sets a session (not from one that deletes it), so the cookie ends with
/// the browser while the server still ends idle and old sessions.
pub async fn browser_session_cookie(mut response: Response) -> Response {
    let prefix = format!("{}=", super::SESSION_COOKIE);
    let headers = response.headers_mut();
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    if !cookies
        .iter()
        .any(|c| c.as_bytes().starts_with(prefix.as_bytes()))
    {
        return response;
    }
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let rewritten = cookie
            .to_str()
            .ok()
            .filter(|text| text.starts_with(&prefix) && !is_removal(text))
            .map(without_lifetime)
            .and_then(|text| HeaderValue::from_str(&text).ok());
        headers.append(header::SET_COOKIE, rewritten.unwrap_or(cookie));
    }
    response
}

/// Whether a `Set-Cookie` value deletes its cookie (`Max-Age=0`).
fn is_removal(cookie: &str) -> bool {
    cookie
        .split(';')
        .any(|attribute| attribute.trim().eq_ignore_ascii_case("max-age=0"))
}

/// The `Set-Cookie` value without its `Max-Age` and `Expires` attributes.
fn without_lifetime(cookie: &str) -> String {
    cookie
        .split(';')
        .filter(|attribute| {
            let name = attribute.trim().split('=').next().unwrap_or_default();
            !name.eq_ignore_ascii_case("max-age") && !name.eq_ignore_ascii_case("expires")
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// When a browser session that only holds unfinished sign-ins ends: with its last one.
pub fn pending_expiry(now: std::time::SystemTime) -> tower_sessions::Expiry {
    tower_sessions::Expiry::AtDateTime(time::OffsetDateTime::from(now + PENDING_TTL))
}

/// The unfinished sign-ins in this session that have not expired.
pub async fn pending_sign_ins(session: &Session, now: u64) -> Result<Vec<PendingSignIn>, Error> {
    let mut pending: Vec<PendingSignIn> = session.get(PENDING_SIGN_INS).await?.unwrap_or_default();
    pending.retain(|p| now < p.started_at.saturating_add(PENDING_TTL.as_secs()));
    Ok(pending)
}
