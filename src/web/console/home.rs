//! The console home of one role session: who you are (`role @ account`, the session name,
//! the time left), the role's policies, a policy simulator over exactly the policies that
//! bind the session, and signing out of the role session (which revokes it).

use std::collections::BTreeMap;
use std::time::SystemTime;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::Redirect;
use serde::Deserialize;

use super::super::authorize::ContextValue;
use super::super::extract::Form;
use super::super::preferences::{Preferences, SwitchEntry};
use super::super::role_sessions::stored_session;
use super::super::session::{SignedIn, csrf_token, verify_csrf};
use super::super::{AppState, Error};
use super::open::{Live, all, forget, live};
use crate::policy::{Decision, RequestContext};
use crate::store::RevocationTarget;
use crate::sts::{
    AccessLevel, SessionRequest, evaluate_session, parse_session_policies, service_access,
    session_context,
};

/// One policy as the console shows it.
pub(super) struct PolicyView {
    name: String,
    part: &'static str,
    json: String,
}

/// A simulated request and its answer.
pub(super) struct Simulation {
    decision: &'static str,
    allowed: bool,
    statements: Vec<String>,
    missing_keys: Vec<String>,
}

/// One service's access, as the console shows it.
pub(super) struct ServiceRow {
    service: String,
    level: &'static str,
    full: bool,
    allowed: String,
    denied: String,
}

/// A past switch, as a link to the prefilled form.
pub(super) struct SwitchLink {
    href: String,
    label: String,
}

/// Another role session open in this browser, for the header's menu.
pub(super) struct OtherSession {
    id: String,
    label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console.html")]
pub(super) struct ConsolePage {
    csrf: String,
    id: String,
    role_name: String,
    role_arn: String,
    arn: String,
    account_id: String,
    account_alias: String,
    account_name: String,
    colour: String,
    session_name: String,
    source_identity: Option<String>,
    expires_at: String,
    expires_unix: u64,
    minutes_left: u64,
    policies: Vec<PolicyView>,
    /// "What can I do", by service.
    services: Vec<ServiceRow>,
    others: Vec<OtherSession>,
    /// The session this one was switched from, while it is open.
    parent: Option<OtherSession>,
    /// The person's last switches, as links to a prefilled switch-role form.
    switches: Vec<SwitchLink>,
    action: String,
    resource: String,
    context: String,
    simulation: Option<Simulation>,
    problem: Option<String>,
}

/// What the simulator form sends.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SimulateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    resource: String,
    /// Extra condition keys, a JSON object.
    #[serde(default)]
    context: String,
}

/// `GET /console`: the newest open role session, or the portal when none is open.
pub(super) async fn latest(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Redirect, Error> {
    for open in all(&signed_in.session).await? {
        if live(&state, &signed_in.session, &open.id).await.is_ok() {
            return Ok(Redirect::to(&format!("/console/{}", open.id)));
        }
    }
    Ok(Redirect::to("/"))
}

/// The console addresses that only take a form post answer GET by going home.
pub(super) async fn back_home(Path(id): Path<String>) -> Redirect {
    Redirect::to(&format!("/console/{}", urlencode(&id)))
}

fn urlencode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `GET /console/{id}`.
pub(super) async fn home(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<ConsolePage, Error> {
    let session = live(&state, &signed_in.session, &id).await?;
    page(&state, &signed_in, session, SimulateForm::default()).await
}

/// `POST /console/{id}/simulate`: the decision for one request, by the session's policies.
pub(super) async fn simulate(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<SimulateForm>,
) -> Result<ConsolePage, Error> {
    verify_csrf(&signed_in.session, &form.csrf).await?;
    let session = live(&state, &signed_in.session, &id).await?;
    page(&state, &signed_in, session, form).await
}

/// `POST /console/{id}/sign-out`: revokes the role session everywhere and closes it here.
pub(super) async fn sign_out(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<SimulateForm>,
) -> Result<Redirect, Error> {
    verify_csrf(&signed_in.session, &form.csrf).await?;
    let session = live(&state, &signed_in.session, &id).await;
    if let Ok(Live { claims, .. }) = &session {
        state
            .stores
            .revocations
            .revoke(
                &RevocationTarget::Session(claims.akid.clone()),
                u64::MAX,
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(claims.exp),
            )
            .await?;
        tracing::info!(access_key_id = %claims.akid, "signed out of role session");
    }
    match session {
        Ok(_) | Err(Error::RoleSessionEnded(_)) => {
            forget(&signed_in.session, &id).await?;
            Ok(Redirect::to("/"))
        }
        Err(other) => Err(other),
    }
}

async fn page(
    state: &AppState,
    signed_in: &SignedIn,
    session: Live,
    form: SimulateForm,
) -> Result<ConsolePage, Error> {
    let claims = &session.claims;
    let now = state.clock.now();
    let mappings = state.mappings.current();
    let directory = &mappings.directory;
    let (account, role) = directory
        .role_by_arn(&claims.role)
        .ok_or(Error::RoleSessionEnded(
            "its role is no longer in the directory",
        ))?;
    let stored = stored_session(state, claims)
        .await
        .map_err(|_| Error::RoleSessionEnded("no longer recorded"))?;
    let session_policies = parse_session_policies(&stored.session_policies);

    let mut policies: Vec<PolicyView> = Vec::new();
    for arn in &role.managed_policy_arns {
        if let Some(policy) = directory.policy(arn) {
            policies.push(view(arn.clone(), "managed policy", &policy.to_json()));
        }
    }
    for policy in &role.inline_policies {
        policies.push(view(
            policy.name.clone(),
            "inline policy",
            &policy.to_json(),
        ));
    }
    if let Some(policy) = role
        .permissions_boundary
        .as_deref()
        .and_then(|a| directory.policy(a))
    {
        policies.push(view(
            policy.name.clone(),
            "permissions boundary",
            &policy.to_json(),
        ));
    }
    for policy in &session_policies {
        policies.push(view(
            policy.name.clone(),
            "session policy",
            &policy.to_json(),
        ));
    }

    let services = service_access(
        directory,
        claims,
        &session_policies,
        &session_context(claims, now, RequestContext::default()),
    )
    .into_iter()
    .map(|access| ServiceRow {
        service: if access.service == "*" {
            "Every service".to_owned()
        } else {
            access.service
        },
        level: access.level.as_str(),
        full: access.level == AccessLevel::Full,
        allowed: access.allowed.join(", "),
        denied: access.denied.join(", "),
    })
    .collect();
    let (simulation, problem) = if form.action.trim().is_empty() {
        (None, None)
    } else {
        match simulation(directory, claims, &session_policies, &form, now) {
            Ok(simulation) => (Some(simulation), None),
            Err(problem) => (None, Some(problem)),
        }
    };
    let open = all(&signed_in.session).await?;
    let parent = session.open.parent.as_ref().and_then(|parent| {
        open.iter().find(|o| &o.id == parent).map(|o| OtherSession {
            id: o.id.clone(),
            label: o.label.clone(),
        })
    });
    let others = open
        .into_iter()
        .filter(|o| o.id != claims.akid)
        .map(|o| OtherSession {
            id: o.id,
            label: o.label,
        })
        .collect();
    let preferences = Preferences::load(state, &signed_in.identity.owner_key()).await?;
    let switches = preferences
        .switches
        .iter()
        .map(|entry| SwitchLink {
            href: switch_href(&claims.akid, entry),
            label: entry.display_name.clone(),
        })
        .collect();
    let now_unix = state.clock.unix_seconds();
    Ok(ConsolePage {
        csrf: csrf_token(&signed_in.session).await?,
        id: claims.akid.clone(),
        role_name: role.name.to_string(),
        role_arn: role.arn.clone(),
        arn: claims.sub.clone(),
        account_id: account.id.to_string(),
        account_alias: account.alias.clone(),
        account_name: account.display_name.clone(),
        colour: account.colour.clone(),
        session_name: claims.name.clone(),
        source_identity: claims.srcid.clone(),
        expires_at: crate::policy::iso8601(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(claims.exp),
        ),
        expires_unix: claims.exp,
        minutes_left: claims.exp.saturating_sub(now_unix).div_ceil(60),
        policies,
        services,
        others,
        parent,
        switches,
        action: form.action,
        resource: form.resource,
        context: form.context,
        simulation,
        problem,
    })
}

/// The switch-role form's address, prefilled with `entry`, switching from `from`.
fn switch_href(from: &str, entry: &SwitchEntry) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("from", from)
        .append_pair("account", &entry.account)
        .append_pair("role", &entry.role)
        .append_pair("display_name", &entry.display_name)
        .append_pair("colour", &entry.colour)
        .finish();
    format!("/switch-role?{query}")
}

fn view(name: String, part: &'static str, json: &serde_json::Value) -> PolicyView {
    PolicyView {
        name,
        part,
        json: serde_json::to_string_pretty(json).unwrap_or_default(),
    }
}

/// The largest context document the simulator takes.
const MAX_CONTEXT: usize = 16 * 1024;

fn simulation(
    directory: &crate::directory::Directory,
    claims: &crate::sts::SessionClaims,
    session_policies: &[crate::policy::Policy],
    form: &SimulateForm,
    now: SystemTime,
) -> Result<Simulation, String> {
    let action = form.action.trim();
    if !action.contains(':') || action.len() > 128 {
        return Err(format!("`{action}` is not an action such as s3:GetObject"));
    }
    let resource = match form.resource.trim() {
        "" => "*",
        resource => resource,
    };
    if form.context.len() > MAX_CONTEXT {
        return Err(format!("the context is over {MAX_CONTEXT} bytes"));
    }
    let mut extra = RequestContext::default();
    if !form.context.trim().is_empty() {
        let keys: BTreeMap<String, ContextValue> =
            serde_json::from_str(&form.context).map_err(|e| {
                format!(
                    "the context is not a JSON object of condition keys (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                )
            })?;
        for (key, value) in keys {
            extra.insert(key, value.into_values());
        }
    }
    let context = session_context(claims, now, extra);
    let evaluation = evaluate_session(
        directory,
        claims,
        session_policies,
        SessionRequest {
            action,
            resource,
            resource_account: None,
        },
        &context,
    );
    Ok(Simulation {
        decision: evaluation.decision.as_aws_str(),
        allowed: evaluation.decision == Decision::Allow,
        statements: evaluation.matched.iter().map(|s| s.name()).collect(),
        missing_keys: evaluation.missing_context_keys,
    })
}
