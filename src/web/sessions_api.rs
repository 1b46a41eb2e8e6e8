//! rolegate's own session API, SigV4-signed (service `rolegate`) by a role session and
//! authorized by its IAM policies, as AWS authorizes its own APIs:
//! `POST /api/v1/sessions/revoke` ends one session, a role's sessions issued before a time,
//! or every session of one person, on every instance that shares the store
//! (`rolegate:RevokeSessions` on the role ARN, `*` for a person);
//! `GET /api/v1/sessions?role_arn=&idp=&subject=` lists active sessions without secrets
//! (`rolegate:ListSessions` on the role ARN, `*` for a person).

use std::net::SocketAddr;
use std::time::SystemTime;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::extract::Query;
use super::revocation::{Revocation, RevokeInput, active_sessions, describe};
use super::role_sessions::{StoredSession, authenticate, signed, stored_session, unauthenticated};
use super::trail::{Trail, audit_origin, session_identity};
use super::{AppState, Error};
use crate::policy::{Decision, RequestContext};
use crate::sts::{
    SessionClaims, SessionRequest, evaluate_session, parse_session_policies, session_context,
};

/// The revocation route.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions/revoke", post(revoke))
        .route("/api/v1/sessions", get(list))
        .layer(DefaultBodyLimit::max(16 * 1024))
}

/// The route: the revocation, audited whether it succeeds or not.
async fn revoke(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, Error> {
    let origin = audit_origin(&headers, peer);
    let mut trail = Trail::named("RevokeSessions");
    let result = revoke_sessions(&state, (&method, &uri, &headers, &body), &mut trail).await;
    trail.record_result(&state, "rolegate", &origin, &result);
    result
}

async fn revoke_sessions(
    state: &AppState,
    (method, uri, headers, body): (&Method, &Uri, &HeaderMap, &Bytes),
    trail: &mut Trail,
) -> Result<axum::Json<serde_json::Value>, Error> {
    let input: RevokeInput = serde_json::from_slice(body).map_err(|_| Error::InvalidInput {
        message: "The request body is not the JSON this endpoint takes.",
        details: vec![
            "give {\"access_key_id\"}, {\"role_arn\", \"issued_before\"} or {\"idp\", \"subject\"}"
                .into(),
        ],
    })?;
    let request = signed(method, uri, headers, body);
    let (caller, region) = authenticate(state, request.as_ref(), "rolegate")
        .await
        .map_err(unauthenticated)?;
    trail.identity = session_identity(&caller);
    trail.region = Some(region);
    let now = state.clock.now();
    let revocation = Revocation::plan(state, &input, now).await?;
    trail.request = describe(&revocation.target);
    let stored = stored_session(state, &caller)
        .await
        .map_err(unauthenticated)?;
    permit(
        state,
        &caller,
        &stored,
        "rolegate:RevokeSessions",
        &revocation.resource,
        now,
    )?;
    Ok(axum::Json(revocation.apply(state, &caller.sub).await?))
}

/// Refuses unless the caller's policies allow `action` on `resource`.
fn permit(
    state: &AppState,
    caller: &SessionClaims,
    stored: &StoredSession,
    action: &'static str,
    resource: &str,
    now: SystemTime,
) -> Result<(), Error> {
    let mappings = state.mappings.current();
    let allowed = evaluate_session(
        &mappings.directory,
        caller,
        &parse_session_policies(&stored.session_policies),
        SessionRequest {
            action,
            resource,
            resource_account: Some(&caller.acct),
        },
        &session_context(caller, now, RequestContext::default()),
    );
    if allowed.decision == Decision::Allow {
        Ok(())
    } else {
        Err(Error::NotPermitted(action))
    }
}

/// `GET /api/v1/sessions`'s filters: a role, a person, or both.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    role_arn: Option<String>,
    idp: Option<String>,
    subject: Option<String>,
}

/// The active sessions of a role or a person, oldest first, without secrets.
async fn list(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<axum::Json<serde_json::Value>, Error> {
    let owner = match (&query.idp, &query.subject) {
        (Some(idp), Some(subject)) => Some(format!("{idp}/{subject}")),
        (None, None) => None,
        _ => return Err(Error::BadRequest("Give `idp` and `subject` together.")),
    };
    let request = signed(&method, &uri, &headers, &[]);
    let (caller, _) = authenticate(&state, request.as_ref(), "rolegate")
        .await
        .map_err(unauthenticated)?;
    let stored = stored_session(&state, &caller)
        .await
        .map_err(unauthenticated)?;
    let now = state.clock.now();
    let resource = query.role_arn.as_deref().unwrap_or("*");
    permit(
        &state,
        &caller,
        &stored,
        "rolegate:ListSessions",
        resource,
        now,
    )?;
    if query.role_arn.is_none() && owner.is_none() {
        return Err(Error::BadRequest(
            "Give `role_arn`, or `idp` and `subject`.",
        ));
    }
    let sessions = active_sessions(&state, query.role_arn.as_deref(), owner.as_deref()).await?;
    Ok(axum::Json(json!({ "sessions": sessions })))
}
