//! The portal home page `/` for a signed-in person.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::routing::get;

use super::session::{SignedIn, csrf_token};
use super::{AppState, Error};
use crate::idp::Identity;

/// The portal routes.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/", get(portal))
}

#[derive(Template, WebTemplate)]
#[template(path = "portal.html")]
struct PortalPage {
    identity: Identity,
    csrf: String,
}

async fn portal(signed_in: SignedIn) -> Result<PortalPage, Error> {
    let csrf = csrf_token(&signed_in.session).await?;
    Ok(PortalPage {
        identity: signed_in.identity,
        csrf,
    })
}
