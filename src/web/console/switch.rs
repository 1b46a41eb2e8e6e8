//! Switch role (`GET|POST /switch-role`), as in the AWS console: from the current role
//! session, AssumeRole into a role named by account (id or alias) and role name, shown with
//! a display name and colour. The target's trust policy decides and the session is capped at
//! one hour, as role chaining is at AWS; the last switches are kept per person.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Redirect;
use serde::Deserialize;

use super::super::extract::{Form, Query};
use super::super::preferences::{COLOURS, Preferences, SwitchEntry};
use super::super::role_sessions::{record, stored_session};
use super::super::session::{SignedIn, csrf_token, verify_csrf};
use super::super::sts::issue;
use super::super::{AppState, Error};
use super::assume::refusal;
use super::open::{OpenSession, live, remember};
use crate::sts::{AssumeRequest, Caller, parse_session_policies};

/// The form's fields; prefilled from the query, posted back.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct SwitchForm {
    csrf: String,
    /// The console session to switch from.
    from: String,
    /// An account id or alias.
    account: String,
    role: String,
    display_name: String,
    colour: String,
}

/// A colour the form offers.
struct ColourChoice {
    name: &'static str,
    hex: &'static str,
    checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "switch_role.html")]
pub(super) struct SwitchPage {
    csrf: String,
    from: String,
    from_label: String,
    account: String,
    role: String,
    display_name: String,
    colours: Vec<ColourChoice>,
    history: Vec<SwitchEntry>,
}

/// `GET /switch-role?from=…`: the form, prefilled from the query (a history entry).
pub(super) async fn form(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(form): Query<SwitchForm>,
) -> Result<SwitchPage, Error> {
    let from = live(&state, &signed_in.session, &form.from).await?;
    let preferences = Preferences::load(&state, &signed_in.identity.owner_key()).await?;
    let colour = if form.colour.is_empty() {
        "blue"
    } else {
        form.colour.as_str()
    };
    Ok(SwitchPage {
        csrf: csrf_token(&signed_in.session).await?,
        from: from.open.id.clone(),
        from_label: from.open.label.clone(),
        colours: COLOURS
            .iter()
            .map(|(name, hex)| ColourChoice {
                name,
                hex,
                checked: *name == colour,
            })
            .collect(),
        account: form.account,
        role: form.role,
        display_name: form.display_name,
        history: preferences.switches,
    })
}

/// `POST /switch-role`: the chained session, opened in this browser.
pub(super) async fn switch(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<SwitchForm>,
) -> Result<Redirect, Error> {
    verify_csrf(&signed_in.session, &form.csrf).await?;
    let from = live(&state, &signed_in.session, &form.from).await?;
    let (role_arn, account_id, role_name, alias) = {
        let mappings = state.mappings.current();
        let directory = &mappings.directory;
        let wanted = form.account.trim();
        let account = directory
            .accounts()
            .iter()
            .find(|a| a.id.as_str() == wanted || a.alias == wanted)
            .ok_or_else(|| {
                bad_target(format!(
                    "there is no account `{wanted}` (give its 12-digit id or its alias)"
                ))
            })?;
        let role = account
            .roles
            .iter()
            .find(|r| r.name.as_str() == form.role.trim())
            .ok_or_else(|| {
                bad_target(format!(
                    "account `{}` has no role `{}`",
                    account.alias,
                    form.role.trim()
                ))
            })?;
        (
            role.arn.clone(),
            account.id.to_string(),
            role.name.to_string(),
            account.alias.clone(),
        )
    };
    let colour = COLOURS
        .iter()
        .find(|(name, _)| *name == form.colour)
        .map_or("blue", |(name, _)| name);
    let display_name = match form.display_name.trim() {
        "" => format!("{role_name} @ {alias}"),
        name => name.chars().take(64).collect(),
    };
    let stored = stored_session(&state, &from.claims)
        .await
        .map_err(refusal)?;
    let session_policies = parse_session_policies(&stored.session_policies);
    let caller = Caller::RoleSession {
        claims: &from.claims,
        session_policies: &session_policies,
        original: &stored.identity,
    };
    let request = AssumeRequest {
        role_arn,
        role_session_name: from.claims.name.clone(),
        ..AssumeRequest::default()
    };
    let session = issue(&state, caller, &request).await.map_err(refusal)?;
    record(&state, &session, &stored.identity)
        .await
        .map_err(refusal)?;
    let owner = signed_in.identity.owner_key();
    let mut preferences = Preferences::load(&state, &owner).await?;
    preferences.switched(SwitchEntry {
        account: account_id,
        role: role_name,
        display_name: display_name.clone(),
        colour: colour.to_owned(),
    });
    preferences.save(&state, &owner).await?;
    let id = session.credentials.access_key_id.as_str().to_owned();
    remember(
        &signed_in.session,
        OpenSession {
            id: id.clone(),
            token: session.credentials.session_token,
            label: display_name,
            parent: Some(from.open.id),
        },
    )
    .await?;
    Ok(Redirect::to(&format!("/console/{id}")))
}

fn bad_target(detail: String) -> Error {
    Error::InvalidInput {
        message: "Switch role needs an account and a role that exist; nothing was changed.",
        details: vec![detail],
    }
}
