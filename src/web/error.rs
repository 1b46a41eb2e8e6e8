//! The one HTTP error boundary.
//!
//! Handlers return [`Error`]; its `IntoResponse` only chooses a status and a public message
//! and attaches them as an [`ErrorReport`]. The [`render_errors`] middleware then logs the
//! detail once, with the request id, and renders the page: HTML for browsers, JSON under
//! `/api`. Responses that carry an error status but no report (axum's own rejections, a
//! wrong method) get the same treatment, so no inner error text ever reaches a client.

use askama::Template;
use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::idp::SignInError;
use crate::idp::demo::DemoError;
use crate::store::StoreError;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No route matched.
    #[error("no route for this path")]
    NotFound,
    /// The request is malformed; the text is safe to show.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// An extractor rejected the request body or query.
    #[error("request rejected: {0}")]
    Rejected(String),
    /// The request is well-formed but its content is not valid; the details name each
    /// problem and where it is, and are shown to the client (they describe its own input).
    #[error("{message}: {}", details.join("; "))]
    InvalidInput {
        /// What was being checked.
        message: &'static str,
        /// `where: what` lines.
        details: Vec<String>,
    },
    /// The request body is larger than the endpoint accepts.
    #[error("request body too large")]
    PayloadTooLarge,
    /// A signed-in person who is not an administrator asked for an admin page.
    #[error("not an administrator")]
    NotAdmin,
    /// A state-changing form arrived without the session's CSRF token.
    #[error("missing or wrong CSRF token")]
    Csrf,
    /// Signing in failed.
    #[error(transparent)]
    SignIn(#[from] SignInError),
    /// The demo provider refused an authorization request.
    #[error("demo provider: {0}")]
    Demo(#[from] DemoError),
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request names no valid, unexpired, unrevoked role session (401).
    #[error("not authenticated: {0}")]
    NotAuthenticated(String),
    /// The role session may not call this action (403).
    #[error("not permitted: {0}")]
    NotPermitted(&'static str),
    /// The role session's token has expired (401).
    #[error("role session expired")]
    SessionExpired,
    /// The role's trust policy or a deny rule refused the signed-in person; the details say
    /// which, in words an administrator can act on.
    #[error("role refused: {}", details.join("; "))]
    RoleRefused {
        /// Which check refused.
        details: Vec<String>,
    },
    /// The console address names no role session open in this browser.
    #[error("no such role session in this browser")]
    NoSuchRoleSession,
    /// The browser's role session expired or was revoked.
    #[error("role session ended: {0}")]
    RoleSessionEnded(&'static str),
    /// Every CPU slot stayed taken for too long.
    #[error("no CPU slot freed up in time")]
    Busy,
    /// A job on the CPU pool panicked or was cancelled.
    #[error("CPU job failed: {0}")]
    Worker(String),
    /// The browser session could not be read or written.
    #[error("browser session: {0}")]
    Session(#[from] tower_sessions::session::Error),
    /// A page could not be rendered.
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

impl Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::BadRequest(_) | Error::Rejected(_) | Error::InvalidInput { .. } => {
                StatusCode::BAD_REQUEST
            }
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Csrf | Error::NotAdmin | Error::NotPermitted(_) | Error::RoleRefused { .. } => {
                StatusCode::FORBIDDEN
            }
            Error::NoSuchRoleSession => StatusCode::NOT_FOUND,
            Error::RoleSessionEnded(_) => StatusCode::GONE,
            Error::NotAuthenticated(_) | Error::SessionExpired => StatusCode::UNAUTHORIZED,
            Error::SignIn(SignInError::UnknownIdp(_)) => StatusCode::NOT_FOUND,
            Error::SignIn(SignInError::NotAllowed(_)) => StatusCode::FORBIDDEN,
            Error::SignIn(e) if e.is_upstream() => StatusCode::BAD_GATEWAY,
            Error::SignIn(_) => StatusCode::BAD_REQUEST,
            Error::Demo(DemoError::Store(_) | DemoError::Signing(_)) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Error::Demo(_) => StatusCode::BAD_REQUEST,
            Error::Store(_) | Error::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Error::Session(e) if is_store_outage(e) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Session(_) | Error::Template(_) | Error::Worker(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The AWS-style code an audit event records for this failure.
    pub(super) fn audit_code(&self) -> &'static str {
        match self {
            Error::NotPermitted(_) | Error::NotAdmin | Error::Csrf | Error::RoleRefused { .. } => {
                "AccessDenied"
            }
            Error::NotAuthenticated(_) => "InvalidClientTokenId",
            Error::SessionExpired => "ExpiredToken",
            Error::Store(_) | Error::Busy => "ServiceUnavailable",
            e if e.status().is_client_error() => "ValidationError",
            _ => "InternalFailure",
        }
    }

    pub(super) fn public_message(&self) -> &'static str {
        match self {
            Error::NotFound => "There is no page at this address.",
            Error::BadRequest(message) => message,
            Error::Rejected(_) => "The request was malformed.",
            Error::InvalidInput { message, .. } => message,
            Error::PayloadTooLarge => "The request is too large.",
            Error::NotAdmin => "This page is for rolegate administrators.",
            Error::NotAuthenticated(_) => {
                "The request is not authenticated by a valid, unrevoked role session."
            }
            Error::SessionExpired => "The role session has expired.",
            Error::NotPermitted(_) => "The role session's policies do not allow this action.",
            Error::Csrf => {
                "This form has expired or did not come from rolegate. Go back, reload and try again."
            }
            Error::RoleRefused { .. } => {
                "The role refused you: its trust policy allowed no statement for you, or a mapping \
                 deny rule applies. Show your administrator the reason below."
            }
            Error::NoSuchRoleSession => {
                "This role session is not open in this browser. Sign in to the role from the portal."
            }
            Error::RoleSessionEnded(_) => {
                "This role session has ended (it expired or was revoked). Sign in to the role \
                 again from the portal."
            }
            Error::SignIn(e) => e.public_message(),
            Error::Demo(_) => "The demo identity provider refused this request.",
            Error::Store(_) => STORE_OUTAGE,
            Error::Session(e) if is_store_outage(e) => STORE_OUTAGE,
            Error::Busy => "rolegate is busy right now. Try again shortly.",
            Error::Session(_) | Error::Template(_) | Error::Worker(_) => {
                "Something went wrong on our side."
            }
        }
    }
}

const STORE_OUTAGE: &str = "rolegate cannot reach its session store right now. Try again shortly.";

/// Whether a browser-session failure is the store being out of reach (a 503, not a bug).
fn is_store_outage(error: &tower_sessions::session::Error) -> bool {
    matches!(
        error,
        tower_sessions::session::Error::Store(tower_sessions::session_store::Error::Backend(_))
    )
}

/// Seconds a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: &str = "2";

/// The status, public message and private detail of a failed request, carried from the
/// handler to [`render_errors`] in the response's extensions.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    /// What the client may be told.
    pub public: &'static str,
    /// What only the log gets.
    pub detail: String,
    /// Problems with the client's own input, shown to it.
    pub input_problems: Vec<String>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let input_problems = match &self {
            Error::InvalidInput { details, .. } | Error::RoleRefused { details } => details.clone(),
            // Which SAML check failed helps the administrator and holds no secret.
            Error::SignIn(SignInError::Saml(reason)) => vec![reason.to_string()],
            _ => Vec::new(),
        };
        let report = ErrorReport {
            public: self.public_message(),
            detail: self.to_string(),
            input_problems,
        };
        let status = self.status();
        let mut response = status.into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("AWS4-HMAC-SHA256 realm=\"rolegate\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response.extensions_mut().insert(report);
        response
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
    problems: &'a [String],
    request_id: &'a str,
}

/// Renders every error response and logs its detail once, with the request id.
pub(super) async fn render_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let report = match response.extensions().get::<ErrorReport>() {
        Some(report) => report.clone(),
        // Responses that already carry a body of their own (OAuth JSON errors, STS XML
        // errors) stay as they are.
        None if has_own_body(&response) => return response,
        None => ErrorReport {
            public: generic_message(status),
            detail: format!("{status} without an error report"),
            input_problems: Vec::new(),
        },
    };
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), detail = %report.detail, "request failed");
    } else {
        tracing::warn!(status = status.as_u16(), detail = %report.detail, "request refused");
    }
    let mut rendered = if is_api {
        let mut error =
            json!({"status": status.as_u16(), "message": report.public, "request_id": request_id});
        if let Some(fields) = error.as_object_mut()
            && !report.input_problems.is_empty()
        {
            fields.insert("problems".to_owned(), json!(report.input_problems));
        }
        let body = json!({ "error": error });
        (status, Json(body)).into_response()
    } else {
        render_page(status, report.public, &report.input_problems, &request_id)
    };
    copy_header(&response, &mut rendered, header::WWW_AUTHENTICATE);
    copy_header(&response, &mut rendered, header::RETRY_AFTER);
    copy_header(&response, &mut rendered, header::ALLOW);
    rendered
}

fn has_own_body(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/xml"))
}

fn render_page(
    status: StatusCode,
    message: &str,
    problems: &[String],
    request_id: &str,
) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("Error"),
        message,
        problems,
        request_id,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            (
                status,
                format!("{} (request id {request_id})", status.as_u16()),
            )
                .into_response()
        }
    }
}

fn generic_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "There is no page at this address.",
        StatusCode::METHOD_NOT_ALLOWED => "This address does not accept that kind of request.",
        StatusCode::PAYLOAD_TOO_LARGE => "The request is too large.",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "The request body is not in a format this address accepts."
        }
        s if s.is_client_error() => "The request was malformed.",
        _ => "Something went wrong on our side.",
    }
}

fn copy_header(from: &Response, to: &mut Response, name: header::HeaderName) {
    if let Some(value) = from.headers().get(&name) {
        let value: HeaderValue = value.clone();
        to.headers_mut().insert(name, value);
    }
}

/// The fallback for unknown paths.
pub(super) async fn not_found() -> Error {
    Error::NotFound
}
