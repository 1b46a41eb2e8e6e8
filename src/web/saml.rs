//! The SAML service provider's endpoints: `GET /saml/metadata`, the sign-in start for a
//! SAML provider (from `/login/{idp}`), the Assertion Consumer Service `POST /saml/acs`,
//! and `GET /saml/continue`, where the browser's own session takes the sign-in over.
//!
//! The ACS is posted cross-site by the provider's page, so the browser sends no `Lax`
//! session cookie with it. The ACS therefore verifies the response in full, consumes the
//! assertion and the request it answers, and hands the sign-in to the next, same-site
//! request through a one-time ticket; there the browser session must hold the request the
//! response answers (or the provider must allow IdP-initiated sign-in).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::auth::{establish_sign_in, sign_in_started};
use super::extract::{Form, Query};
use super::redirect::safe_return_to;
use super::session::{self, MAX_PENDING, PENDING_TTL};
use super::trail::{Trail, audit_origin};
use super::{AppState, Error};
use crate::idp::saml::{PendingSamlRequest, SamlError, SamlProvider, decode_message};
use crate::idp::{Identity, SignInError};
use crate::store::OneTimePurpose;

/// The browser-session key of the SAML requests awaiting their responses.
const PENDING_SAML: &str = "pending_saml_requests";
/// How long the ACS's hand-over ticket lasts: one redirect.
const TICKET_TTL: Duration = Duration::from_secs(60);
/// The largest ACS form body.
const MAX_ACS_BODY: usize = 512 * 1024;
/// How long an answered `LogoutRequest` id is remembered (its IssueInstant's window).
const LOGOUT_REPLAY_WINDOW: Duration = Duration::from_secs(600);
/// The longest `RelayState` sent or honoured (SAML bindings 3.4.3: 80 bytes).
const MAX_RELAY_STATE: usize = 80;

/// The SAML routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/saml/metadata", get(metadata))
        .route(
            "/saml/acs",
            post(acs)
                .get(|| async { Redirect::to("/login") })
                .layer(DefaultBodyLimit::max(MAX_ACS_BODY)),
        )
        .route("/saml/continue", get(continue_sign_in))
        .route("/saml/slo", get(single_logout))
}

/// The SP metadata document, for the providers' administrators.
async fn metadata(State(state): State<AppState>) -> Result<Response, Error> {
    let sp = state.idps.service_provider().ok_or(Error::NotFound)?;
    let xml = sp
        .metadata_xml()
        .map_err(|e| SignInError::Discovery(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/samlmetadata+xml"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        xml,
    )
        .into_response())
}

/// Sends the browser to `provider` with a signed `AuthnRequest`, remembering it in the
/// browser session and (for the ACS, which sees no session) in the one-time store.
pub(super) async fn start(
    state: &AppState,
    provider: &SamlProvider,
    return_to: String,
    session: &Session,
) -> Result<Response, Error> {
    let relay_state = if return_to.len() <= MAX_RELAY_STATE {
        return_to.as_str()
    } else {
        "/"
    };
    let started = provider.begin(relay_state).await?;
    state
        .stores
        .one_time
        .insert_once(
            OneTimePurpose::SamlRequestId,
            &started.request_id,
            provider.name().as_str(),
            PENDING_TTL,
        )
        .await?;
    let now = state.clock.unix_seconds();
    let mut pending = pending_requests(session, now).await?;
    pending.push(PendingSamlRequest {
        idp: provider.name().clone(),
        request_id: started.request_id,
        return_to,
        started_at: now,
    });
    let excess = pending.len().saturating_sub(MAX_PENDING);
    pending.drain(..excess);
    session.insert(PENDING_SAML, &pending).await?;
    sign_in_started(state, session, provider.name(), started.url.as_str()).await
}

async fn pending_requests(session: &Session, now: u64) -> Result<Vec<PendingSamlRequest>, Error> {
    let mut pending: Vec<PendingSamlRequest> = session.get(PENDING_SAML).await?.unwrap_or_default();
    pending.retain(|p| now < p.started_at.saturating_add(PENDING_TTL.as_secs()));
    Ok(pending)
}

/// The HTTP-POST binding's form.
#[derive(Debug, Deserialize)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// A verified sign-in on its way from the ACS to the browser's session.
#[derive(Debug, Serialize, Deserialize)]
struct HandOver {
    identity: Identity,
    /// The request it answers; `None` for an IdP-initiated sign-in.
    in_response_to: Option<String>,
    relay_state: Option<String>,
}

/// The Assertion Consumer Service, audited when it refuses.
async fn acs(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<AcsForm>,
) -> Result<Redirect, Error> {
    let result = consume(&state, form).await;
    if let Err(error) = &result {
        let mut trail = Trail::named("SignIn");
        trail.identity.kind = "FederatedUser";
        trail.record(
            &state,
            "signin.rolegate",
            &audit_origin(&headers, peer),
            Some((error.audit_code(), error.public_message())),
        );
    }
    result
}

/// Verifies the response, consumes its assertion and the request it answers, and leaves
/// the sign-in under a ticket for `/saml/continue`.
async fn consume(state: &AppState, form: AcsForm) -> Result<Redirect, Error> {
    let xml = decode_message(&form.saml_response)?;
    let issuer = crate::idp::saml::claimed_issuer(&xml)?;
    let provider = provider_for(state, &issuer).await?;
    let assertion = provider.verify(&xml).await?;
    match &assertion.in_response_to {
        Some(request_id) => {
            let asked_of = state
                .stores
                .one_time
                .take(OneTimePurpose::SamlRequestId, request_id)
                .await?;
            if asked_of.as_deref() != Some(provider.name().as_str()) {
                return Err(refused(
                    "it answers no request rolegate has outstanding (unknown, already \
                     answered, or expired)",
                ));
            }
        }
        None if provider.settings().allow_idp_initiated => {}
        None => {
            return Err(refused(
                "it answers no request (IdP-initiated sign-in), which this provider is not \
                 allowed (allow_idp_initiated)",
            ));
        }
    }
    consume_assertion_once(state, &assertion).await?;
    let identity = provider.identity(&assertion)?;
    let ticket = session::random_token();
    let hand_over = HandOver {
        identity,
        in_response_to: assertion.in_response_to.clone(),
        relay_state: form.relay_state.filter(|r| r.len() <= MAX_RELAY_STATE),
    };
    let value = serde_json::to_string(&hand_over)
        .map_err(|e| SignInError::Discovery(format!("keeping the sign-in: {e}")))?;
    state
        .stores
        .one_time
        .insert_once(OneTimePurpose::SamlSignIn, &ticket, &value, TICKET_TTL)
        .await?;
    Ok(Redirect::to(&format!("/saml/continue?ticket={ticket}")))
}

/// Records the assertion's id until it expires; a second use, on any instance sharing the
/// store, is a replay.
pub(super) async fn consume_assertion_once(
    state: &AppState,
    assertion: &crate::idp::saml::VerifiedAssertion,
) -> Result<(), Error> {
    let now = i64::try_from(state.clock.unix_seconds()).unwrap_or(i64::MAX);
    // Kept past NotOnOrAfter by the largest skew any provider may be allowed.
    let lives = assertion
        .not_on_or_after
        .saturating_sub(now)
        .saturating_add(300);
    let ttl = Duration::from_secs(u64::try_from(lives).unwrap_or(1).max(1));
    let key = format!("{}|{}", assertion.issuer, assertion.id);
    let first = state
        .stores
        .one_time
        .insert_once(OneTimePurpose::SamlAssertionId, &key, "", ttl)
        .await?;
    if first {
        Ok(())
    } else {
        Err(SignInError::Saml(SamlError::Replayed).into())
    }
}

/// The SAML provider whose entity id is `issuer`.
pub(super) async fn provider_for<'a>(
    state: &'a AppState,
    issuer: &str,
) -> Result<&'a SamlProvider, Error> {
    for provider in state.idps.saml_providers() {
        if let Ok(metadata) = provider.metadata().await
            && metadata.entity_id == issuer
        {
            return Ok(provider);
        }
    }
    Err(refused(
        "its Issuer is not a configured SAML identity provider",
    ))
}

fn refused(reason: &str) -> Error {
    SignInError::Saml(SamlError::Refused(format!(
        "the response is refused: {reason}"
    )))
    .into()
}

#[derive(Debug, Deserialize)]
struct ContinueQuery {
    ticket: String,
}

/// Where the ACS sends the browser: the sign-in joins this browser's session when it
/// answers a request this session sent (or is an allowed IdP-initiated one).
async fn continue_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Query(query): Query<ContinueQuery>,
    session: Session,
) -> Result<Redirect, Error> {
    let origin = audit_origin(&headers, peer);
    let mut trail = Trail::named("SignIn");
    trail.identity.kind = "FederatedUser";
    let result = take_over(&state, &query.ticket, session, &mut trail).await;
    trail.record_result(&state, "signin.rolegate", &origin, &result);
    result
}

async fn take_over(
    state: &AppState,
    ticket: &str,
    session: Session,
    trail: &mut Trail,
) -> Result<Redirect, Error> {
    let value = state
        .stores
        .one_time
        .take(OneTimePurpose::SamlSignIn, ticket)
        .await?
        .ok_or(SignInError::NoPendingSignIn)?;
    let hand_over: HandOver =
        serde_json::from_str(&value).map_err(|_| SignInError::NoPendingSignIn)?;
    trail.identity.identity_provider = Some(hand_over.identity.idp.to_string());
    let return_to = match &hand_over.in_response_to {
        Some(request_id) => {
            let mut pending = pending_requests(&session, state.clock.unix_seconds()).await?;
            let index = pending
                .iter()
                .position(|p| &p.request_id == request_id && p.idp == hand_over.identity.idp)
                .ok_or(SignInError::NoPendingSignIn)?;
            let answered = pending.swap_remove(index);
            session.insert(PENDING_SAML, &pending).await?;
            answered.return_to
        }
        None => hand_over
            .relay_state
            .as_deref()
            .and_then(safe_return_to)
            .unwrap_or("/")
            .to_owned(),
    };
    let identity = hand_over.identity;
    let several_roles =
        state.idps.honours_idp_roles(identity.idp.as_str()) && asserted_role_count(&identity) > 1;
    establish_sign_in(state, &session, identity, trail).await?;
    let return_to = safe_return_to(&return_to).unwrap_or("/");
    if several_roles {
        let encoded: String = url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
        return Ok(Redirect::to(&format!("/select-role?return_to={encoded}")));
    }
    Ok(Redirect::to(return_to))
}

/// How many roles the provider asserted in AWS's `Role` attribute.
fn asserted_role_count(identity: &Identity) -> usize {
    identity
        .claim_strings(crate::mapping::SAML_ROLE_ATTRIBUTE)
        .len()
}

/// The Single Logout service (HTTP-Redirect). A provider's `LogoutRequest` is verified
/// against its certificates and ends this browser's session when it names the person signed
/// in here; it is answered with a signed `LogoutResponse`. The provider's answer to
/// rolegate's own request lands on the sign-in page (the session ended when it was sent).
async fn single_logout(
    State(state): State<AppState>,
    uri: Uri,
    session: Session,
) -> Result<Response, Error> {
    let url = url::Url::parse(&state.public_url.join(&uri.to_string()))
        .map_err(|_| Error::BadRequest("The logout address is not a URL."))?;
    let has = |name: &str| url.query_pairs().any(|(key, _)| key == name);
    if has("SAMLResponse") {
        return Ok(Redirect::to("/login").into_response());
    }
    if !has("SAMLRequest") {
        return Err(Error::BadRequest(
            "A logout message needs SAMLRequest or SAMLResponse.",
        ));
    }
    let issuer = crate::idp::saml::claimed_logout_issuer(&url)?;
    let provider = provider_for(&state, &issuer).await?;
    let (request, answer) = provider.answer_logout(&url).await?;
    // A request is honoured once: its IssueInstant is good for five minutes either way.
    let key = format!("{}|{}", provider.name(), request.id);
    let first = state
        .stores
        .one_time
        .insert_once(
            OneTimePurpose::SamlLogoutRequest,
            &key,
            "",
            LOGOUT_REPLAY_WINDOW,
        )
        .await?;
    if !first {
        return Err(SignInError::Saml(SamlError::Replayed).into());
    }
    let identity: Option<Identity> = session.get(session::IDENTITY).await?;
    if identity.is_some_and(|i| &i.idp == provider.name() && i.subject == request.name_id) {
        session.flush().await?;
        tracing::info!(idp = %provider.name(), "signed out by the identity provider");
    }
    Ok(Redirect::to(&answer).into_response())
}

/// The session expiry for a sign-in the provider says must end at `ends_at`.
pub(super) fn provider_session_expiry(ends_at: u64) -> tower_sessions::Expiry {
    let at = std::time::UNIX_EPOCH + Duration::from_secs(ends_at);
    tower_sessions::Expiry::AtDateTime(time::OffsetDateTime::from(at))
}
