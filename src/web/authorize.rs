//! `POST /api/v1/authorize`: may this role session do this? For downstream services, which
//! pass the session token (or sign the request with the session's credentials, SigV4
//! service `rolegate`) and get IAM's decision over the role's policies ∩ the session
//! policies ∩ the boundary, with the session's global condition keys.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::post;
use serde::{Deserialize, Serialize};

use super::role_sessions::{
    authenticate, session_from_token, signed, stored_session, unauthenticated,
};
use super::{AppState, Error};
use crate::policy::RequestContext;
use crate::sts::{
    SessionClaims, SessionRequest, evaluate_session, is_signed, parse_session_policies,
    session_context,
};

/// The request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizeInput {
    /// The session token, unless the request is SigV4-signed.
    session_token: Option<String>,
    /// `service:Action`.
    action: String,
    /// The resource ARN, or `*`.
    resource: String,
    /// Request condition keys: a string, a list of strings, a boolean or a number each.
    #[serde(default)]
    context: BTreeMap<String, ContextValue>,
}

/// A condition key's value as JSON gives it: a string, a list of strings, a flag or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum ContextValue {
    One(String),
    Many(Vec<String>),
    Flag(bool),
    Number(serde_json::Number),
}

impl ContextValue {
    /// The value as the policy engine's strings.
    pub(super) fn into_values(self) -> Vec<String> {
        match self {
            ContextValue::One(value) => vec![value],
            ContextValue::Many(values) => values,
            ContextValue::Flag(flag) => vec![flag.to_string()],
            ContextValue::Number(number) => vec![number.to_string()],
        }
    }
}

/// The answer.
#[derive(Debug, Serialize)]
struct AuthorizeOutput {
    decision: &'static str,
    matched: Vec<Matched>,
    principal: PrincipalOut,
}

#[derive(Debug, Serialize)]
struct Matched {
    policy: String,
    sid: Option<String>,
    statement_index: usize,
}

#[derive(Debug, Serialize)]
struct PrincipalOut {
    arn: String,
    account: String,
    session_name: String,
    tags: BTreeMap<String, String>,
    source_identity: Option<String>,
}

/// The largest request accepted: a session token, an ARN and some condition keys.
const BODY_LIMIT: usize = 64 * 1024;

/// The authorize route.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/authorize", post(authorize))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// `POST /api/v1/authorize`.
async fn authorize(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<AuthorizeOutput>, Error> {
    let input: AuthorizeInput = serde_json::from_slice(&body).map_err(|e| Error::InvalidInput {
        message: "The request body is not the JSON this endpoint takes.",
        details: vec![e.to_string()],
    })?;
    let request = signed(&method, &uri, &headers, &body);
    let claims = if is_signed(&request.as_ref()) {
        authenticate(&state, request.as_ref(), "rolegate")
            .await
            .map(|(claims, _)| claims)
    } else {
        let token = input
            .session_token
            .as_deref()
            .ok_or_else(|| Error::NotAuthenticated("no session token and no signature".into()))?;
        session_from_token(&state, token).await
    }
    .map_err(unauthenticated)?;
    let stored = stored_session(&state, &claims)
        .await
        .map_err(unauthenticated)?;
    let mappings = state.mappings.current();
    let now = state.clock.now();
    let output = state
        .cpu
        .run(move || {
            decide(
                &mappings.directory,
                &claims,
                &stored.session_policies,
                input,
                now,
            )
        })
        .await?;
    Ok(axum::Json(output))
}

fn decide(
    directory: &crate::directory::Directory,
    claims: &SessionClaims,
    session_policy_texts: &[String],
    input: AuthorizeInput,
    now: std::time::SystemTime,
) -> AuthorizeOutput {
    let mut extra = RequestContext::default();
    for (key, value) in input.context {
        extra.insert(key, value.into_values());
    }
    let context = session_context(claims, now, extra);
    let session_policies = parse_session_policies(session_policy_texts);
    let evaluation = evaluate_session(
        directory,
        claims,
        &session_policies,
        SessionRequest {
            action: &input.action,
            resource: &input.resource,
            resource_account: None,
        },
        &context,
    );
    AuthorizeOutput {
        decision: evaluation.decision.as_aws_str(),
        matched: evaluation
            .matched
            .into_iter()
            .map(|s| Matched {
                policy: s.policy,
                sid: s.sid,
                statement_index: s.index,
            })
            .collect(),
        principal: PrincipalOut {
            arn: claims.sub.clone(),
            account: claims.acct.clone(),
            session_name: claims.name.clone(),
            tags: claims.tags.clone(),
            source_identity: claims.srcid.clone(),
        },
    }
}
