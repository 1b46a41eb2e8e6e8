//! The SAML face of `rolegate demo`'s identity provider: IdP metadata, a single sign-on
//! service that accepts the broker's signed `AuthnRequest`, and responses for the same
//! sample people as the OpenID face, signed with a key made at start. The broker signs in
//! through it with the same service-provider code as any real SAML provider.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::demo::{DemoPerson, MOUNT};
use super::saml::ServiceProvider;
use super::saml::issuer::{AcceptedRequest, ResponseSpec, SamlIssuer};
use crate::config::{
    IdpConfig, IdpName, PublicUrl, SamlAttributeNames, SamlMetadataSource, SamlSettings,
    SignedElements,
};

/// The name of the demo's SAML provider in `/login/{idp}`.
pub const SAML_IDP_NAME: &str = "demo-saml";
/// How long its assertions may be used.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);
/// The authentication context of a person who used a second factor (REFEDS MFA).
const MFA_CONTEXT: &str = "https://refeds.org/profile/mfa";
/// And of one who did not.
const PASSWORD_CONTEXT: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";

/// The demo's SAML identity provider.
#[derive(Debug)]
pub struct DemoSamlIdp {
    issuer: SamlIssuer,
    sso_url: String,
}

impl DemoSamlIdp {
    /// The provider at `{public_url}/demo-idp/saml`, with a fresh key.
    pub fn new(public_url: &PublicUrl) -> Result<Self, String> {
        Ok(Self {
            issuer: SamlIssuer::generate(&public_url.join(&format!("{MOUNT}/saml")))?,
            sso_url: public_url.join(&format!("{MOUNT}/saml/sso")),
        })
    }

    /// Its metadata document.
    pub fn metadata_xml(&self) -> String {
        self.issuer.metadata_xml(&self.sso_url)
    }

    /// The `[[idp]]` entry through which the broker signs in with it: its roles asserted
    /// in AWS's `Role` attribute are honoured, so a person it gives several roles meets
    /// the "Select a role" page.
    pub fn idp_config(&self) -> Result<IdpConfig, String> {
        Ok(IdpConfig {
            name: IdpName::parse(SAML_IDP_NAME)?,
            display_name: "Demo identity provider (SAML)".to_owned(),
            logo: None,
            allowed_email_domains: Vec::new(),
            trust_email: true,
            protocol: crate::config::IdpProtocol::Saml(SamlSettings {
                metadata: SamlMetadataSource::Inline(Arc::from(self.metadata_xml())),
                metadata_signing_cert: None,
                attributes: SamlAttributeNames::defaults(),
                allow_idp_initiated: false,
                require_signed: SignedElements::Assertion,
                require_encrypted_assertions: false,
                honour_idp_roles: true,
                clock_skew: crate::config::DEFAULT_CLOCK_SKEW,
                mfa_authn_contexts: vec![MFA_CONTEXT.to_owned()],
            }),
        })
    }

    /// Checks the broker's request at `url`.
    pub fn accept(&self, url: &url::Url, sp: &ServiceProvider) -> Result<AcceptedRequest, String> {
        self.issuer.accept_request(url, sp)
    }

    /// A signed response signing `person` in, answering `request`.
    pub fn respond(
        &self,
        person: &DemoPerson,
        request: &AcceptedRequest,
        sp: &ServiceProvider,
        now: SystemTime,
    ) -> Result<String, String> {
        let mut attributes = vec![
            (
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".to_owned(),
                vec![person.email.to_owned()],
            ),
            (
                "http://schemas.microsoft.com/identity/claims/displayname".to_owned(),
                vec![person.name.to_owned()],
            ),
            (
                "http://schemas.xmlsoap.org/claims/Group".to_owned(),
                person.groups.iter().map(|g| (*g).to_owned()).collect(),
            ),
            (
                "https://aws.amazon.com/SAML/Attributes/RoleSessionName".to_owned(),
                vec![person.email.to_owned()],
            ),
        ];
        if !person.saml_roles.is_empty() {
            attributes.push((
                crate::mapping::SAML_ROLE_ATTRIBUTE.to_owned(),
                person
                    .saml_roles
                    .iter()
                    .map(|role| {
                        let account = role.split(':').nth(4).unwrap_or_default();
                        format!("{role},arn:aws:iam::{account}:saml-provider/{SAML_IDP_NAME}")
                    })
                    .collect(),
            ));
        }
        self.issuer.response(&ResponseSpec {
            name_id: person.subject,
            name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            audience: &sp.entity_id,
            acs_url: &sp.acs_url,
            in_response_to: Some(&request.id),
            attributes,
            authn_context: if person.mfa {
                MFA_CONTEXT
            } else {
                PASSWORD_CONTEXT
            },
            now,
            lifetime: ASSERTION_LIFETIME,
            session_not_on_or_after: None,
            sign: SignedElements::Assertion,
            encrypt_to: None,
        })
    }
}
