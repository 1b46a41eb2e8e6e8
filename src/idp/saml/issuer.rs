//! The identity-provider side, for `rolegate demo`'s SAML face and for tests that play an
//! IdP: metadata, and responses built with samael's schema types and signed with xmlsec.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use openssl::pkey::{PKey, Private};
use quick_xml::escape::escape;
use samael::attribute::{Attribute, AttributeValue};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider, mime_encode_x509_cert};
use samael::schema::{
    Assertion, AttributeStatement, AudienceRestriction, AuthnContext, AuthnContextClassRef,
    AuthnStatement, Conditions, Issuer, Response, Status, StatusCode, Subject, SubjectConfirmation,
    SubjectConfirmationData, SubjectNameID,
};
use samael::signature::{DigestAlgorithm, Signature};
use samael::traits::ToXml;

use crate::config::SignedElements;

/// An identity provider that signs responses with its own key.
pub struct SamlIssuer {
    /// Its entity id.
    pub entity_id: String,
    key: PKey<Private>,
    certificate: CertificateDer,
}

impl std::fmt::Debug for SamlIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamlIssuer")
            .field("entity_id", &self.entity_id)
            .finish_non_exhaustive()
    }
}

/// An `AuthnRequest` the issuer accepted: whom to answer, and where.
#[derive(Debug, Clone)]
pub struct AcceptedRequest {
    /// Its `ID`, for `InResponseTo`.
    pub id: String,
    /// Its `RelayState`, to send back.
    pub relay_state: Option<String>,
}

/// The largest inflated `AuthnRequest` the issuer reads.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// What one response says.
#[derive(Debug, Clone)]
pub struct ResponseSpec<'a> {
    /// The subject's NameID and its format.
    pub name_id: &'a str,
    /// The NameID's `Format`.
    pub name_id_format: &'a str,
    /// The service provider's entity id (the audience).
    pub audience: &'a str,
    /// Its ACS URL (`Destination` and `Recipient`).
    pub acs_url: &'a str,
    /// The request answered; `None` for IdP-initiated.
    pub in_response_to: Option<&'a str>,
    /// Attribute names and values.
    pub attributes: Vec<(String, Vec<String>)>,
    /// `AuthnContextClassRef`.
    pub authn_context: &'a str,
    /// When it is issued.
    pub now: SystemTime,
    /// How long the assertion may be used.
    pub lifetime: Duration,
    /// `SessionNotOnOrAfter`, when the provider limits the session.
    pub session_not_on_or_after: Option<SystemTime>,
    /// What to sign.
    pub sign: SignedElements,
    /// The SP certificate to encrypt the assertion to (AES-256-GCM, RSA-OAEP), if any.
    pub encrypt_to: Option<&'a CertificateDer>,
}

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

fn random_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("_{hex}")
}

impl SamlIssuer {
    /// An issuer `entity_id` with a fresh RSA key and self-signed certificate.
    pub fn generate(entity_id: &str) -> Result<Self, String> {
        let (key, certificate) = super::keys::self_signed(entity_id)?;
        Ok(Self {
            entity_id: entity_id.to_owned(),
            key,
            certificate,
        })
    }

    /// Its private key, DER (PKCS #1), as xmlsec signs with it.
    pub(super) fn private_key_der(&self) -> Vec<u8> {
        self.key.private_key_to_der().unwrap_or_default()
    }

    /// Checks an HTTP-Redirect `AuthnRequest` at `url` from `sp`: signed with the SP's key
    /// (RSA-SHA256), issued by its entity id, answered at its ACS URL.
    pub fn accept_request(
        &self,
        url: &url::Url,
        sp: &super::ServiceProvider,
    ) -> Result<AcceptedRequest, String> {
        use std::io::Read as _;
        let verifier = samael::crypto::UrlVerifier::from_x509(&sp.certificate)
            .map_err(|e| format!("the SP certificate: {e}"))?;
        if !verifier.verify_signed_request_url(url).unwrap_or(false) {
            return Err(
                "the request's signature does not verify against the SP's certificate".into(),
            );
        }
        let query = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let encoded = query("SAMLRequest").ok_or("no SAMLRequest")?;
        use base64::Engine as _;
        let deflated = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| "SAMLRequest is not base64")?;
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(deflated.as_slice())
            .take(MAX_REQUEST_BYTES)
            .read_to_string(&mut xml)
            .map_err(|_| "SAMLRequest does not inflate to UTF-8")?;
        super::screen::screen(&xml, super::screen::Root::AUTHN_REQUEST)
            .map_err(|e| e.to_string())?;
        let request: samael::schema::AuthnRequest = xml
            .parse()
            .map_err(|e| format!("not an AuthnRequest: {e}"))?;
        if request.issuer_value().as_deref() != Some(sp.entity_id.as_str()) {
            return Err("the request's Issuer is not the service provider".into());
        }
        if request.assertion_consumer_service_url.as_deref() != Some(sp.acs_url.as_str()) {
            return Err("the request's AssertionConsumerServiceURL is not the SP's".into());
        }
        Ok(AcceptedRequest {
            id: request.id,
            relay_state: query("RelayState"),
        })
    }

    /// Its signing certificate (DER).
    pub fn certificate(&self) -> &CertificateDer {
        &self.certificate
    }

    /// Its IdP metadata: the entity id, the signing certificate and the HTTP-Redirect
    /// single sign-on service at `sso_url`.
    pub fn metadata_xml(&self, sso_url: &str) -> String {
        let certificate = mime_encode_x509_cert(&self.certificate).replace(['\r', '\n'], "");
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}"><md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso}"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
            entity = escape(&self.entity_id),
            sso = escape(sso_url),
        )
    }

    /// A signed response as `spec` describes.
    pub fn response(&self, spec: &ResponseSpec<'_>) -> Result<String, String> {
        let assertion = self.assertion(spec);
        let key = self.private_key_der();
        let sign = |xml: &str| Crypto::sign_xml(xml, &key).map_err(|e| format!("signing: {e}"));
        let strip_declaration = |xml: String| match xml.strip_prefix("<?xml") {
            Some(rest) => rest
                .split_once("?>")
                .map_or(xml.clone(), |(_, body)| body.to_owned()),
            None => xml,
        };
        let assertion_xml = match spec.sign {
            SignedElements::Assertion | SignedElements::Both => {
                let mut assertion = assertion;
                assertion.signature = Some(self.template(&assertion.id));
                let xml = assertion.to_string().map_err(|e| e.to_string())?;
                strip_declaration(sign(&xml)?)
            }
            SignedElements::Response => {
                strip_declaration(assertion.to_string().map_err(|e| e.to_string())?)
            }
        };
        let assertion_xml = match spec.encrypt_to {
            Some(certificate) => encrypt(&assertion_xml, certificate)?,
            None => assertion_xml,
        };
        let id = random_id();
        let response = Response {
            id: id.clone(),
            in_response_to: spec.in_response_to.map(str::to_owned),
            version: "2.0".into(),
            issue_instant: DateTime::<Utc>::from(spec.now),
            destination: Some(spec.acs_url.to_owned()),
            consent: None,
            issuer: Some(self.issuer()),
            signature: matches!(spec.sign, SignedElements::Response | SignedElements::Both)
                .then(|| self.template(&id)),
            status: Some(Status {
                status_code: StatusCode {
                    value: Some(SUCCESS.into()),
                },
                status_message: None,
                status_detail: None,
            }),
            encrypted_assertion: None,
            assertion: None,
        };
        let shell = strip_declaration(response.to_string().map_err(|e| e.to_string())?);
        let (open, close) = shell
            .rsplit_once("</")
            .ok_or("the response shell has no end tag")?;
        let whole = format!("{open}{assertion_xml}</{close}");
        match spec.sign {
            SignedElements::Assertion => Ok(whole),
            SignedElements::Response | SignedElements::Both => sign(&whole),
        }
    }

    fn issuer(&self) -> Issuer {
        Issuer {
            value: Some(self.entity_id.clone()),
            ..Issuer::default()
        }
    }

    /// An RSA-SHA256 signature template with a SHA-256 digest over `#id`.
    pub(super) fn template(&self, id: &str) -> Signature {
        let mut template = Signature::template(id, &self.certificate);
        for reference in &mut template.signed_info.reference {
            reference.digest_method.algorithm = DigestAlgorithm::Sha256;
        }
        template
    }

    pub(super) fn assertion(&self, spec: &ResponseSpec<'_>) -> Assertion {
        let now = DateTime::<Utc>::from(spec.now);
        let until = DateTime::<Utc>::from(spec.now + spec.lifetime);
        Assertion {
            id: random_id(),
            issue_instant: now,
            version: "2.0".into(),
            issuer: self.issuer(),
            signature: None,
            subject: Some(Subject {
                name_id: Some(SubjectNameID {
                    format: Some(spec.name_id_format.to_owned()),
                    value: spec.name_id.to_owned(),
                }),
                subject_confirmations: Some(vec![SubjectConfirmation {
                    method: Some(BEARER.into()),
                    name_id: None,
                    subject_confirmation_data: Some(SubjectConfirmationData {
                        not_before: None,
                        not_on_or_after: Some(until),
                        recipient: Some(spec.acs_url.to_owned()),
                        in_response_to: spec.in_response_to.map(str::to_owned),
                        address: None,
                        content: None,
                    }),
                }]),
            }),
            conditions: Some(Conditions {
                not_before: Some(now),
                not_on_or_after: Some(until),
                audience_restrictions: Some(vec![AudienceRestriction {
                    audience: vec![spec.audience.to_owned()],
                }]),
                one_time_use: None,
                proxy_restriction: None,
            }),
            authn_statements: Some(vec![AuthnStatement {
                authn_instant: Some(now),
                session_index: Some(random_id()),
                session_not_on_or_after: spec.session_not_on_or_after.map(DateTime::<Utc>::from),
                subject_locality: None,
                authn_context: Some(AuthnContext {
                    value: Some(AuthnContextClassRef {
                        value: Some(spec.authn_context.to_owned()),
                    }),
                }),
            }]),
            attribute_statements: Some(vec![AttributeStatement {
                attributes: spec
                    .attributes
                    .iter()
                    .map(|(name, values)| Attribute {
                        friendly_name: None,
                        name: Some(name.clone()),
                        name_format: Some("urn:oasis:names:tc:SAML:2.0:attrname-format:uri".into()),
                        values: values
                            .iter()
                            .map(|v| AttributeValue {
                                attribute_type: Some("xs:string".into()),
                                value: Some(v.clone()),
                            })
                            .collect(),
                    })
                    .collect(),
            }]),
        }
    }
}

/// `assertion` as an `EncryptedAssertion` to `certificate`'s key: AES-256-GCM content, the
/// key by RSA-OAEP (MGF1, SHA-1), as XML Encryption 1.1 writes them.
fn encrypt(assertion: &str, certificate: &CertificateDer) -> Result<String, String> {
    use base64::Engine as _;
    use openssl::encrypt::Encrypter;
    use openssl::rsa::Padding;
    use openssl::symm::{Cipher, encrypt_aead};
    let failed = |e: openssl::error::ErrorStack| format!("encrypting the assertion: {e}");
    let public = openssl::x509::X509::from_der(certificate.der_data())
        .and_then(|c| c.public_key())
        .map_err(failed)?;
    let key: [u8; 32] = rand::random();
    let iv: [u8; 12] = rand::random();
    let mut tag = [0_u8; 16];
    let ciphertext = encrypt_aead(
        Cipher::aes_256_gcm(),
        &key,
        Some(&iv),
        &[],
        assertion.as_bytes(),
        &mut tag,
    )
    .map_err(failed)?;
    let mut encrypter = Encrypter::new(&public).map_err(failed)?;
    encrypter
        .set_rsa_padding(Padding::PKCS1_OAEP)
        .map_err(failed)?;
    let mut wrapped = vec![0; encrypter.encrypt_len(&key).map_err(failed)?];
    let length = encrypter.encrypt(&key, &mut wrapped).map_err(failed)?;
    wrapped.truncate(length);
    let engine = base64::engine::general_purpose::STANDARD;
    let data = engine.encode([iv.as_slice(), &ciphertext, &tag].concat());
    Ok(format!(
        r#"<saml2:EncryptedAssertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{data}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml2:EncryptedAssertion>"#,
        engine.encode(wrapped)
    ))
}
