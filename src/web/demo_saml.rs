//! HTTP face of the demo identity provider's SAML side, under `/demo-idp/saml` in
//! `rolegate demo` only: metadata, the single sign-on service (the same people chooser as
//! the OpenID face), and the page that posts the signed response to the ACS.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde::Deserialize;

use super::extract::Form;
use super::{AppState, Error};
use crate::idp::demo::{DemoPerson, DemoProvider, PEOPLE, person};

/// The SAML routes, relative to the demo provider's mount point.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/saml/metadata", get(metadata))
        .route("/saml/sso", get(choose).post(answer))
}

fn provider(state: &AppState) -> Result<&DemoProvider, Error> {
    state.demo.as_deref().ok_or(Error::NotFound)
}

async fn metadata(State(state): State<AppState>) -> Result<Response, Error> {
    Ok((
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        provider(&state)?.saml.metadata_xml(),
    )
        .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "demo_saml_choose.html")]
struct ChoosePage {
    request_id: String,
    relay_state: String,
    people: &'static [DemoPerson],
}

/// The single sign-on service: checks the broker's signed request, then asks who you are.
async fn choose(State(state): State<AppState>, uri: Uri) -> Result<ChoosePage, Error> {
    let sp = state.idps.service_provider().ok_or(Error::NotFound)?;
    let url = url::Url::parse(&state.public_url.join(&uri.to_string()))
        .map_err(|_| Error::BadRequest("the request address is not a URL"))?;
    let accepted = provider(&state)?.saml.accept(&url, sp).map_err(|reason| {
        tracing::info!(%reason, "demo SAML provider refused a request");
        Error::BadRequest("The demo identity provider refused this SAML request.")
    })?;
    Ok(ChoosePage {
        request_id: accepted.id,
        relay_state: accepted.relay_state.unwrap_or_default(),
        people: &PEOPLE,
    })
}

#[derive(Debug, Deserialize)]
struct Choice {
    subject: String,
    request_id: String,
    #[serde(default)]
    relay_state: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "demo_saml_post.html")]
struct PostPage {
    acs_url: String,
    saml_response: String,
    relay_state: String,
}

/// Signs the chosen person in: a page that posts the signed response to the ACS (at once
/// with JavaScript, by its button without).
async fn answer(
    State(state): State<AppState>,
    Form(choice): Form<Choice>,
) -> Result<PostPage, Error> {
    let sp = state.idps.service_provider().ok_or(Error::NotFound)?;
    let person = person(&choice.subject).ok_or(Error::BadRequest("There is no such person."))?;
    let request = crate::idp::saml::issuer::AcceptedRequest {
        id: choice.request_id,
        relay_state: None,
    };
    let xml = provider(&state)?
        .saml
        .respond(person, &request, sp, state.clock.now())
        .map_err(|e| crate::idp::SignInError::Discovery(e.to_string()))?;
    Ok(PostPage {
        acs_url: sp.acs_url.clone(),
        saml_response: base64::engine::general_purpose::STANDARD.encode(xml),
        relay_state: choice.relay_state,
    })
}
