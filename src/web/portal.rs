//! The portal home page `/` for a signed-in person.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use super::session::{SignedIn, csrf_token};
use super::{AppState, Error};
use crate::idp::Identity;
use crate::mapping::{MappingInput, OfferedRole, evaluate};

/// The portal routes.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/", get(portal))
}

/// The roles offered in one account.
struct AccountRoles {
    name: String,
    alias: String,
    id: String,
    colour: String,
    roles: Vec<OfferedRole>,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal.html")]
struct PortalPage {
    identity: Identity,
    /// Minutes since the second factor, when known.
    mfa_minutes: Option<u64>,
    csrf: String,
    accounts: Vec<AccountRoles>,
}

async fn portal(State(state): State<AppState>, signed_in: SignedIn) -> Result<PortalPage, Error> {
    let csrf = csrf_token(&signed_in.session).await?;
    let input = MappingInput {
        identity: &signed_in.identity,
        now: state.clock.now(),
        honour_idp_roles: false,
        explain: false,
    };
    let mappings = state.mappings.current();
    let offer = evaluate(&mappings.rules, &mappings.directory, &input);
    let mut accounts: Vec<AccountRoles> = Vec::new();
    for role in offer.roles {
        match accounts.iter_mut().find(|a| a.id == role.account_id) {
            Some(account) => account.roles.push(role),
            None => {
                let colour = mappings
                    .directory
                    .account(&role.account_id)
                    .map_or_else(String::new, |a| a.colour.clone());
                accounts.push(AccountRoles {
                    name: role.account_name.clone(),
                    alias: role.account_alias.clone(),
                    id: role.account_id.clone(),
                    colour,
                    roles: vec![role],
                });
            }
        }
    }
    let mfa_minutes = signed_in
        .identity
        .mfa_age(state.clock.unix_seconds())
        .map(|seconds| seconds / 60);
    Ok(PortalPage {
        identity: signed_in.identity,
        mfa_minutes,
        csrf,
        accounts,
    })
}
