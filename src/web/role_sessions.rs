//! Role sessions as the web edge sees them: authenticating a request by its SigV4
//! signature or its session token (revocation included), and the record the store keeps
//! of each session.

use axum::http::{HeaderMap, Method, Uri};

use super::{AppState, Error};
use crate::idp::Identity;
use crate::store::{RoleSessionRecord, SessionFacts};
use crate::sts::{
    RoleSession, SessionClaims, SignedRequest, StsError, StsErrorCode, TokenRejection, verify,
    verify_signature,
};

/// A request's parts as SigV4 verification reads them.
pub(super) struct Signed<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: Vec<(String, String)>,
    body: &'a [u8],
}

/// The parts of a request to verify.
pub(super) fn signed<'a>(
    method: &'a Method,
    uri: &'a Uri,
    headers: &HeaderMap,
    body: &'a [u8],
) -> Signed<'a> {
    Signed {
        method,
        uri,
        headers: headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect(),
        body,
    }
}

impl Signed<'_> {
    pub(super) fn as_ref(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: self.method.as_str(),
            path: self.uri.path(),
            query: self.uri.query(),
            headers: &self.headers,
            body: self.body,
        }
    }
}

fn invalid_token(detail: &str) -> StsError {
    StsError::with_detail(
        StsErrorCode::InvalidClientTokenId,
        "The security token included in the request is invalid.",
        detail,
    )
}

/// The session whose credentials signed `request` for `service`, and the region it signed
/// for: SigV4 checked, then revocation.
pub(super) async fn authenticate(
    state: &AppState,
    request: SignedRequest<'_>,
    service: &str,
) -> Result<(SessionClaims, String), StsError> {
    let issuer = state.public_url.origin();
    let verified = verify_signature(
        &request,
        &state.session_keys,
        (&issuer, service),
        state.clock.now(),
    )?;
    Ok((
        refuse_revoked(state, verified.claims).await?,
        verified.region,
    ))
}

/// The session a bare session token stands for: signature, expiry, then revocation.
pub(super) async fn session_from_token(
    state: &AppState,
    token: &str,
) -> Result<SessionClaims, StsError> {
    let issuer = state.public_url.origin();
    match verify(
        &state.session_keys,
        token,
        &issuer,
        state.clock.unix_seconds(),
    ) {
        Ok((claims, _)) => refuse_revoked(state, claims).await,
        Err(TokenRejection::Expired) => Err(StsError::new(
            StsErrorCode::ExpiredToken,
            "The security token included in the request is expired",
        )),
        Err(TokenRejection::Invalid) => Err(invalid_token("the session token does not verify")),
    }
}

/// `claims` unless a revocation in the store applies to the session.
pub(super) async fn refuse_revoked(
    state: &AppState,
    claims: SessionClaims,
) -> Result<SessionClaims, StsError> {
    let revoked = state
        .stores
        .revocations
        .is_revoked(SessionFacts {
            id: &claims.akid,
            owner: &claims.orig.owner_key(),
            role_arn: &claims.role,
            issued_at: claims.iat,
        })
        .await?;
    if revoked {
        return Err(invalid_token("the session was revoked"));
    }
    Ok(claims)
}

/// What the store keeps of a session besides its token: its session policies, and the
/// person who began its chain.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct StoredSession {
    /// The assumed-role ARN.
    #[serde(default)]
    pub(super) arn: String,
    /// The RoleSessionName.
    #[serde(default)]
    pub(super) session_name: String,
    /// The source identity.
    #[serde(default)]
    pub(super) source_identity: Option<String>,
    pub(super) session_policies: Vec<String>,
    pub(super) identity: Identity,
}

/// The stored record of a verified session; a session with none is refused (fail closed).
pub(super) async fn stored_session(
    state: &AppState,
    claims: &SessionClaims,
) -> Result<StoredSession, StsError> {
    state
        .stores
        .role_sessions
        .get(&claims.akid)
        .await?
        .and_then(|record| serde_json::from_value(record.payload).ok())
        .ok_or_else(|| invalid_token("no stored record of the session"))
}

/// Keeps the session in the store: listing, revocation and the authorize API read it.
pub(super) async fn record(
    state: &AppState,
    session: &RoleSession,
    person: &Identity,
) -> Result<(), StsError> {
    let claims = &session.claims;
    state
        .stores
        .role_sessions
        .put(&RoleSessionRecord {
            id: claims.akid.clone(),
            owner: claims.orig.owner_key(),
            role_arn: claims.role.clone(),
            issued_at: claims.iat,
            expires_at: claims.exp,
            payload: serde_json::to_value(StoredSession {
                arn: claims.sub.clone(),
                session_name: claims.name.clone(),
                source_identity: claims.srcid.clone(),
                session_policies: session.session_policies.clone(),
                identity: person.clone(),
            })
            .map_err(|e| {
                StsError::with_detail(
                    StsErrorCode::InternalFailure,
                    "An internal error occurred.",
                    e.to_string(),
                )
            })?,
        })
        .await?;
    Ok(())
}

/// A session that does not authenticate is a 401 on rolegate's own API; a store outage
/// stays a 503.
pub(super) fn unauthenticated(error: StsError) -> Error {
    match error.code {
        StsErrorCode::ServiceUnavailable => {
            Error::Store(crate::store::StoreError::Backend(error.detail))
        }
        StsErrorCode::ExpiredToken => Error::SessionExpired,
        _ => Error::NotAuthenticated(format!("{}: {}", error.code.as_str(), error.detail)),
    }
}
