//! The HTTP edge: the axum router, handlers, pages, CSRF, and the one error boundary.
//!
//! Handlers are thin: parse, call the domain, render. Each area has its own `router()`;
//! [`app`] merges them and applies the layers once.

mod admin;
mod admin_sessions;
mod api;
mod assets;
mod auth;
mod authorize;
mod console;
mod cpu;
mod demo_idp;
mod demo_saml;
mod error;
mod extract;
mod health;
mod idps;
mod portal;
mod preferences;
mod recent;
mod redirect;
mod revocation;
mod role_sessions;
mod saml;
pub mod session;
mod sessions_api;
mod sts;
mod sts_saml;
mod trail;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::middleware;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub use cpu::CpuPool;
pub use error::{Error, ErrorReport};
pub use idps::{IdpRegistry, Provider};
pub use recent::RecentSignIns;
pub use redirect::safe_return_to;

use crate::audit::AuditSink;
use crate::clock::Clock;
use crate::config::{Admin, Limits, PublicUrl, SessionCookie};
use crate::idp::demo::{self, DemoProvider};
use crate::mapping::MappingsHandle;
use crate::store::Stores;
use crate::sts::SessionKeys;

/// The name of the browser-session cookie.
pub const SESSION_COOKIE: &str = "rolegate_session";

/// What every handler can reach; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Sessions, one-time values and revocations.
    pub stores: Stores,
    /// The identity providers people sign in with.
    pub idps: Arc<IdpRegistry>,
    /// The demo provider, in `rolegate demo` only.
    pub demo: Option<Arc<DemoProvider>>,
    /// The origin browsers use.
    pub public_url: PublicUrl,
    /// The directory and the mapping rules, reloadable.
    pub mappings: Arc<MappingsHandle>,
    /// Who may use the admin pages.
    pub admin: Arc<Admin>,
    /// The last sign-ins' claims, for the mapping playground.
    pub recent: Arc<RecentSignIns>,
    /// Where CPU-bound evaluations run.
    pub cpu: CpuPool,
    /// Timeouts and caps of the HTTP edge.
    pub limits: Limits,
    /// What the browser-session cookie is.
    pub session_cookie: SessionCookie,
    /// Whether the sign-in page sends people straight to the only provider.
    pub straight_to_single_idp: bool,
    /// The keys of role sessions.
    pub session_keys: Arc<SessionKeys>,
    /// Where audit events go.
    pub audit: Arc<dyn AuditSink>,
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let sessions = SessionManagerLayer::new(state.stores.browser_sessions.clone())
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.public_url.is_https())
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            i64::try_from(session::IDLE_TIMEOUT.as_secs()).unwrap_or(i64::MAX),
        )));
    let mut router = Router::new()
        .merge(admin::router())
        .merge(admin_sessions::router())
        .merge(console::router())
        .merge(api::router())
        .merge(authorize::router())
        .merge(sessions_api::router())
        .merge(auth::router())
        .merge(saml::router())
        .merge(portal::router())
        .merge(health::router())
        .merge(sts::router())
        .merge(assets::router());
    if state.demo.is_some() {
        router = router.nest(demo::MOUNT, demo_idp::router().merge(demo_saml::router()));
    }
    let request_id = HeaderName::from_static("x-request-id");
    // Layers run outside-in from the last one added: a request id is set first, so the
    // trace span, the error pages and the response all carry it; errors are rendered
    // outside the session layer so its failures are rendered too.
    let router = router.fallback(error::not_found).layer(sessions);
    let router = match state.session_cookie {
        SessionCookie::BrowserSession => {
            router.layer(middleware::map_response(session::browser_session_cookie))
        }
        SessionCookie::Persistent => router,
    };
    let router = if state.public_url.is_https() {
        // RFC 6797: browsers that reached us over TLS keep doing so.
        router.layer(default_header(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        router
    };
    router
        // A request that takes too long (a body trickled in, say) ends as a 408 page.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.limits.request_timeout,
        ))
        .layer(middleware::from_fn(error::render_errors))
        .layer(default_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(default_header(header::X_FRAME_OPTIONS, "DENY"))
        // No referrer: authorization codes and states must not leak to other sites.
        .layer(default_header(header::REFERRER_POLICY, "no-referrer"))
        .layer(default_header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ))
        .layer(default_header(header::CACHE_CONTROL, "no-store"))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
        }).on_response(DefaultOnResponse::new().level(tracing::Level::INFO)))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        // Outermost: an incoming request id is kept only when it is safe to log and echo.
        .layer(middleware::map_request(drop_unsafe_request_id))
        .with_state(state)
}

/// The longest incoming `x-request-id` that is kept.
const MAX_REQUEST_ID: usize = 64;

/// Removes an incoming `x-request-id` that is long or has characters outside
/// `[A-Za-z0-9._-]`, so that a fresh one is made; a client cannot write into logs or pages.
async fn drop_unsafe_request_id(
    mut request: Request<axum::body::Body>,
) -> Request<axum::body::Body> {
    let safe = request.headers().get("x-request-id").is_none_or(|id| {
        let id = id.as_bytes();
        !id.is_empty()
            && id.len() <= MAX_REQUEST_ID
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    if !safe {
        request.headers_mut().remove("x-request-id");
    }
    request
}

/// A response header set on every response whose handler did not set it.
fn default_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
