//! SP-initiated sign-in: a signed `AuthnRequest` over the HTTP-Redirect binding, and what
//! the browser session keeps until the response comes back.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use samael::metadata::HTTP_POST_BINDING;
use samael::schema::{AuthnRequest, Issuer, NameIdPolicy};
use serde::{Deserialize, Serialize};
use url::Url;

use super::metadata::IdpMetadata;
use super::sp::ServiceProvider;
use crate::config::IdpName;
use crate::idp::SignInError;

const ENTITY_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

/// A request this browser sent and whose response has not come back yet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSamlRequest {
    /// The provider it went to.
    pub idp: IdpName,
    /// The request's `ID`, which the response's `InResponseTo` must equal.
    pub request_id: String,
    /// Where to go after signing in (a same-origin relative path).
    pub return_to: String,
    /// When it was sent (Unix seconds).
    pub started_at: u64,
}

/// A started sign-in: where to send the browser, and the request's id.
#[derive(Debug)]
pub struct AuthnRequestStart {
    /// The provider's SSO URL with `SAMLRequest`, `RelayState`, `SigAlg` and `Signature`.
    pub url: Url,
    /// The request's `ID`.
    pub request_id: String,
}

/// A fresh request `ID`: 160 random bits, starting with a letter as `xs:ID` requires.
fn request_id() -> String {
    let bytes: [u8; 20] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("_{hex}")
}

/// A signed `AuthnRequest` from `sp` to the provider `idp`, carrying `relay_state`.
pub(super) fn authn_request(
    sp: &ServiceProvider,
    idp: &IdpMetadata,
    relay_state: &str,
    now: SystemTime,
) -> Result<AuthnRequestStart, SignInError> {
    let destination = idp.sso_redirect.as_ref().ok_or_else(|| {
        SignInError::Discovery(
            "the provider's metadata has no SingleSignOnService for the HTTP-Redirect binding"
                .into(),
        )
    })?;
    let id = request_id();
    let request = AuthnRequest {
        id: id.clone(),
        version: "2.0".into(),
        issue_instant: DateTime::<Utc>::from(now),
        destination: Some(destination.to_string()),
        issuer: Some(Issuer {
            format: Some(ENTITY_FORMAT.into()),
            value: Some(sp.entity_id.clone()),
            ..Issuer::default()
        }),
        name_id_policy: Some(NameIdPolicy {
            allow_create: Some(true),
            ..NameIdPolicy::default()
        }),
        assertion_consumer_service_url: Some(sp.acs_url.clone()),
        protocol_binding: Some(HTTP_POST_BINDING.into()),
        ..AuthnRequest::default()
    };
    let url = request
        .signed_redirect(relay_state, &sp.key)
        .map_err(|e| SignInError::Discovery(format!("signing the AuthnRequest: {e}")))?
        .ok_or_else(|| SignInError::Discovery("the AuthnRequest has no destination".into()))?;
    Ok(AuthnRequestStart {
        url,
        request_id: id,
    })
}
