//! The console: role sign-in from the portal (`POST /assume`), the console home of a role
//! session (`/console`, `/console/{id}`) with its simulator and sign-out, and the session's
//! access keys (`/credentials/{id}`), switching role from it (`/switch-role`), and choosing among the roles a SAML provider
//! asserted (`/select-role`). A browser may hold several role sessions at once, each
//! addressed by its access key id; an address finds only this browser's own sessions.

mod assume;
mod credentials;
mod home;
mod open;
mod select_role;
mod switch;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use super::AppState;

/// The console routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        // A form's address answers GET by going back to the portal, so that a sign-in that
        // interrupted a form post lands somewhere useful.
        .route(
            "/assume",
            post(assume::assume).get(|| async { Redirect::to("/") }),
        )
        .route("/console", get(home::latest))
        .route("/console/{id}", get(home::home))
        .route(
            "/console/{id}/simulate",
            post(home::simulate).get(home::back_home),
        )
        .route(
            "/console/{id}/sign-out",
            post(home::sign_out).get(home::back_home),
        )
        .route("/credentials/{id}", get(credentials::page))
        .route("/switch-role", get(switch::form).post(switch::switch))
        .route(
            "/select-role",
            get(select_role::page).post(select_role::select),
        )
}
