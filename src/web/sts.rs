//! `POST|GET /sts`, the AWS STS Query API, and `GET /.well-known/jwks.json`, the session
//! tokens' public keys. Every answer, errors included, is AWS's XML with a request id.

use axum::Router;
use axum::body::{Body, to_bytes};
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;

use super::AppState;
use super::role_sessions::{authenticate, record, signed, stored_session};
use super::trail::{Trail, audit_origin, session_identity};
use crate::audit::UserIdentity;
use crate::idp::{Identity, SignInError};
use crate::sts::api::{self, Action, Parameters};
use crate::sts::{
    AssumeRequest, Assumer, Caller, RoleSession, SessionClaims, StsError, StsErrorCode, assume,
    parse_session_policies, session_user_id,
};

/// The largest request body read: room for the largest tokens and policies, no more.
const BODY_LIMIT: usize = 256 * 1024;

/// The STS routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sts", get(query_api).post(query_api))
        .route("/.well-known/jwks.json", get(jwks))
}

async fn jwks(State(state): State<AppState>) -> Response {
    axum::Json(state.session_keys.jwks()).into_response()
}

/// One Query API request, answered in XML whatever happens, and audited.
async fn query_api(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Body,
) -> Response {
    let origin = audit_origin(&headers, peer);
    let request_id = origin.request_id.clone();
    let mut trail = Trail::named("UnknownOperation");
    let answer = answer(
        &state,
        &method,
        &uri,
        &headers,
        body,
        &request_id,
        &mut trail,
    )
    .await;
    let error = answer
        .as_ref()
        .err()
        .map(|e| (e.code.as_str(), e.message.as_str()));
    trail.record(&state, "sts.amazonaws.com", &origin, error);
    match answer {
        Ok(xml) => xml_response(StatusCode::OK, xml),
        Err(error) => {
            if error.code.status() >= 500 {
                tracing::error!(code = error.code.as_str(), detail = %error.detail, "sts request failed");
            } else {
                tracing::warn!(code = error.code.as_str(), detail = %error.detail, "sts request refused");
            }
            let status =
                StatusCode::from_u16(error.code.status()).unwrap_or(StatusCode::BAD_REQUEST);
            xml_response(status, api::error_xml(&error, &request_id))
        }
    }
}

fn xml_response(status: StatusCode, xml: String) -> Response {
    let mut response = (status, xml).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

async fn answer(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    request_id: &str,
    trail: &mut Trail,
) -> Result<String, StsError> {
    let body = to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        StsError::new(
            StsErrorCode::RequestEntityTooLarge,
            format!("The request body is larger than {BODY_LIMIT} bytes"),
        )
    })?;
    let parameters = if method == Method::POST {
        std::str::from_utf8(&body).map_err(|_| {
            StsError::new(
                StsErrorCode::ValidationError,
                "The request body is not UTF-8",
            )
        })?;
        Parameters::parse(&body)?
    } else {
        Parameters::parse(uri.query().unwrap_or_default().as_bytes())?
    };
    let action = Action::parse(&parameters)?;
    trail.name = action.name();
    match action {
        Action::AssumeRoleWithWebIdentity { token, request } => {
            trail.request = request_parameters(&request);
            web_identity(state, &token, &request, request_id, trail).await
        }
        Action::AssumeRoleWithSaml {
            assertion,
            principal_arn,
            request,
        } => {
            super::sts_saml::assume_role_with_saml(
                state,
                &assertion,
                &principal_arn,
                &request,
                request_id,
                trail,
            )
            .await
        }
        Action::AssumeRole { request } => {
            trail.request = request_parameters(&request);
            let (claims, region) =
                authenticate(state, signed(method, uri, headers, &body).as_ref(), "sts").await?;
            trail.identity = session_identity(&claims);
            trail.region = Some(region);
            chain(state, &claims, &request, request_id, trail).await
        }
        Action::GetCallerIdentity => {
            let (claims, region) =
                authenticate(state, signed(method, uri, headers, &body).as_ref(), "sts").await?;
            trail.identity = session_identity(&claims);
            trail.region = Some(region);
            Ok(api::get_caller_identity_xml(
                &claims.sub,
                &session_user_id(&claims),
                &claims.acct,
                request_id,
            ))
        }
    }
}

/// `AssumeRole` from a role session: the chain goes on with the same person behind it.
async fn chain(
    state: &AppState,
    claims: &SessionClaims,
    request: &AssumeRequest,
    request_id: &str,
    trail: &mut Trail,
) -> Result<String, StsError> {
    let stored = stored_session(state, claims).await?;
    let session_policies = parse_session_policies(&stored.session_policies);
    let caller = Caller::RoleSession {
        claims,
        session_policies: &session_policies,
        original: &stored.identity,
    };
    let session = issue(state, caller, request).await?;
    record(state, &session, &stored.identity).await?;
    trail.response = response_elements(&session);
    Ok(api::assume_role_xml(&session, request_id))
}

/// Runs the one assume path with the current directory and rules.
pub(super) async fn issue(
    state: &AppState,
    caller: Caller<'_>,
    request: &AssumeRequest,
) -> Result<RoleSession, StsError> {
    let mappings = state.mappings.current();
    let origin = state.public_url.origin();
    let assumer = Assumer {
        directory: &mappings.directory,
        rules: &mappings.rules,
        keys: &state.session_keys,
        issuer: &origin,
    };
    let session = assume(&assumer, caller, request, state.clock.now())?;
    tracing::info!(
        role = %session.claims.role,
        session = %session.claims.name,
        access_key_id = %session.credentials.access_key_id,
        trusted_by = %session.trusted_by,
        chained = session.claims.chain,
        "assumed role"
    );
    Ok(session)
}

/// `AssumeRoleWithWebIdentity`: the token is validated by the configured provider whose
/// issuer it names, then the one assume path decides.
async fn web_identity(
    state: &AppState,
    token: &str,
    request: &AssumeRequest,
    request_id: &str,
    trail: &mut Trail,
) -> Result<String, StsError> {
    let issuer = unverified_issuer(token).ok_or_else(|| {
        StsError::new(
            StsErrorCode::InvalidIdentityToken,
            "The web identity token is not a signed JWT",
        )
    })?;
    let provider = state
        .idps
        .oidc_providers()
        .find(|p| p.issuer() == issuer)
        .ok_or_else(|| {
            StsError::new(
                StsErrorCode::InvalidIdentityToken,
                format!("No OpenIDConnect provider found in your account for {issuer}"),
            )
        })?;
    trail.identity = UserIdentity {
        kind: "WebIdentityUser",
        identity_provider: Some(issuer.clone()),
        ..UserIdentity::default()
    };
    let audiences = extra_audiences(state, &request.role_arn, provider.name().as_str());
    let identity = provider
        .verify_web_identity(token, &audiences)
        .await
        .map_err(web_identity_error)?;
    trail.identity.user_name = Some(identity.subject.clone());
    trail.identity.principal_id = Some(format!("{issuer}:{}", identity.subject));
    let session = issue(state, Caller::Federated(&identity), request).await?;
    record(state, &session, &identity).await?;
    trail.response = response_elements(&session);
    Ok(api::assume_role_with_web_identity_xml(
        &session,
        &identity.subject,
        &token_audience(&identity, provider.client_id()),
        request_id,
    ))
}

/// The `Audience` STS answers: the token's `azp` when present (it is then an accepted
/// audience), else its single `aud` (a string or a list of one), else our client id.
fn token_audience(identity: &Identity, client_id: &str) -> String {
    let claims = &identity.claims;
    let single_aud = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => Some(aud.as_str()),
        Some(serde_json::Value::Array(list)) if list.len() == 1 => {
            list.first().and_then(serde_json::Value::as_str)
        }
        _ => None,
    };
    claims
        .get("azp")
        .and_then(serde_json::Value::as_str)
        .or(single_aud)
        .unwrap_or(client_id)
        .to_owned()
}

/// The audiences the target role's account accepts from `idp` besides its client id (its
/// `identity_providers` entry's `audiences`); none when the role or the link is unknown, and
/// the assume path then refuses anyway.
fn extra_audiences(state: &AppState, role_arn: &str, idp: &str) -> Vec<String> {
    let mappings = state.mappings.current();
    mappings
        .directory
        .role_by_arn(role_arn)
        .and_then(|(account, _)| account.identity_providers.get(idp))
        .map(|linked| linked.audiences.clone())
        .unwrap_or_default()
}

/// An assume call's parameters for the audit log: no token, and session policies only by
/// size (they may be long; the session's hash identifies them).
pub(super) fn request_parameters(request: &AssumeRequest) -> serde_json::Value {
    serde_json::json!({
        "roleArn": request.role_arn,
        "roleSessionName": request.role_session_name,
        "durationSeconds": request.duration_seconds,
        "policyArns": request.policy_arns,
        "policyLength": request.policy.as_ref().map(String::len),
        "tagKeys": request.tags.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        "transitiveTagKeys": request.transitive_tag_keys,
        "sourceIdentity": request.source_identity,
    })
}

/// An issued session for the audit log: the access key id and expiry, never the secret or
/// the token; the trust statement that allowed it.
pub(super) fn response_elements(session: &RoleSession) -> serde_json::Value {
    serde_json::json!({
        "assumedRoleUser": { "arn": session.claims.sub, "assumedRoleId": session.assumed_role_id },
        "credentials": {
            "accessKeyId": session.credentials.access_key_id.as_str(),
            "expiration": crate::policy::iso8601(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(session.credentials.expiration),
            ),
        },
        "packedPolicySize": session.packed_policy_size,
        "sourceIdentity": session.claims.srcid,
        "trustedBy": session.trusted_by,
    })
}

/// The `iss` of a JWT, read without verifying it: only to choose the provider that will.
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// AWS's codes for a web identity token the provider's keys and rules refuse.
fn web_identity_error(error: SignInError) -> StsError {
    let detail = error.to_string();
    match error {
        SignInError::Discovery(_) => StsError::with_detail(
            StsErrorCode::IdpCommunicationError,
            "Couldn't retrieve verification key from your identity provider, please reference \
             AssumeRoleWithWebIdentity documentation for requirements",
            detail,
        ),
        SignInError::ExpiredIdToken(_) => StsError::with_detail(
            StsErrorCode::ExpiredTokenException,
            "Token expired: the web identity token is past its expiration time",
            detail,
        ),
        SignInError::NotAllowed(_) => StsError::with_detail(
            StsErrorCode::IdpRejectedClaim,
            "The identity provider's token was rejected",
            detail,
        ),
        _ => StsError::with_detail(
            StsErrorCode::InvalidIdentityToken,
            "The web identity token could not be verified",
            detail,
        ),
    }
}
