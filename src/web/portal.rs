//! The access portal `/` for a signed-in person: the accounts and roles the mapping rules
//! offer, filtered by `?q=` (account name, alias, id, role name; as-you-type with JS),
//! favourites first, the recently used roles (unless turned off), each role with "Sign in"
//! and "Access keys". `POST /favourites` stars or unstars an account or role and
//! `POST /preferences` turns recents on or off; both are kept per person in the store.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::Deserialize;

use super::extract::{Form, Query};
use super::preferences::Preferences;
use super::session::{SignedIn, csrf_token, verify_csrf};
use super::{AppState, Error};
use crate::idp::Identity;
use crate::mapping::{MappingInput, OfferedRole, evaluate};

/// The portal routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(portal))
        .route(
            "/favourites",
            post(toggle_favourite).get(|| async { Redirect::to("/") }),
        )
        .route(
            "/preferences",
            post(set_preferences).get(|| async { Redirect::to("/") }),
        )
}

/// One offered role, as the portal lists it.
struct RoleRow {
    role: OfferedRole,
    favourite: bool,
}

/// The roles offered in one account.
struct AccountRoles {
    name: String,
    alias: String,
    id: String,
    colour: String,
    favourite: bool,
    roles: Vec<RoleRow>,
    /// Shown as a link to its roles (the two-step view), not with them.
    collapsed: bool,
}

/// Past this many accounts the portal lists accounts first and each account's roles on
/// their own page (`?account=`), except for favourites, which stay open.
const TWO_STEP_ACCOUNTS: usize = 30;

#[derive(Template, WebTemplate)]
#[template(path = "portal.html")]
struct PortalPage {
    identity: Identity,
    /// Minutes since the second factor, when known.
    mfa_minutes: Option<u64>,
    csrf: String,
    query: String,
    /// How many roles are offered in all, before filtering.
    offered: usize,
    accounts: Vec<AccountRoles>,
    recents: Vec<OfferedRole>,
    recents_off: bool,
    /// Whether the only offered role opens at once (the person's choice).
    straight_to_single_role: bool,
    /// The only offered role, to open now (`portal.js` submits its form; without JS the
    /// person clicks).
    autostart: Option<OfferedRole>,
}

/// `?q=` filters; `?account=` opens one account (the two-step view's second step);
/// `?stay=1` stays on the portal even when the only role would open at once.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PortalQuery {
    q: String,
    account: String,
    stay: String,
}

/// The longest filter text looked at.
const MAX_QUERY: usize = 200;

async fn portal(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<PortalQuery>,
) -> Result<PortalPage, Error> {
    let csrf = csrf_token(&signed_in.session).await?;
    let preferences = Preferences::load(&state, &signed_in.identity.owner_key()).await?;
    let roles = offered_roles(&state, &signed_in.identity);
    let offered = roles.len();
    let recents = if preferences.recents_off {
        Vec::new()
    } else {
        preferences
            .recents
            .iter()
            .filter_map(|arn| roles.iter().find(|r| &r.role_arn == arn).cloned())
            .collect()
    };
    let autostart = match roles.as_slice() {
        [only] if preferences.straight_to_single_role && query.stay.is_empty() => {
            Some(only.clone())
        }
        _ => None,
    };
    let query_text: String = query.q.trim().chars().take(MAX_QUERY).collect();
    let mut accounts = group_by_account(&state, roles, &preferences, &query_text.to_lowercase());
    if !query.account.is_empty() {
        accounts.retain(|a| a.id == query.account);
    } else if accounts.len() > TWO_STEP_ACCOUNTS {
        for account in &mut accounts {
            account.collapsed = !(account.favourite || account.roles.iter().any(|r| r.favourite));
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
        query: query_text,
        offered,
        accounts,
        recents,
        recents_off: preferences.recents_off,
        straight_to_single_role: preferences.straight_to_single_role,
        autostart,
    })
}

/// The roles the mapping rules offer `identity` now (with the roles its provider asserts,
/// where they are honoured).
pub(super) fn offered_roles(state: &AppState, identity: &Identity) -> Vec<OfferedRole> {
    let input = MappingInput {
        identity,
        now: state.clock.now(),
        honour_idp_roles: state.idps.honours_idp_roles(identity.idp.as_str()),
        explain: false,
    };
    let mappings = state.mappings.current();
    evaluate(&mappings.rules, &mappings.directory, &input).roles
}

/// The offered roles by account, filtered by `needle` (lowercase; an account that matches
/// keeps all its roles), favourite accounts first, then in offer order.
fn group_by_account(
    state: &AppState,
    roles: Vec<OfferedRole>,
    preferences: &Preferences,
    needle: &str,
) -> Vec<AccountRoles> {
    let mappings = state.mappings.current();
    let mut accounts: Vec<AccountRoles> = Vec::new();
    let mut account_at: HashMap<String, usize> = HashMap::new();
    for role in roles {
        let position = match account_at.get(&role.account_id) {
            Some(&position) => position,
            None => {
                account_at.insert(role.account_id.clone(), accounts.len());
                let colour = mappings
                    .directory
                    .account(&role.account_id)
                    .map_or_else(String::new, |a| a.colour.clone());
                accounts.push(AccountRoles {
                    name: role.account_name.clone(),
                    alias: role.account_alias.clone(),
                    id: role.account_id.clone(),
                    colour,
                    favourite: preferences.is_favourite(&format!("account:{}", role.account_id)),
                    roles: Vec::new(),
                    collapsed: false,
                });
                accounts.len() - 1
            }
        };
        let favourite = preferences.is_favourite(&format!("role:{}", role.role_arn));
        if let Some(account) = accounts.get_mut(position) {
            account.roles.push(RoleRow { role, favourite });
        }
    }
    if !needle.is_empty() {
        for account in &mut accounts {
            let account_matches = [&account.name, &account.alias, &account.id]
                .iter()
                .any(|field| field.to_lowercase().contains(needle));
            if !account_matches {
                account
                    .roles
                    .retain(|row| row.role.role_name.to_lowercase().contains(needle));
            }
        }
        accounts.retain(|a| !a.roles.is_empty());
    }
    for account in &mut accounts {
        // Favourite roles first within their account; the sort is stable.
        account.roles.sort_by_key(|row| !row.favourite);
    }
    accounts.sort_by_key(|a| !(a.favourite || a.roles.iter().any(|r| r.favourite)));
    accounts
}

/// `POST /favourites`.
#[derive(Debug, Deserialize)]
struct FavouriteForm {
    #[serde(default)]
    csrf: String,
    /// `account:<id>` or `role:<arn>`.
    favourite: String,
    /// The filter to show again.
    #[serde(default)]
    q: String,
}

async fn toggle_favourite(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<FavouriteForm>,
) -> Result<Redirect, Error> {
    verify_csrf(&signed_in.session, &form.csrf).await?;
    let roles = offered_roles(&state, &signed_in.identity);
    let known = match form.favourite.split_once(':') {
        Some(("account", id)) => roles.iter().any(|r| r.account_id == id),
        Some(("role", arn)) => roles.iter().any(|r| r.role_arn == arn),
        _ => false,
    };
    if !known {
        return Err(Error::InvalidInput {
            message: "Only an account or role offered to you can be a favourite; nothing was changed.",
            details: vec![format!("`{}` is not one of them", form.favourite)],
        });
    }
    let owner = signed_in.identity.owner_key();
    let mut preferences = Preferences::load(&state, &owner).await?;
    preferences.toggle_favourite(&form.favourite);
    preferences.save(&state, &owner).await?;
    Ok(back_to_portal(&form.q))
}

/// `POST /preferences`: one setting at a time.
#[derive(Debug, Deserialize)]
struct PreferencesForm {
    #[serde(default)]
    csrf: String,
    /// Recently used roles: `on` or `off`.
    recents: Option<String>,
    /// Opening the only offered role at once: `on` or `off`.
    straight: Option<String>,
    #[serde(default)]
    q: String,
}

/// `on` or `off`.
fn switch(value: &str) -> Result<bool, Error> {
    match value {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(Error::BadRequest("A setting is `on` or `off`.")),
    }
}

async fn set_preferences(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<PreferencesForm>,
) -> Result<Redirect, Error> {
    verify_csrf(&signed_in.session, &form.csrf).await?;
    let owner = signed_in.identity.owner_key();
    let mut preferences = Preferences::load(&state, &owner).await?;
    match (&form.recents, &form.straight) {
        (Some(recents), None) => {
            preferences.recents_off = !switch(recents)?;
            if preferences.recents_off {
                preferences.recents.clear();
            }
        }
        (None, Some(straight)) => preferences.straight_to_single_role = switch(straight)?,
        _ => return Err(Error::BadRequest("Change one setting at a time.")),
    }
    preferences.save(&state, &owner).await?;
    // Turning straight-through on stays here: the next visit opens the role.
    let query = if form.straight.is_some() {
        ""
    } else {
        form.q.as_str()
    };
    Ok(if form.straight.is_some() {
        Redirect::to("/?stay=1")
    } else {
        back_to_portal(query)
    })
}

fn back_to_portal(query: &str) -> Redirect {
    if query.is_empty() {
        return Redirect::to("/");
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", query)
        .finish();
    Redirect::to(&format!("/?{query}"))
}
