//! Signing in and out: `/login`, `/login/{idp}`, `/auth/oidc/{idp}/callback`, `/logout`.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use super::extract::{Form, Query};
use super::redirect::safe_return_to;
use super::session::{self, MAX_PENDING, PENDING_TTL, pending_sign_ins};
use super::trail::{Trail, audit_origin};
use super::{AppState, Error, Provider};
use crate::config::IdpName;
use crate::idp::oidc::{Callback, SignInOptions};
use crate::idp::{Identity, SignInError};
use crate::store::OneTimePurpose;

/// The sign-in routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page))
        .route("/login/{idp}", get(start_sign_in))
        .route("/login/{idp}/logo", get(logo))
        .route("/auth/oidc/{idp}/callback", get(oidc_callback))
        .route("/logout", post(logout))
}

#[derive(Debug, Default, Deserialize)]
struct ReturnTo {
    return_to: Option<String>,
}

impl ReturnTo {
    fn safe(&self) -> &str {
        self.return_to
            .as_deref()
            .and_then(safe_return_to)
            .unwrap_or("/")
    }
}

/// One provider on the sign-in page.
struct IdpChoice {
    href: String,
    display_name: String,
    /// Where its logo is served, if it has one.
    logo: Option<String>,
    /// `OpenID Connect` or `SAML 2.0`.
    protocol: &'static str,
    /// Whether this browser signed in through it last time.
    last_used: bool,
}

/// The cookie that remembers which provider this browser chose last: a provider's name, not
/// an identity, read only by the sign-in page.
const LAST_IDP_COOKIE: &str = "rolegate_last_idp";

/// The cookie that marks a browser that just signed out, so that the sign-in page does not
/// send it straight back to the only provider (which would sign it in again).
const SIGNED_OUT_COOKIE: &str = "rolegate_signed_out";

/// The value of cookie `name` in `headers`.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` value for a cookie the sign-in pages read.
fn login_cookie(state: &AppState, name: &str, value: &str, max_age: u32) -> String {
    let secure = if state.public_url.is_https() {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/login; Max-Age={max_age}; SameSite=Lax; HttpOnly{secure}")
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    idps: Vec<IdpChoice>,
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ReturnTo>,
) -> Response {
    let last = cookie(&headers, LAST_IDP_COOKIE);
    let return_to = query.safe();
    let suffix = if return_to == "/" {
        String::new()
    } else {
        let encoded: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
        format!("?return_to={encoded}")
    };
    let mut idps: Vec<IdpChoice> = state
        .idps
        .iter()
        .map(|idp| IdpChoice {
            href: format!("/login/{}{suffix}", idp.name()),
            display_name: idp.display_name().to_owned(),
            logo: idp.logo().map(|_| format!("/login/{}/logo", idp.name())),
            protocol: idp.protocol_label(),
            last_used: last.as_deref() == Some(idp.name().as_str()),
        })
        .collect();
    // The last choice first; the rest keep the configured order.
    idps.sort_by_key(|idp| !idp.last_used);
    let just_signed_out = cookie(&headers, SIGNED_OUT_COOKIE).is_some();
    match idps.as_slice() {
        [only] if state.straight_to_single_idp && !just_signed_out => {
            Redirect::to(&only.href).into_response()
        }
        _ => LoginPage { idps }.into_response(),
    }
}

/// A provider's logo, from its `logo_file`.
async fn logo(
    State(state): State<AppState>,
    Path(idp): Path<String>,
) -> Result<impl IntoResponse, Error> {
    let logo = state
        .idps
        .get(&idp)
        .and_then(|provider| provider.logo())
        .ok_or(Error::NotFound)?;
    Ok((
        [(header::CONTENT_TYPE, logo.content_type)],
        Bytes::from_owner(logo.bytes.clone()),
    ))
}

/// `/login/{idp}`'s query: where to go afterwards, and what to ask of the provider.
#[derive(Debug, Default, Deserialize)]
struct StartQuery {
    #[serde(flatten)]
    return_to: ReturnTo,
    prompt: Option<String>,
    max_age: Option<String>,
}

async fn start_sign_in(
    State(state): State<AppState>,
    Path(idp): Path<String>,
    Query(query): Query<StartQuery>,
    session: Session,
) -> Result<Response, Error> {
    let provider = state.idps.get(&idp).ok_or(SignInError::UnknownIdp(idp))?;
    let return_to = query.return_to.safe().to_owned();
    let provider = match provider {
        Provider::Saml(saml) => return super::saml::start(&state, saml, return_to, &session).await,
        Provider::Oidc(oidc) => oidc,
    };
    let options = SignInOptions::parse(query.prompt.as_deref(), query.max_age.as_deref())?;
    let (url, pending) = provider.begin(return_to, &options).await?;
    state
        .stores
        .one_time
        .insert_once(
            OneTimePurpose::OidcState,
            &pending.state,
            provider.name().as_str(),
            PENDING_TTL,
        )
        .await?;
    let mut pending_list = pending_sign_ins(&session, state.clock.unix_seconds()).await?;
    pending_list.push(pending);
    let excess = pending_list.len().saturating_sub(MAX_PENDING);
    for forgotten in pending_list.drain(..excess) {
        state
            .stores
            .one_time
            .take(OneTimePurpose::OidcState, &forgotten.state)
            .await?;
    }
    session
        .insert(session::PENDING_SIGN_INS, &pending_list)
        .await?;
    sign_in_started(&state, &session, provider.name(), &url).await
}

/// Sends the browser to a provider at `url`: a browser that is not signed in is kept only
/// as long as its sign-in may take, and the provider is remembered for the sign-in page.
pub(super) async fn sign_in_started(
    state: &AppState,
    session: &Session,
    idp: &IdpName,
    url: &str,
) -> Result<Response, Error> {
    // Unauthenticated starts cannot fill the store for the idle timeout.
    if session.get::<Identity>(session::IDENTITY).await?.is_none() {
        session.set_expiry(Some(session::pending_expiry(state.clock.now())));
    }
    let remember = login_cookie(state, LAST_IDP_COOKIE, idp.as_str(), 31_536_000);
    // Signing in again ends the signed-out mark.
    let forget_sign_out = login_cookie(state, SIGNED_OUT_COOKIE, "", 0);
    Ok((
        AppendHeaders([
            (header::SET_COOKIE, remember),
            (header::SET_COOKIE, forget_sign_out),
        ]),
        Redirect::to(url),
    )
        .into_response())
}

/// The callback, audited whether the sign-in succeeds or not.
async fn oidc_callback(
    State(state): State<AppState>,
    Path(idp): Path<String>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Query(callback): Query<Callback>,
    session: Session,
) -> Result<Redirect, Error> {
    let origin = audit_origin(&headers, peer);
    let mut trail = Trail::named("SignIn");
    trail.identity.kind = "FederatedUser";
    trail.identity.identity_provider = Some(idp.clone());
    let result = finish_sign_in(&state, idp, callback, session, &mut trail).await;
    trail.record_result(&state, "signin.rolegate", &origin, &result);
    result
}

async fn finish_sign_in(
    state: &AppState,
    idp: String,
    callback: Callback,
    session: Session,
    trail: &mut Trail,
) -> Result<Redirect, Error> {
    let Some(Provider::Oidc(provider)) = state.idps.get(&idp) else {
        return Err(SignInError::UnknownIdp(idp).into());
    };
    let returned_state = callback
        .state
        .clone()
        .ok_or(SignInError::MissingParameter("state"))?;
    let mut pending_list = pending_sign_ins(&session, state.clock.unix_seconds()).await?;
    let index = pending_list
        .iter()
        .position(|p| &p.idp == provider.name() && p.has_state(&returned_state))
        .ok_or(SignInError::NoPendingSignIn)?;
    // Forget the sign-in before redeeming it: a state works once, whatever happens next.
    let pending = pending_list.swap_remove(index);
    session
        .insert(session::PENDING_SIGN_INS, &pending_list)
        .await?;
    let unused = state
        .stores
        .one_time
        .take(OneTimePurpose::OidcState, &returned_state)
        .await?;
    if unused.is_none() {
        return Err(SignInError::NoPendingSignIn.into());
    }
    let return_to = pending.return_to.clone();
    let identity = provider.finish(pending, callback).await?;
    establish_sign_in(state, &session, identity, trail).await?;
    Ok(Redirect::to(safe_return_to(&return_to).unwrap_or("/")))
}

/// Signs `identity` in to this browser session, whatever the protocol, and fills in the
/// sign-in's audit event.
pub(super) async fn establish_sign_in(
    state: &AppState,
    session: &Session,
    identity: Identity,
    trail: &mut Trail,
) -> Result<(), Error> {
    // OWASP session management: a new session id at every privilege change.
    session.cycle_id().await?;
    session.set_expiry(
        identity
            .session_ends_at
            .map(super::saml::provider_session_expiry),
    );
    session.insert(session::IDENTITY, &identity).await?;
    state.recent.record(&identity);
    tracing::info!(idp = %identity.idp, subject = %identity.subject, mfa = identity.mfa, "signed in");
    trail.identity.identity_provider = Some(identity.idp.to_string());
    trail.identity.principal_id = Some(identity.owner_key());
    trail.identity.user_name = Some(identity.subject.clone());
    trail.response = mapping_decision(state, &identity);
    Ok(())
}

/// Offered roles one sign-in event lists (with the total), so that an event stays far below
/// CloudTrail's 256 KB even for a person offered thousands of roles.
const MAX_AUDITED_ROLES: usize = 100;

/// The mapping decision at sign-in, for the audit log: the roles offered and the rules that
/// granted them.
fn mapping_decision(state: &AppState, identity: &Identity) -> serde_json::Value {
    let mappings = state.mappings.current();
    let input = crate::mapping::MappingInput {
        identity,
        now: state.clock.now(),
        honour_idp_roles: state.idps.honours_idp_roles(identity.idp.as_str()),
        explain: false,
    };
    let offer = crate::mapping::evaluate(&mappings.rules, &mappings.directory, &input);
    let roles: Vec<serde_json::Value> = offer
        .roles
        .iter()
        .take(MAX_AUDITED_ROLES)
        .map(|r| serde_json::json!({ "roleArn": r.role_arn, "grantedBy": r.granted_by, "trustedBy": r.trusted_by }))
        .collect();
    serde_json::json!({
        "mfa": identity.mfa,
        "offeredRoleCount": offer.roles.len(),
        "offeredRoles": roles,
    })
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    csrf: String,
}

/// The page that sends the browser on to the provider's end-session endpoint.
///
/// A redirect answering the form post would be a form submission to another origin, which
/// the CSP's `form-action 'self'` blocks in browsers; this same-origin page navigates there
/// itself (meta refresh, and a link for browsers that do not follow it).
#[derive(Template, WebTemplate)]
#[template(path = "signing_out.html")]
struct SigningOutPage {
    provider: String,
    continue_to: String,
}

/// Ends the session here, then at the provider the person signed in with when it supports
/// RP-Initiated Logout (it sends the browser back to the sign-in page).
async fn logout(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<LogoutForm>,
) -> Result<Response, Error> {
    session::verify_csrf(&session, &form.csrf).await?;
    let identity: Option<Identity> = session.get(session::IDENTITY).await?;
    session.flush().await?;
    let signed_out = [(
        header::SET_COOKIE,
        login_cookie(&state, SIGNED_OUT_COOKIE, "1", 600),
    )];
    let Some(identity) = identity else {
        return Ok((signed_out, Redirect::to("/login")).into_response());
    };
    let provider = state.idps.get(identity.idp.as_str());
    let continue_to = match provider {
        Some(Provider::Oidc(oidc)) => oidc.logout_url(&state.public_url.join("/login")).await,
        Some(Provider::Saml(saml)) => saml.logout_url(&identity).await,
        None => None,
    };
    match (provider, continue_to) {
        (Some(provider), Some(continue_to)) => Ok((
            signed_out,
            SigningOutPage {
                provider: provider.display_name().to_owned(),
                continue_to,
            },
        )
            .into_response()),
        _ => Ok((signed_out, Redirect::to("/login")).into_response()),
    }
}
