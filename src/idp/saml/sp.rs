//! rolegate as a SAML service provider: its entity id, endpoints, key and certificate, and
//! the metadata document that tells identity providers about them.

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use samael::crypto::CertificateDer;
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::{
    EncryptionMethod, Endpoint, EntityDescriptor, HTTP_POST_BINDING, HTTP_REDIRECT_BINDING,
    IndexedEndpoint, KeyDescriptor, SpSsoDescriptor,
};
use samael::traits::ToXml;

use crate::config::PublicUrl;

/// The service provider's identity, shared by every SAML provider.
pub struct ServiceProvider {
    /// Its entity id: the metadata URL, as is customary.
    pub entity_id: String,
    /// The Assertion Consumer Service URL (HTTP-POST).
    pub acs_url: String,
    /// The Single Logout URL (HTTP-Redirect).
    pub slo_url: String,
    /// The key that signs requests and decrypts assertions.
    pub(super) key: PKey<Private>,
    /// Its certificate (DER).
    pub(super) certificate: CertificateDer,
}

impl std::fmt::Debug for ServiceProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceProvider")
            .field("entity_id", &self.entity_id)
            .finish_non_exhaustive()
    }
}

impl ServiceProvider {
    /// The service provider at `public_url` with the PEM `key` and `certificate`.
    pub fn from_pem(public_url: &PublicUrl, key: &str, certificate: &str) -> Result<Self, String> {
        let key = PKey::private_key_from_pem(key.as_bytes())
            .map_err(|e| format!("keys.saml_sp_key_file is not a PEM private key: {e}"))?;
        let certificate = X509::from_pem(certificate.as_bytes())
            .map_err(|e| format!("keys.saml_sp_cert_file is not a PEM certificate: {e}"))?;
        let matches = certificate
            .public_key()
            .map(|public| public.public_eq(&key))
            .unwrap_or(false);
        if !matches {
            return Err(
                "keys.saml_sp_cert_file is not the certificate of keys.saml_sp_key_file".into(),
            );
        }
        let der = certificate
            .to_der()
            .map_err(|e| format!("keys.saml_sp_cert_file: {e}"))?;
        Ok(Self::new(public_url, key, der.into()))
    }

    /// Its certificate (DER), as its metadata publishes it for signing and encryption.
    pub fn certificate(&self) -> &CertificateDer {
        &self.certificate
    }

    /// A service provider with a key and self-signed certificate made now (the demo).
    pub fn generate(public_url: &PublicUrl) -> Result<Self, String> {
        let (key, certificate) = super::keys::self_signed("rolegate demo SP")?;
        Ok(Self::new(public_url, key, certificate))
    }

    fn new(public_url: &PublicUrl, key: PKey<Private>, certificate: CertificateDer) -> Self {
        Self {
            entity_id: public_url.join("/saml/metadata"),
            acs_url: public_url.join("/saml/acs"),
            slo_url: public_url.join("/saml/slo"),
            key,
            certificate,
        }
    }

    /// The SP metadata document: entity id, the HTTP-POST ACS, the HTTP-Redirect Single
    /// Logout service, and the certificate for signing and for encryption.
    pub fn metadata_xml(&self) -> Result<String, String> {
        let key_info = || KeyInfo {
            id: None,
            x509_data: Some(X509Data {
                certificates: vec![samael::crypto::mime_encode_x509_cert(&self.certificate)],
            }),
        };
        let encryption_methods = [
            "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            "http://www.w3.org/2009/xmlenc11#aes256-gcm",
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
            "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
        ]
        .map(|algorithm| EncryptionMethod {
            algorithm: algorithm.to_owned(),
        });
        let descriptor = SpSsoDescriptor {
            protocol_support_enumeration: Some("urn:oasis:names:tc:SAML:2.0:protocol".into()),
            key_descriptors: Some(vec![
                KeyDescriptor {
                    key_use: Some("signing".into()),
                    key_info: key_info(),
                    encryption_methods: None,
                },
                KeyDescriptor {
                    key_use: Some("encryption".into()),
                    key_info: key_info(),
                    encryption_methods: Some(encryption_methods.to_vec()),
                },
            ]),
            single_logout_services: Some(vec![Endpoint {
                binding: HTTP_REDIRECT_BINDING.into(),
                location: self.slo_url.clone(),
                response_location: None,
            }]),
            authn_requests_signed: Some(true),
            want_assertions_signed: Some(true),
            assertion_consumer_services: vec![IndexedEndpoint {
                binding: HTTP_POST_BINDING.into(),
                location: self.acs_url.clone(),
                response_location: None,
                index: 0,
                is_default: Some(true),
            }],
            ..SpSsoDescriptor::default()
        };
        EntityDescriptor {
            entity_id: Some(self.entity_id.clone()),
            sp_sso_descriptors: Some(vec![descriptor]),
            ..EntityDescriptor::default()
        }
        .to_string()
        .map_err(|e| format!("writing the SP metadata: {e}"))
    }
}
