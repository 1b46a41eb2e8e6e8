//! A SAML identity provider's metadata: its entity id, where to send requests, and the
//! certificates its signatures are pinned to.

use samael::crypto::{CertificateDer, Crypto, CryptoProvider, ReduceMode, decode_x509_cert};
use samael::metadata::{EntityDescriptor, HTTP_REDIRECT_BINDING, IdpSsoDescriptor, KeyDescriptor};
use url::Url;

use super::screen::{Root, screen};
use super::verify::STRONG_ALGORITHMS;

/// What rolegate uses of a provider's metadata.
#[derive(Debug, Clone)]
pub struct IdpMetadata {
    /// The provider's entity id, which must issue every response.
    pub entity_id: String,
    /// Its `SingleSignOnService` for the HTTP-Redirect binding, when it has one.
    pub sso_redirect: Option<Url>,
    /// Its `SingleLogoutService` for the HTTP-Redirect binding, when it has one.
    pub slo_redirect: Option<Url>,
    /// Where that service takes responses (its `ResponseLocation`, else its `Location`).
    pub slo_response: Option<Url>,
    /// The certificates its signatures must verify against (DER).
    pub signing_certificates: Vec<CertificateDer>,
}

/// The largest metadata document accepted.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;

impl IdpMetadata {
    /// Parses `xml`, which must hold one `EntityDescriptor` with an `IDPSSODescriptor` and
    /// at least one signing certificate; when `signed_by` is given, the document must carry
    /// a signature by that certificate and only what it covers is read. `now` (Unix
    /// seconds) is checked against `validUntil`. The error says what is wrong.
    pub fn parse(xml: &str, signed_by: Option<&CertificateDer>, now: i64) -> Result<Self, String> {
        if xml.len() > MAX_METADATA_BYTES {
            return Err(format!("larger than {MAX_METADATA_BYTES} bytes"));
        }
        screen(xml, Root::ENTITY_DESCRIPTOR).map_err(|e| e.to_string())?;
        let signed;
        let readable = match signed_by {
            Some(certificate) => {
                signed = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
                    xml,
                    std::slice::from_ref(certificate),
                    ReduceMode::ValidateAndMarkNoAncestors,
                    Some(&STRONG_ALGORITHMS),
                )
                .map_err(|_| {
                    "its signature does not verify against metadata_signing_cert_file \
                     (or it is unsigned, or uses an algorithm weaker than SHA-256)"
                        .to_owned()
                })?;
                signed.as_str()
            }
            None => xml,
        };
        let descriptor: EntityDescriptor = readable
            .parse()
            .map_err(|e| format!("not SAML metadata: {e}"))?;
        if descriptor
            .valid_until
            .is_some_and(|until| until.timestamp() <= now)
        {
            return Err("its validUntil has passed".into());
        }
        let entity_id = descriptor
            .entity_id
            .clone()
            .filter(|id| !id.trim().is_empty())
            .ok_or("the EntityDescriptor has no entityID")?;
        let idp = descriptor
            .idp_sso_descriptors
            .as_deref()
            .and_then(<[_]>::first)
            .ok_or("there is no IDPSSODescriptor (is this a service provider's metadata?)")?;
        let signing_certificates = signing_certificates(idp)?;
        Ok(Self {
            entity_id,
            sso_redirect: redirect_endpoint(&idp.single_sign_on_services)?,
            slo_redirect: redirect_endpoint(&idp.single_logout_services)?,
            slo_response: redirect_response_endpoint(&idp.single_logout_services)?,
            signing_certificates,
        })
    }
}

/// The certificates of the descriptor's signing keys (`use="signing"`, or no `use`).
fn signing_certificates(idp: &IdpSsoDescriptor) -> Result<Vec<CertificateDer>, String> {
    let signing = |k: &&KeyDescriptor| {
        k.key_use
            .as_deref()
            .is_none_or(|u| u.is_empty() || u == "signing")
    };
    let mut certificates = Vec::new();
    for descriptor in idp.key_descriptors.iter().filter(signing) {
        for text in descriptor
            .key_info
            .x509_data
            .iter()
            .flat_map(|data| data.certificates.iter())
        {
            let der = decode_x509_cert(text)
                .map_err(|e| format!("a signing X509Certificate is not base64: {e}"))?;
            openssl::x509::X509::from_der(der.der_data())
                .map_err(|e| format!("a signing X509Certificate is not a certificate: {e}"))?;
            certificates.push(der);
        }
    }
    if certificates.is_empty() {
        return Err(
            "the IDPSSODescriptor has no signing certificate (a KeyDescriptor with an \
                    X509Certificate); rolegate accepts only responses signed by a pinned key"
                .into(),
        );
    }
    Ok(certificates)
}

fn redirect_endpoint(endpoints: &[samael::metadata::Endpoint]) -> Result<Option<Url>, String> {
    endpoints
        .iter()
        .find(|e| e.binding == HTTP_REDIRECT_BINDING)
        .map(|e| {
            Url::parse(e.location.trim())
                .map_err(|err| format!("endpoint `{}` is not a URL: {err}", e.location))
        })
        .transpose()
}

fn redirect_response_endpoint(
    endpoints: &[samael::metadata::Endpoint],
) -> Result<Option<Url>, String> {
    endpoints
        .iter()
        .find(|e| e.binding == HTTP_REDIRECT_BINDING)
        .map(|e| {
            let location = e.response_location.as_deref().unwrap_or(&e.location);
            Url::parse(location.trim())
                .map_err(|err| format!("endpoint `{location}` is not a URL: {err}"))
        })
        .transpose()
}
