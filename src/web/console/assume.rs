//! `POST /assume`: the portal's "Sign in" and "Access keys" buttons. The signed-in person
//! starts a role session through the one assume path (the role must be offered to them;
//! the trust policy and the deny rules decide), then lands on its console home or its access
//! keys. Audited as `Federate`, as IAM Identity Center names a portal sign-in to a role.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Redirect;
use serde::Deserialize;

use super::super::extract::Form;
use super::super::portal::offered_roles;
use super::super::preferences::Preferences;
use super::super::role_sessions::record;
use super::super::session::{SignedIn, verify_csrf};
use super::super::sts::issue;
use super::super::trail::{Trail, audit_origin, person_identity};
use super::super::{AppState, Error};
use super::open::{OpenSession, remember};
use crate::audit::Origin;
use crate::idp::Identity;
use crate::mapping::OfferedRole;
use crate::sts::{AssumeRequest, Caller, RoleSessionName, StsError, StsErrorCode};

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub(super) struct AssumeForm {
    #[serde(default)]
    csrf: String,
    role_arn: String,
    /// `credentials` to land on the access keys page instead of the console home.
    #[serde(default)]
    then: String,
}

/// The route, audited whether the sign-in to the role succeeds or not.
pub(super) async fn assume(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<AssumeForm>,
) -> Result<Redirect, Error> {
    verify_csrf(&signed_in.session, &form.csrf).await?;
    let origin = audit_origin(&headers, peer);
    let id = federate(&state, &signed_in, &form.role_arn, &origin).await?;
    Ok(Redirect::to(&if form.then == "credentials" {
        format!("/credentials/{id}")
    } else {
        format!("/console/{id}")
    }))
}

/// Starts a role session in `role_arn` for the signed-in person and opens it in this
/// browser, audited as `Federate` whether it succeeds or not; its access key id.
pub(super) async fn federate(
    state: &AppState,
    signed_in: &SignedIn,
    role_arn: &str,
    origin: &Origin,
) -> Result<String, Error> {
    let mut trail = Trail::named("Federate");
    trail.identity = person_identity(&signed_in.identity);
    trail.request = serde_json::json!({ "roleArn": role_arn });
    let result = sign_in_to_role(state, signed_in, role_arn, &mut trail).await;
    trail.record_result(state, "rolegate", origin, &result);
    result
}

/// Starts the role session and opens it in this browser; its access key id.
async fn sign_in_to_role(
    state: &AppState,
    signed_in: &SignedIn,
    role_arn: &str,
    trail: &mut Trail,
) -> Result<String, Error> {
    let identity = &signed_in.identity;
    let offered = offered_role(state, identity, role_arn).ok_or_else(|| Error::RoleRefused {
        details: vec![format!(
            "`{role_arn}` is not among the roles the mapping rules offer you"
        )],
    })?;
    // The session as the mapping rules shape it: its name, length, tags and source identity.
    let session_name =
        RoleSessionName::parse(&offered.session_name).unwrap_or_else(|_| session_name(identity));
    let request = AssumeRequest {
        role_arn: role_arn.to_owned(),
        role_session_name: session_name.as_str().to_owned(),
        duration_seconds: Some(offered.session_duration_seconds),
        tags: offered.session_tags.into_iter().collect(),
        transitive_tag_keys: offered.transitive_tag_keys,
        source_identity: offered.source_identity,
        ..AssumeRequest::default()
    };
    let session = issue(state, Caller::Federated(identity), &request)
        .await
        .map_err(refusal)?;
    record(state, &session, identity).await.map_err(refusal)?;
    trail.response = serde_json::json!({
        "assumedRoleUser": { "arn": session.claims.sub },
        "credentials": { "accessKeyId": session.credentials.access_key_id.as_str() },
        "trustedBy": session.trusted_by,
    });
    let owner = identity.owner_key();
    let mut preferences = Preferences::load(state, &owner).await?;
    preferences.used(role_arn);
    preferences.save(state, &owner).await?;
    let id = session.credentials.access_key_id.as_str().to_owned();
    let label = {
        let mappings = state.mappings.current();
        mappings.directory.role_by_arn(role_arn).map_or_else(
            || role_arn.to_owned(),
            |(account, role)| format!("{} @ {}", role.name, account.alias),
        )
    };
    remember(
        &signed_in.session,
        OpenSession {
            id: id.clone(),
            token: session.credentials.session_token,
            label,
            parent: None,
        },
    )
    .await?;
    Ok(id)
}

/// The role as the mapping rules offer it to `identity` now; `None` when they do not.
fn offered_role(state: &AppState, identity: &Identity, role_arn: &str) -> Option<OfferedRole> {
    offered_roles(state, identity)
        .into_iter()
        .find(|r| r.role_arn == role_arn)
}

/// When the rules give no valid session name: the person's verified email address when they
/// have one, else their subject.
fn session_name(identity: &Identity) -> RoleSessionName {
    let preferred = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)
        .unwrap_or(&identity.subject);
    RoleSessionName::for_person(preferred)
}

/// An assume refusal as the console shows it: the check that refused, for an administrator.
pub(super) fn refusal(error: StsError) -> Error {
    match error.code {
        StsErrorCode::ServiceUnavailable => {
            Error::Store(crate::store::StoreError::Backend(error.detail))
        }
        StsErrorCode::AccessDenied => Error::RoleRefused {
            details: error
                .detail
                .split("; ")
                .skip(1)
                .map(str::to_owned)
                .collect(),
        },
        _ => Error::RoleRefused {
            details: vec![error.message],
        },
    }
}
