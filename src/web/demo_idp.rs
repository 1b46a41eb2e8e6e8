//! HTTP face of the demo OpenID Provider, mounted at `/demo-idp` in `rolegate demo` only.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::Deserialize;

use super::extract::{Form, Query};
use super::{AppState, Error};
use crate::idp::demo::{
    AuthorizeRequest, DemoError, DemoPerson, DemoProvider, PEOPLE, TokenRequest,
};

/// The demo provider's routes, relative to its mount point.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize_page).post(approve))
        .route("/token", post(token))
}

fn provider(state: &AppState) -> Result<&DemoProvider, Error> {
    state.demo.as_deref().ok_or(Error::NotFound)
}

async fn discovery(State(state): State<AppState>) -> Result<Response, Error> {
    Ok(Json(provider(&state)?.metadata()).into_response())
}

async fn jwks(State(state): State<AppState>) -> Result<Response, Error> {
    Ok(Json(provider(&state)?.jwks()).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "demo_authorize.html")]
struct AuthorizePage {
    request: AuthorizeRequest,
    people: &'static [DemoPerson],
}

async fn authorize_page(
    State(state): State<AppState>,
    Query(request): Query<AuthorizeRequest>,
) -> Result<AuthorizePage, Error> {
    provider(&state)?.check_authorize(&request)?;
    Ok(AuthorizePage {
        request,
        people: &PEOPLE,
    })
}

#[derive(Debug, Deserialize)]
struct Approval {
    subject: String,
    #[serde(flatten)]
    request: AuthorizeRequest,
}

async fn approve(
    State(state): State<AppState>,
    Form(approval): Form<Approval>,
) -> Result<Redirect, Error> {
    let location = provider(&state)?
        .approve(&approval.request, &approval.subject)
        .await?;
    Ok(Redirect::to(&location))
}

/// Every refusal, a malformed form included, is an OAuth JSON error (RFC 6749 section 5.2).
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<axum::Form<TokenRequest>, FormRejection>,
) -> Result<Response, Error> {
    let provider = provider(&state)?;
    let answer = match (form, basic_credentials(&headers)) {
        (Err(_), _) => Err(DemoError::InvalidRequest("the token request is malformed")),
        (_, Err(e)) => Err(e),
        (Ok(axum::Form(request)), Ok(basic)) => provider.token(request, basic).await,
    };
    Ok(match answer {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => oauth_error(&error),
    })
}

/// RFC 6749 section 5.2: a JSON error; `invalid_client` is a 401 with a challenge.
fn oauth_error(error: &DemoError) -> Response {
    tracing::warn!(error = %error, "demo token request refused");
    let status = match error {
        DemoError::InvalidClient => StatusCode::UNAUTHORIZED,
        DemoError::Store(_) | DemoError::Signing(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = Json(serde_json::json!({ "error": error.code() }));
    let mut response = (status, body).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"demo-idp\""),
        );
    }
    response
}

/// The client id and secret of an `Authorization: Basic` header (RFC 6749 section 2.3.1:
/// each form-urlencoded before base64).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, DemoError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let encoded = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or(DemoError::InvalidClient)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| DemoError::InvalidClient)?;
    let decoded = String::from_utf8(decoded).map_err(|_| DemoError::InvalidClient)?;
    let (id, secret) = decoded.split_once(':').ok_or(DemoError::InvalidClient)?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| DemoError::InvalidClient)
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}
