//! Admin pages: `/admin/mappings` (rules, lint warnings, last reload) and the playground
//! `POST /admin/mappings/test` (claims pasted or taken from a recent sign-in).

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;

use super::extract::Form;
use super::session::{AdminUser, csrf_token, verify_csrf};
use super::{AppState, Error};
use crate::idp::{Identity, PastedAt, Protocol};
use crate::mapping::{KnownIdp, Lint, MappingInput, Offer, ReloadStatus, evaluate, lint};

/// The admin routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/mappings", get(mappings_page))
        // A form's address answers GET by going back to its page, so that a sign-in that
        // interrupted a form post (and returns to its address) lands somewhere useful.
        .route(
            "/admin/mappings/test",
            post(playground).get(|| async { Redirect::to("/admin/mappings") }),
        )
}

/// One rule, for display.
struct RuleRow {
    id: String,
    kind: &'static str,
    description: String,
    origin: String,
}

/// One recent sign-in, for the picker.
struct RecentRow {
    index: usize,
    label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_mappings.html")]
struct MappingsPage {
    csrf: String,
    rules: Vec<RuleRow>,
    lints: Vec<Lint>,
    generation: u64,
    loaded_at: String,
    last_error: Vec<String>,
    failed_at: String,
    recent: Vec<RecentRow>,
    claims: String,
    idp: String,
    result: Option<Offer>,
    problem: Option<String>,
}

fn iso(at: Option<std::time::SystemTime>) -> String {
    at.map(crate::policy::iso8601).unwrap_or_default()
}

/// The page, with the playground's input and result when there is one.
fn page(
    state: &AppState,
    csrf: String,
    claims: String,
    idp: String,
    result: Option<Offer>,
    problem: Option<String>,
) -> MappingsPage {
    let mappings = state.mappings.current();
    let known: Vec<KnownIdp> = state
        .idps
        .iter()
        .map(|p| KnownIdp {
            name: p.name().to_string(),
            saml: matches!(p, super::Provider::Saml(_)),
            honour_idp_roles: p.honours_idp_roles(),
        })
        .collect();
    let ReloadStatus {
        generation,
        loaded_at,
        last_error,
        failed_at,
    } = state.mappings.status();
    MappingsPage {
        csrf,
        rules: mappings
            .rules
            .rules()
            .iter()
            .map(|r| RuleRow {
                id: r.id.clone(),
                kind: if r.deny { "deny" } else { "grant" },
                description: r.description.clone(),
                origin: r.origin.to_string(),
            })
            .collect(),
        lints: lint(&mappings.rules, &mappings.directory, &known),
        generation,
        loaded_at: iso(loaded_at),
        last_error: last_error.unwrap_or_default(),
        failed_at: iso(failed_at),
        recent: state
            .recent
            .list()
            .iter()
            .enumerate()
            .map(|(index, i)| RecentRow {
                index,
                label: format!("{} via {} ({})", i.display_name(), i.idp, i.subject),
            })
            .collect(),
        claims,
        idp,
        result,
        problem,
    }
}

async fn mappings_page(
    State(state): State<AppState>,
    admin: AdminUser,
) -> Result<MappingsPage, Error> {
    let csrf = csrf_token(&admin.0.session).await?;
    let idp = state
        .idps
        .iter()
        .next()
        .map(|p| p.name().to_string())
        .unwrap_or_default();
    Ok(page(&state, csrf, String::new(), idp, None, None))
}

#[derive(Debug, Deserialize)]
struct PlaygroundForm {
    csrf: String,
    #[serde(default)]
    claims: String,
    #[serde(default)]
    idp: String,
    /// A recent sign-in's index, instead of pasted claims.
    #[serde(default)]
    recent: String,
}

/// Largest claims document the playground takes.
const MAX_CLAIMS: usize = 64 * 1024;

async fn playground(
    State(state): State<AppState>,
    admin: AdminUser,
    Form(form): Form<PlaygroundForm>,
) -> Result<MappingsPage, Error> {
    verify_csrf(&admin.0.session, &form.csrf).await?;
    let csrf = csrf_token(&admin.0.session).await?;
    let identity = match form
        .recent
        .parse::<usize>()
        .ok()
        .and_then(|i| state.recent.list().into_iter().nth(i))
    {
        Some(identity) => Ok(identity),
        None => identity_from_form(&state, &form),
    };
    let claims_text = match &identity {
        Ok(identity) => serde_json::to_string_pretty(&identity.claims).unwrap_or_default(),
        Err(_) => form.claims.clone(),
    };
    let (result, problem) = match identity {
        Ok(identity) => {
            let mappings = state.mappings.current();
            let input = MappingInput {
                identity: &identity,
                now: state.clock.now(),
                honour_idp_roles: state.idps.honours_idp_roles(identity.idp.as_str()),
                explain: true,
            };
            (
                Some(evaluate(&mappings.rules, &mappings.directory, &input)),
                None,
            )
        }
        Err(problem) => (None, Some(problem)),
    };
    Ok(page(&state, csrf, claims_text, form.idp, result, problem))
}

/// An identity from pasted claims, as the named IdP would have produced it.
fn identity_from_form(state: &AppState, form: &PlaygroundForm) -> Result<Identity, String> {
    if form.claims.len() > MAX_CLAIMS {
        return Err(format!("the claims are over {MAX_CLAIMS} bytes"));
    }
    let claims = match serde_json::from_str(&form.claims) {
        Ok(serde_json::Value::Object(claims)) => claims,
        Ok(_) => return Err("the claims must be a JSON object".into()),
        Err(e) => {
            return Err(format!(
                "the claims are not JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ));
        }
    };
    let provider = state
        .idps
        .get(&form.idp)
        .ok_or_else(|| format!("`{}` is not a configured identity provider", form.idp))?;
    let (at, protocol) = match provider {
        super::Provider::Oidc(oidc) => (
            PastedAt {
                groups_claim: oidc.groups_claim(),
                client_id: Some(oidc.client_id()),
                trust_email: oidc.trusts_email(),
            },
            Protocol::Oidc,
        ),
        super::Provider::Saml(saml) => (
            PastedAt {
                groups_claim: saml.groups_attribute(),
                client_id: None,
                trust_email: saml.trusts_email(),
            },
            Protocol::Saml,
        ),
    };
    Identity::from_pasted_claims(
        provider.name().clone(),
        protocol,
        claims,
        &at,
        state.clock.unix_seconds(),
    )
    .ok_or_else(|| "the claims need a string `sub`".to_owned())
}
