//! `GET|POST /select-role`, as on AWS's SAML sign-in page: when the identity provider
//! asserted several roles (AWS's SAML `Role` attribute, honoured by `honour_idp_roles`),
//! the person picks one, grouped by account, and may have the choice remembered.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::super::extract::Form;
use super::super::portal::offered_roles;
use super::super::preferences::Preferences;
use super::super::session::{SignedIn, csrf_token, verify_csrf};
use super::super::trail::audit_origin;
use super::super::{AppState, Error};
use super::assume::federate;
use crate::idp::Identity;
use crate::mapping::OfferedRole;

/// The rule id under which the mapping engine offers IdP-asserted roles.
const IDP_ASSERTED: &str = "idp-asserted-role";

/// One account's asserted roles.
struct AccountGroup {
    label: String,
    roles: Vec<Choice>,
}

/// One role to choose.
struct Choice {
    role_arn: String,
    role_name: String,
    checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "select_role.html")]
struct SelectRolePage {
    csrf: String,
    groups: Vec<AccountGroup>,
    /// The remembered choice, opened at once (by `portal.js`) unless `?stay=1`.
    remembered: Option<String>,
}

/// The roles the provider asserted that the trust policies and rules let through.
fn asserted_roles(state: &AppState, identity: &Identity) -> Vec<OfferedRole> {
    offered_roles(state, identity)
        .into_iter()
        .filter(|r| r.granted_by.iter().any(|g| g == IDP_ASSERTED))
        .collect()
}

/// `?stay=1` shows the choices even when one is remembered.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SelectQuery {
    #[serde(default)]
    stay: Option<String>,
}

pub(super) async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    super::super::extract::Query(query): super::super::extract::Query<SelectQuery>,
) -> Result<Response, Error> {
    let roles = asserted_roles(&state, &signed_in.identity);
    if roles.is_empty() {
        return Ok(Redirect::to("/").into_response());
    }
    let preferences = Preferences::load(&state, &signed_in.identity.owner_key()).await?;
    let remembered = preferences
        .saml_role_choice
        .filter(|arn| roles.iter().any(|r| &r.role_arn == arn));
    let mut groups: Vec<AccountGroup> = Vec::new();
    for role in &roles {
        let label = format!(
            "{} ({}) · {}",
            role.account_alias, role.account_name, role.account_id
        );
        let choice = Choice {
            role_arn: role.role_arn.clone(),
            role_name: role.role_name.clone(),
            checked: remembered.as_deref() == Some(role.role_arn.as_str()),
        };
        match groups.iter_mut().find(|g| g.label == label) {
            Some(group) => group.roles.push(choice),
            None => groups.push(AccountGroup {
                label,
                roles: vec![choice],
            }),
        }
    }
    if let Some(first) = groups
        .first_mut()
        .and_then(|g| g.roles.first_mut())
        .filter(|_| remembered.is_none())
    {
        first.checked = true;
    }
    Ok(SelectRolePage {
        csrf: csrf_token(&signed_in.session).await?,
        groups,
        remembered: remembered.filter(|_| query.stay.is_none()),
    }
    .into_response())
}

/// The choice.
#[derive(Debug, Deserialize)]
pub(super) struct SelectForm {
    #[serde(default)]
    csrf: String,
    role_arn: String,
    /// Present when "remember my choice" is ticked.
    #[serde(default)]
    remember: Option<String>,
}

pub(super) async fn select(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<SelectForm>,
) -> Result<Redirect, Error> {
    verify_csrf(&signed_in.session, &form.csrf).await?;
    let asserted = asserted_roles(&state, &signed_in.identity);
    if !asserted.iter().any(|r| r.role_arn == form.role_arn) {
        return Err(Error::RoleRefused {
            details: vec![format!(
                "`{}` is not among the roles your identity provider asserted",
                form.role_arn
            )],
        });
    }
    let owner = signed_in.identity.owner_key();
    let mut preferences = Preferences::load(&state, &owner).await?;
    preferences.saml_role_choice = form.remember.is_some().then(|| form.role_arn.clone());
    preferences.save(&state, &owner).await?;
    let origin = audit_origin(&headers, peer);
    let id = federate(&state, &signed_in, &form.role_arn, &origin).await?;
    Ok(Redirect::to(&format!("/console/{id}")))
}
