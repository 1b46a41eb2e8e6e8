//! Single Logout over the HTTP-Redirect binding: the `LogoutRequest` rolegate sends when a
//! person signs out, and the IdP's own `LogoutRequest` (which ends the local session), each
//! signed as the binding signs (RSA-SHA256 over the query).

use std::io::{Read as _, Write as _};
use std::time::SystemTime;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use quick_xml::escape::escape;
use samael::crypto::{UrlVerifier, sign_url};
use samael::schema::LogoutRequest;
use url::Url;

use super::SamlError;
use super::metadata::IdpMetadata;
use super::screen::{Root, screen};
use super::sp::ServiceProvider;

/// The largest inflated logout message read.
const MAX_MESSAGE_BYTES: u64 = 64 * 1024;
const PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Who is signing out, as the provider named them.
#[derive(Debug, Clone, Copy)]
pub(super) struct LoggedIn<'a> {
    /// The NameID.
    pub(super) name_id: &'a str,
    /// Its `Format`, when the assertion gave one.
    pub(super) name_id_format: Option<&'a str>,
    /// The assertion's `SessionIndex`, when it gave one.
    pub(super) session_index: Option<&'a str>,
}

fn instant(now: SystemTime) -> String {
    DateTime::<Utc>::from(now).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn message_id() -> String {
    let bytes: [u8; 20] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("_{hex}")
}

/// `xml` deflated and base64-encoded into `parameter` of `destination`, with `relay_state`,
/// signed with the SP key.
fn signed_redirect(
    sp: &ServiceProvider,
    destination: &Url,
    parameter: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> Result<Url, String> {
    let mut deflated = Vec::new();
    {
        let mut encoder =
            flate2::write::DeflateEncoder::new(&mut deflated, flate2::Compression::default());
        encoder
            .write_all(xml.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let mut url = destination.clone();
    url.query_pairs_mut().append_pair(
        parameter,
        &base64::engine::general_purpose::STANDARD.encode(deflated),
    );
    if let Some(relay_state) = relay_state {
        url.query_pairs_mut().append_pair("RelayState", relay_state);
    }
    sign_url(url, &sp.key).map_err(|e| format!("signing the {parameter}: {e}"))
}

/// The URL that sends `person`'s `LogoutRequest` to the provider's Single Logout service.
pub(super) fn logout_request(
    sp: &ServiceProvider,
    destination: &Url,
    person: &LoggedIn<'_>,
    now: SystemTime,
) -> Result<Url, String> {
    let format = person
        .name_id_format
        .map(|f| format!(" Format=\"{}\"", escape(f)))
        .unwrap_or_default();
    let session_index = person
        .session_index
        .map(|i| format!("<samlp:SessionIndex>{}</samlp:SessionIndex>", escape(i)))
        .unwrap_or_default();
    let xml = format!(
        "<samlp:LogoutRequest xmlns:samlp=\"{PROTOCOL}\" xmlns:saml=\"{ASSERTION}\" ID=\"{}\" \
         Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\"><saml:Issuer>{}</saml:Issuer>\
         <saml:NameID{format}>{}</saml:NameID>{session_index}</samlp:LogoutRequest>",
        message_id(),
        instant(now),
        escape(destination.as_str()),
        escape(&sp.entity_id),
        escape(person.name_id),
    );
    signed_redirect(sp, destination, "SAMLRequest", &xml, None)
}

/// A `LogoutRequest` the provider sent, verified: who it names.
#[derive(Debug, Clone)]
pub struct ProviderLogout {
    /// Its `ID`, which the response answers.
    pub id: String,
    /// The NameID it ends the session of.
    pub name_id: String,
    /// Its `RelayState`, returned with the response.
    pub relay_state: Option<String>,
}

/// The issuer a `LogoutRequest` at `url` claims, to choose the provider whose certificates
/// must then verify it; nothing here is trusted.
pub(super) fn claimed_logout_issuer(url: &Url) -> Result<String, SamlError> {
    let xml = inflate_request(url)?;
    let request: LogoutRequest = xml
        .parse()
        .map_err(|e| SamlError::Malformed(format!("not a LogoutRequest: {e}")))?;
    request
        .issuer
        .and_then(|i| i.value)
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| SamlError::Malformed("the logout request names no Issuer".into()))
}

/// The `SAMLRequest` of `url`, inflated and screened.
fn inflate_request(url: &Url) -> Result<String, SamlError> {
    let encoded = url
        .query_pairs()
        .find(|(key, _)| key == "SAMLRequest")
        .map(|(_, value)| value.into_owned())
        .ok_or_else(|| SamlError::Malformed("no SAMLRequest".into()))?;
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| SamlError::Malformed("SAMLRequest is not base64".into()))?;
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice())
        .take(MAX_MESSAGE_BYTES)
        .read_to_string(&mut xml)
        .map_err(|_| SamlError::Malformed("SAMLRequest does not inflate to UTF-8".into()))?;
    screen(&xml, Root::LOGOUT_REQUEST)?;
    Ok(xml)
}

/// Verifies a `LogoutRequest` at `url` (HTTP-Redirect): signed by one of the provider's
/// certificates with RSA-SHA256, issued by it, not yet expired.
pub(super) fn read_logout_request(
    url: &Url,
    idp: &IdpMetadata,
    now: i64,
) -> Result<ProviderLogout, SamlError> {
    let refuse = |reason: &str| SamlError::Refused(format!("the logout request: {reason}"));
    let query = |name: &str| {
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    if query("SigAlg").as_deref() != Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256") {
        return Err(refuse("it is not signed with RSA-SHA256"));
    }
    let verified = idp.signing_certificates.iter().any(|certificate| {
        UrlVerifier::from_x509(certificate)
            .and_then(|verifier| verifier.verify_signed_request_url(url))
            .unwrap_or(false)
    });
    if !verified {
        return Err(SamlError::Signature);
    }
    let xml = inflate_request(url)?;
    let request: LogoutRequest = xml
        .parse()
        .map_err(|e| SamlError::Malformed(format!("not a LogoutRequest: {e}")))?;
    let issuer = request.issuer.as_ref().and_then(|i| i.value.as_deref());
    if issuer.map(str::trim) != Some(idp.entity_id.as_str()) {
        return Err(refuse("its Issuer is not the provider"));
    }
    if request
        .issue_instant
        .is_some_and(|at| at.timestamp() > now + 300 || at.timestamp() < now - 300)
    {
        return Err(refuse(
            "its IssueInstant is more than five minutes from now",
        ));
    }
    Ok(ProviderLogout {
        id: request.id.ok_or_else(|| refuse("it has no ID"))?,
        name_id: request
            .name_id
            .map(|n| n.value)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| refuse("it names no NameID"))?,
        relay_state: query("RelayState"),
    })
}

/// The URL that answers the provider's `LogoutRequest` with a successful
/// `LogoutResponse`.
pub(super) fn logout_response(
    sp: &ServiceProvider,
    destination: &Url,
    answered: &ProviderLogout,
    now: SystemTime,
) -> Result<Url, String> {
    let xml = format!(
        "<samlp:LogoutResponse xmlns:samlp=\"{PROTOCOL}\" xmlns:saml=\"{ASSERTION}\" ID=\"{}\" \
         Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" InResponseTo=\"{}\">\
         <saml:Issuer>{}</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"{SUCCESS}\"/>\
         </samlp:Status></samlp:LogoutResponse>",
        message_id(),
        instant(now),
        escape(destination.as_str()),
        escape(&answered.id),
        escape(&sp.entity_id),
    );
    signed_redirect(
        sp,
        destination,
        "SAMLResponse",
        &xml,
        answered.relay_state.as_deref(),
    )
}
