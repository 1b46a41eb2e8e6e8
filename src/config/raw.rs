//! The configuration file exactly as written: serde shapes with source spans.
//!
//! Every table denies unknown keys so that a misspelt key is an error naming it.

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) public_url: Option<Spanned<String>>,
    pub(super) store: Option<Spanned<String>>,
    pub(super) directory: Option<Spanned<String>>,
    pub(super) mappings: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) keys: RawKeys,
    #[serde(default)]
    pub(super) admin: RawAdmin,
    #[serde(default)]
    pub(super) session: RawSession,
    #[serde(default)]
    pub(super) login: RawLogin,
    #[serde(default)]
    pub(super) limits: RawLimits,
    #[serde(default)]
    pub(super) audit: RawAudit,
    #[serde(default)]
    pub(super) idp: Vec<Spanned<RawIdp>>,
}

/// `[keys]`: files holding key material.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKeys {
    pub(super) session_signing_key_file: Option<Spanned<String>>,
    pub(super) saml_sp_key_file: Option<Spanned<String>>,
    pub(super) saml_sp_cert_file: Option<Spanned<String>>,
}

/// `[session]`: the browser session.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSession {
    pub(super) persistent_cookie: Option<bool>,
}

/// `[login]`: the sign-in page.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLogin {
    pub(super) straight_to_single_idp: Option<bool>,
}

/// `[limits]`: timeouts and caps of the HTTP edge.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) header_read_timeout_seconds: Option<Spanned<u64>>,
    pub(super) request_timeout_seconds: Option<Spanned<u64>>,
    pub(super) max_connections: Option<Spanned<u64>>,
    pub(super) idp_timeout_seconds: Option<Spanned<u64>>,
}

/// `[audit]`: where audit events go.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    pub(super) file: Option<Spanned<String>>,
}

/// `[admin]`: who may use the admin pages.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    #[serde(default)]
    pub(super) groups: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) subjects: Vec<Spanned<String>>,
}

/// The protocol an `[[idp]]` entry speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawIdpKind {
    Oidc,
    Saml,
    Demo,
}

/// One `[[idp]]` entry; which keys apply depends on `kind`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIdp {
    pub(super) name: Spanned<String>,
    pub(super) kind: Spanned<RawIdpKind>,
    pub(super) display_name: Option<String>,
    pub(super) logo_file: Option<Spanned<String>>,
    pub(super) allowed_email_domains: Option<Spanned<Vec<String>>>,
    pub(super) trust_email: Option<Spanned<bool>>,
    pub(super) clock_skew_seconds: Option<Spanned<u64>>,
    // OpenID Connect
    pub(super) issuer: Option<Spanned<String>>,
    pub(super) client_id: Option<Spanned<String>>,
    pub(super) client_secret_env: Option<Spanned<String>>,
    pub(super) client_secret_file: Option<Spanned<String>>,
    pub(super) client_auth: Option<Spanned<String>>,
    pub(super) private_key_file: Option<Spanned<String>>,
    pub(super) private_key_id: Option<Spanned<String>>,
    pub(super) scopes: Option<Spanned<Vec<String>>>,
    pub(super) groups_claim: Option<Spanned<String>>,
    pub(super) userinfo: Option<Spanned<bool>>,
    pub(super) mfa_acr_values: Option<Spanned<Vec<String>>>,
    // SAML 2.0
    pub(super) metadata_file: Option<Spanned<String>>,
    pub(super) metadata_url: Option<Spanned<String>>,
    pub(super) honour_idp_roles: Option<Spanned<bool>>,
    pub(super) metadata_signing_cert_file: Option<Spanned<String>>,
    pub(super) groups_attribute: Option<Spanned<String>>,
    pub(super) email_attribute: Option<Spanned<String>>,
    pub(super) name_attribute: Option<Spanned<String>>,
    pub(super) allow_idp_initiated: Option<Spanned<bool>>,
    pub(super) require_signed: Option<Spanned<String>>,
    pub(super) require_encrypted_assertions: Option<Spanned<bool>>,
    pub(super) mfa_authn_contexts: Option<Spanned<Vec<String>>>,
}
