//! rolegate's own session API, SigV4-signed (service `rolegate`) by a role session and
//! authorized by its IAM policies, as AWS authorizes its own APIs:
//! `POST /api/v1/sessions/revoke` ends one session, a role's sessions issued before a time,
//! or every session of one person, on every instance that shares the store
//! (`rolegate:RevokeSessions` on the role ARN, `*` for a person);
//! `GET /api/v1/sessions?role_arn=&idp=&subject=` lists active sessions without secrets
//! (`rolegate:ListSessions` on the role ARN, `*` for a person).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::extract::Query;
use super::role_sessions::{StoredSession, authenticate, signed, stored_session, unauthenticated};
use super::trail::{Trail, audit_origin, session_identity};
use super::{AppState, Error};
use crate::clock::unix_seconds;
use crate::policy::{Decision, RequestContext};
use crate::store::RevocationTarget;
use crate::sts::{
    SessionClaims, SessionRequest, evaluate_session, parse_session_policies, session_context,
};

/// The longest a role session can live (AWS's 12 hours): a revocation is kept that long.
const LONGEST_SESSION: Duration = Duration::from_secs(12 * 3600);

/// The revocation route.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions/revoke", post(revoke))
        .route("/api/v1/sessions", get(list))
        .layer(DefaultBodyLimit::max(16 * 1024))
}

/// One of the three things that can be revoked.
#[derive(Debug, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum RevokeInput {
    /// One session.
    Session { access_key_id: String },
    /// A role's sessions issued before a time (RFC 3339; default now).
    Role {
        role_arn: String,
        issued_before: Option<String>,
    },
    /// Every session of one person.
    Person { idp: String, subject: String },
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
    let error = result
        .as_ref()
        .err()
        .map(|e| (e.audit_code(), e.public_message()));
    trail.record(&state, "rolegate", &origin, error);
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
    let (target, issued_before, resource, keep_until) = match &input {
        RevokeInput::Session { access_key_id } => {
            let record = state.stores.role_sessions.get(access_key_id).await?;
            let role = record
                .as_ref()
                .map_or("*".to_owned(), |r| r.role_arn.clone());
            let keep = record.map_or(now + LONGEST_SESSION, |r| {
                UNIX_EPOCH + Duration::from_secs(r.expires_at)
            });
            (
                RevocationTarget::Session(access_key_id.clone()),
                u64::MAX,
                role,
                keep,
            )
        }
        RevokeInput::Role {
            role_arn,
            issued_before,
        } => {
            let cutoff = match issued_before {
                // Sessions issued in the current second go too: issue times are whole seconds.
                None => unix_seconds(now) + 1,
                Some(text) => parse_rfc3339(text).ok_or(Error::BadRequest(
                    "`issued_before` must be an RFC 3339 time such as 2026-12-01T12:00:00Z.",
                ))?,
            };
            (
                RevocationTarget::Role(role_arn.clone()),
                cutoff,
                role_arn.clone(),
                now + LONGEST_SESSION,
            )
        }
        RevokeInput::Person { idp, subject } => (
            RevocationTarget::Owner(format!("{idp}/{subject}")),
            unix_seconds(now) + 1,
            "*".to_owned(),
            now + LONGEST_SESSION,
        ),
    };
    trail.request = describe(&target);
    let stored = stored_session(state, &caller)
        .await
        .map_err(unauthenticated)?;
    permit(
        state,
        &caller,
        &stored,
        "rolegate:RevokeSessions",
        &resource,
        now,
    )?;
    state
        .stores
        .revocations
        .revoke(&target, issued_before, keep_until)
        .await?;
    tracing::info!(target = ?target, by = %caller.sub, "revoked role sessions");
    Ok(axum::Json(
        json!({ "revoked": describe(&target), "issued_before": issued_before_text(issued_before) }),
    ))
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
    let records = match (&query.role_arn, &owner) {
        (Some(role), _) => state.stores.role_sessions.list_for_role(role).await?,
        (None, Some(owner)) => state.stores.role_sessions.list_for_owner(owner).await?,
        (None, None) => {
            return Err(Error::BadRequest(
                "Give `role_arn`, or `idp` and `subject`.",
            ));
        }
    };
    let sessions: Vec<serde_json::Value> = records
        .into_iter()
        .filter(|r| owner.as_ref().is_none_or(|o| &r.owner == o))
        .map(|r| {
            let stored: Option<StoredSession> = serde_json::from_value(r.payload).ok();
            json!({
                "access_key_id": r.id,
                "role_arn": r.role_arn,
                "arn": stored.as_ref().map(|s| s.arn.clone()),
                "session_name": stored.as_ref().map(|s| s.session_name.clone()),
                "source_identity": stored.and_then(|s| s.source_identity),
                "owner": r.owner,
                "issued_at": crate::policy::iso8601(UNIX_EPOCH + Duration::from_secs(r.issued_at)),
                "expires_at": crate::policy::iso8601(UNIX_EPOCH + Duration::from_secs(r.expires_at)),
            })
        })
        .collect();
    Ok(axum::Json(json!({ "sessions": sessions })))
}

fn describe(target: &RevocationTarget) -> serde_json::Value {
    match target {
        RevocationTarget::Session(id) => json!({ "access_key_id": id }),
        RevocationTarget::Role(arn) => json!({ "role_arn": arn }),
        RevocationTarget::Owner(owner) => json!({ "owner": owner }),
    }
}

fn issued_before_text(cutoff: u64) -> Option<String> {
    (cutoff != u64::MAX).then(|| crate::policy::iso8601(UNIX_EPOCH + Duration::from_secs(cutoff)))
}

fn parse_rfc3339(text: &str) -> Option<u64> {
    let at =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    Some(unix_seconds(SystemTime::from(at)))
}
