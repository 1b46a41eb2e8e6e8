//! The admin page for role sessions: `/admin/sessions` finds the active sessions of an
//! account, a role or a person, and `POST /admin/sessions/revoke` ends one of them, every session of the
//! role issued before now, or every session of the person, on every instance sharing the
//! store. Each revocation is audited as the sessions API's are, by the admin who made it.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::extract::{Form, Query};
use super::revocation::{ActiveSession, Revocation, RevokeInput, active_sessions, describe};
use super::session::{AdminUser, csrf_token, verify_csrf};
use super::trail::{Trail, audit_origin, person_identity};
use super::{AppState, Error};

/// The routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sessions", get(sessions_page))
        // As the mappings page: a sign-in that interrupted the post returns somewhere useful.
        .route(
            "/admin/sessions/revoke",
            post(revoke).get(|| async { Redirect::to("/admin/sessions") }),
        )
}

/// Whose sessions the page shows: a role (its ARN) or a person (IdP and subject).
#[derive(Debug, Default, Deserialize)]
struct Filter {
    /// An account id or alias: the sessions of every role in it.
    #[serde(default)]
    account: String,
    #[serde(default)]
    role_arn: String,
    #[serde(default)]
    idp: String,
    #[serde(default)]
    subject: String,
}

impl Filter {
    fn role(&self) -> Option<&str> {
        Some(self.role_arn.trim()).filter(|r| !r.is_empty())
    }

    /// The person's `idp/subject` key, when both are given.
    fn owner(&self) -> Option<String> {
        let (idp, subject) = (self.idp.trim(), self.subject.trim());
        (!idp.is_empty() && !subject.is_empty()).then(|| format!("{idp}/{subject}"))
    }
}

/// A role the picker offers.
struct RoleChoice {
    arn: String,
    label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_sessions.html")]
struct SessionsPage {
    csrf: String,
    roles: Vec<RoleChoice>,
    idps: Vec<String>,
    account: String,
    role_arn: String,
    idp: String,
    subject: String,
    /// Whether a role or a person was looked up.
    searched: bool,
    sessions: Vec<ActiveSession>,
    notice: Option<String>,
}

async fn page(
    state: &AppState,
    csrf: String,
    filter: Filter,
    notice: Option<String>,
) -> Result<SessionsPage, Error> {
    let (role, owner) = (filter.role(), filter.owner());
    let mappings = state.mappings.current();
    let account = Some(filter.account.trim())
        .filter(|a| !a.is_empty())
        .map(|a| {
            mappings.directory.account(a).ok_or(Error::BadRequest(
                "There is no such account (give its 12-digit id or its alias).",
            ))
        })
        .transpose()?;
    let sessions = match (account, role) {
        // A role within the account, or every role of it.
        (Some(account), None) => {
            let mut sessions = Vec::new();
            for arn in account.roles.iter().map(|r| r.arn.as_str()) {
                sessions.extend(active_sessions(state, Some(arn), owner.as_deref()).await?);
            }
            sessions
        }
        _ => active_sessions(state, role, owner.as_deref()).await?,
    };
    let roles = mappings
        .directory
        .accounts()
        .iter()
        .flat_map(|account| {
            account.roles.iter().map(|role| RoleChoice {
                arn: role.arn.clone(),
                label: format!("{} / {}", account.alias, role.name),
            })
        })
        .collect();
    Ok(SessionsPage {
        csrf,
        roles,
        idps: state.idps.iter().map(|p| p.name().to_string()).collect(),
        searched: role.is_some() || owner.is_some() || account.is_some(),
        account: filter.account,
        role_arn: filter.role_arn,
        idp: filter.idp,
        subject: filter.subject,
        sessions,
        notice,
    })
}

async fn sessions_page(
    State(state): State<AppState>,
    admin: AdminUser,
    Query(filter): Query<Filter>,
) -> Result<SessionsPage, Error> {
    let csrf = csrf_token(&admin.0.session).await?;
    page(&state, csrf, filter, None).await
}

/// The revoke form: what to revoke, and the filter to show again afterwards.
#[derive(Debug, Deserialize)]
struct RevokeForm {
    #[serde(default)]
    csrf: String,
    /// `session`, `role` or `person`.
    revoke: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(flatten)]
    filter: Filter,
}

/// The revocation, audited whether it succeeds or not.
async fn revoke(
    State(state): State<AppState>,
    admin: AdminUser,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<RevokeForm>,
) -> Result<SessionsPage, Error> {
    verify_csrf(&admin.0.session, &form.csrf).await?;
    let identity = &admin.0.identity;
    let origin = audit_origin(&headers, peer);
    let mut trail = Trail::named("RevokeSessions");
    trail.identity = person_identity(identity);
    let result = revoke_from_form(&state, &form, &identity.owner_key(), &mut trail).await;
    trail.record_result(&state, "rolegate", &origin, &result);
    let notice = result?;
    let csrf = csrf_token(&admin.0.session).await?;
    page(&state, csrf, form.filter, Some(notice)).await
}

async fn revoke_from_form(
    state: &AppState,
    form: &RevokeForm,
    by: &str,
    trail: &mut Trail,
) -> Result<String, Error> {
    let filter = &form.filter;
    let (input, notice) = match form.revoke.as_str() {
        "session" if !form.access_key_id.trim().is_empty() => {
            let id = form.access_key_id.trim().to_owned();
            let notice = format!("Session {id} is revoked.");
            (RevokeInput::Session { access_key_id: id }, notice)
        }
        "role" if filter.role().is_some() => {
            let role_arn = filter.role().unwrap_or_default().to_owned();
            let notice = format!("Every session of {role_arn} issued until now is revoked.");
            let input = RevokeInput::Role {
                role_arn,
                issued_before: None,
            };
            (input, notice)
        }
        "person" if filter.owner().is_some() => {
            let (idp, subject) = (filter.idp.trim(), filter.subject.trim());
            let notice = format!("Every session of {subject} via {idp} is revoked.");
            let input = RevokeInput::Person {
                idp: idp.to_owned(),
                subject: subject.to_owned(),
            };
            (input, notice)
        }
        _ => {
            return Err(Error::BadRequest(
                "Revoke a session by its access key id, a role by its ARN, or a person by \
                 identity provider and subject.",
            ));
        }
    };
    let revocation = Revocation::plan(state, &input, state.clock.now()).await?;
    trail.request = describe(&revocation.target);
    trail.response = revocation.apply(state, by).await?;
    Ok(notice)
}
