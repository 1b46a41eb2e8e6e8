//! `[[idp]]` entries: the identity providers people sign in with.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use url::Url;

use super::ConfigError;
use super::client_auth::ClientAuth;
use super::raw::{RawIdp, RawIdpKind};
use super::source::Source;

/// The name of a configured identity provider, as used in `/login/{idp}`:
/// 1–32 characters of `a-z`, `0-9` and `-`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdpName(String);

impl IdpName {
    /// Validates `name`.
    pub fn parse(name: &str) -> Result<Self, String> {
        let valid_chars = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if name.is_empty() || name.len() > 32 || !valid_chars || name.starts_with('-') {
            return Err(format!(
                "`{name}` must be 1-32 characters of a-z, 0-9 and `-`, not starting with `-`"
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The environment-variable form, e.g. `corp-eu` becomes `CORP_EU`.
    pub fn env_suffix(&self) -> String {
        self.0.to_ascii_uppercase().replace('-', "_")
    }
}

impl TryFrom<String> for IdpName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IdpName> for String {
    fn from(value: IdpName) -> Self {
        value.0
    }
}

impl fmt::Display for IdpName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One configured identity provider.
#[derive(Debug)]
pub struct IdpConfig {
    /// The provider's name in URLs and logs.
    pub name: IdpName,
    /// What the sign-in page shows.
    pub display_name: String,
    /// The logo beside it, from `logo_file`.
    pub logo: Option<Logo>,
    /// When not empty, only people with a verified email address in one of these domains
    /// (lowercase) may sign in through this provider.
    pub allowed_email_domains: Vec<String>,
    /// Whether every email address the provider sends counts as verified, whatever its
    /// `email_verified` says (`trust_email`, Keycloak's name; default false).
    pub trust_email: bool,
    /// How rolegate talks to it.
    pub protocol: IdpProtocol,
}

/// An image for the sign-in page, served by rolegate itself (the page's CSP allows no other
/// origin).
#[derive(Debug, Clone)]
pub struct Logo {
    /// The file's bytes.
    pub bytes: std::sync::Arc<[u8]>,
    /// `image/png`, `image/jpeg` or `image/svg+xml`, from the file's extension.
    pub content_type: &'static str,
}

/// The largest logo file accepted.
const MAX_LOGO_BYTES: u64 = 256 * 1024;

/// The protocol of an identity provider, with its settings.
#[derive(Debug)]
pub enum IdpProtocol {
    /// OpenID Connect.
    Oidc(OidcSettings),
    /// SAML 2.0.
    Saml(SamlSettings),
}

/// Settings of an OpenID Connect provider.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The issuer exactly as written (it must equal the discovered `issuer` byte for byte);
    /// discovery reads `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// rolegate's client id at the provider.
    pub client_id: String,
    /// How rolegate proves to the token endpoint that it is this client.
    pub client_auth: ClientAuth,
    /// Scopes to request; always includes `openid`.
    pub scopes: Vec<String>,
    /// The claim path that holds the groups, e.g. `groups` or `realm_access.roles`.
    pub groups_claim: String,
    /// Leeway on the ID token's `exp` and `iat` for clocks that disagree.
    pub clock_skew: Duration,
    /// Whether the userinfo endpoint's claims are merged into the ID token's.
    pub userinfo: bool,
    /// `acr` values that count as multi-factor authentication (besides `amr`).
    pub mfa_acr_values: Vec<String>,
}

/// Settings of a SAML identity provider.
#[derive(Debug, Clone)]
pub struct SamlSettings {
    /// Where the provider's metadata comes from.
    pub metadata: SamlMetadataSource,
    /// When set, the metadata document must carry a signature by this certificate (PEM).
    pub metadata_signing_cert: Option<PathBuf>,
    /// Which attributes hold the groups, the email address and the display name.
    pub attributes: SamlAttributeNames,
    /// Whether responses that answer no request of ours (IdP-initiated sign-in) are accepted.
    pub allow_idp_initiated: bool,
    /// Which elements must carry a verified signature.
    pub require_signed: SignedElements,
    /// Whether assertions must arrive encrypted to rolegate's SP key.
    pub require_encrypted_assertions: bool,
    /// Whether `https://aws.amazon.com/SAML/Attributes/Role` values are honoured.
    pub honour_idp_roles: bool,
    /// Leeway on the assertion's time bounds for clocks that disagree.
    pub clock_skew: Duration,
    /// `AuthnContextClassRef` values that count as multi-factor authentication.
    pub mfa_authn_contexts: Vec<String>,
}

/// Attribute names, each tried in order; the first present wins.
#[derive(Debug, Clone)]
pub struct SamlAttributeNames {
    /// Group memberships.
    pub groups: Vec<String>,
    /// The email address.
    pub email: Vec<String>,
    /// The display name.
    pub name: Vec<String>,
}

impl SamlAttributeNames {
    /// The names ADFS, Entra ID, Okta, Google Workspace and Shibboleth send by default.
    pub fn defaults() -> Self {
        let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        Self {
            groups: owned(&DEFAULT_GROUP_ATTRIBUTES),
            email: owned(&DEFAULT_EMAIL_ATTRIBUTES),
            name: owned(&DEFAULT_NAME_ATTRIBUTES),
        }
    }
}

/// Group attributes: ADFS, Entra ID, Shibboleth's `isMemberOf`, then plain names.
const DEFAULT_GROUP_ATTRIBUTES: [&str; 5] = [
    "http://schemas.xmlsoap.org/claims/Group",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
    "groups",
    "memberOf",
];
/// Email attributes: ADFS and Entra ID, Shibboleth's `mail`, then plain names.
const DEFAULT_EMAIL_ATTRIBUTES: [&str; 4] = [
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "email",
    "mail",
];
/// Display-name attributes: Entra ID, Shibboleth's `displayName`, ADFS, then plain names.
const DEFAULT_NAME_ATTRIBUTES: [&str; 5] = [
    "http://schemas.microsoft.com/identity/claims/displayname",
    "urn:oid:2.16.840.1.113730.3.1.241",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
    "displayName",
    "name",
];

/// `AuthnContextClassRef` values that mean a second factor was used, unless configured:
/// REFEDS MFA, Entra ID / ADFS multiple authentication, SAML's two-factor classes.
pub const DEFAULT_MFA_AUTHN_CONTEXTS: [&str; 5] = [
    "https://refeds.org/profile/mfa",
    "http://schemas.microsoft.com/claims/multipleauthn",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorUnregistered",
    "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken",
];

/// Which parts of a SAML response must be signed by the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedElements {
    /// The `<Assertion>` (the default, and what most providers sign).
    Assertion,
    /// The `<Response>` (which covers the assertion inside it).
    Response,
    /// Both, each with its own signature.
    Both,
}

/// Where a SAML provider's metadata comes from.
#[derive(Debug, Clone)]
pub enum SamlMetadataSource {
    /// A file, resolved against the configuration file's folder.
    File(PathBuf),
    /// A URL fetched at first use and refreshed hourly.
    Url(Url),
    /// A document the program itself holds (the demo's identity provider).
    Inline(std::sync::Arc<str>),
}

/// Keys that apply only to OpenID Connect providers.
const OIDC_ONLY: [&str; 11] = [
    "issuer",
    "client_id",
    "client_secret_env",
    "client_secret_file",
    "client_auth",
    "private_key_file",
    "private_key_id",
    "scopes",
    "groups_claim",
    "userinfo",
    "mfa_acr_values",
];

/// `acr` values that mean a second factor was used, unless configured: OpenID PAPE's.
pub const DEFAULT_MFA_ACR_VALUES: [&str; 2] = [
    "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
    "http://schemas.openid.net/pape/policies/2007/06/multi-factor-physical",
];

/// The clock skew allowed on ID token times unless configured.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// The most clock skew a configuration may allow.
const MAX_CLOCK_SKEW_SECONDS: u64 = 300;
/// Keys that apply only to SAML providers.
const SAML_ONLY: [&str; 11] = [
    "metadata_file",
    "metadata_url",
    "honour_idp_roles",
    "metadata_signing_cert_file",
    "groups_attribute",
    "email_attribute",
    "name_attribute",
    "allow_idp_initiated",
    "require_signed",
    "require_encrypted_assertions",
    "mfa_authn_contexts",
];

impl Source<'_> {
    pub(super) fn idps(&self, raw: Vec<Spanned<RawIdp>>) -> Result<Vec<IdpConfig>, ConfigError> {
        let mut seen = HashSet::new();
        let mut idps = Vec::with_capacity(raw.len());
        for (index, entry) in raw.into_iter().enumerate() {
            let idp = self.idp(index, entry.into_inner())?;
            if !seen.insert(idp.name.clone()) {
                return Err(self.duplicate_name(index, &idp.name));
            }
            idps.push(idp);
        }
        Ok(idps)
    }

    fn duplicate_name(&self, index: usize, name: &IdpName) -> ConfigError {
        ConfigError::Invalid {
            location: self.location(0),
            key: format!("idp[{index}].name"),
            reason: format!("`{name}` is used by an earlier [[idp]]"),
        }
    }

    fn idp(&self, index: usize, raw: RawIdp) -> Result<IdpConfig, ConfigError> {
        let key = |field: &str| format!("idp[{index}].{field}");
        let name = IdpName::parse(raw.name.get_ref())
            .map_err(|reason| self.invalid(raw.name.span(), &key("name"), reason))?;
        let protocol = match raw.kind.get_ref() {
            RawIdpKind::Demo => {
                return Err(self.invalid(
                    raw.kind.span(),
                    &key("kind"),
                    "`demo` exists only inside `rolegate demo`; `serve` refuses it",
                ));
            }
            RawIdpKind::Oidc => {
                self.reject_foreign_keys(&raw, &SAML_ONLY, "oidc", &key)?;
                IdpProtocol::Oidc(self.oidc(&raw, &name, &key)?)
            }
            RawIdpKind::Saml => {
                self.reject_foreign_keys(&raw, &OIDC_ONLY, "saml", &key)?;
                IdpProtocol::Saml(self.saml(&raw, &key)?)
            }
        };
        let logo = match &raw.logo_file {
            Some(file) => Some(self.logo(file, &key("logo_file"))?),
            None => None,
        };
        let allowed_email_domains = match &raw.allowed_email_domains {
            Some(domains) => self.email_domains(domains, &key("allowed_email_domains"))?,
            None => Vec::new(),
        };
        Ok(IdpConfig {
            display_name: raw.display_name.clone().unwrap_or_else(|| name.to_string()),
            name,
            logo,
            allowed_email_domains,
            trust_email: raw.trust_email.as_ref().is_some_and(|t| *t.get_ref()),
            protocol,
        })
    }

    fn logo(&self, file: &Spanned<String>, key: &str) -> Result<Logo, ConfigError> {
        let path = self.resolve(file.get_ref());
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let content_type = match extension.as_deref() {
            Some("png") => "image/png",
            Some("jpg" | "jpeg") => "image/jpeg",
            Some("svg") => "image/svg+xml",
            _ => {
                let reason = "must be a .png, .jpg or .svg file";
                return Err(self.invalid(file.span(), key, reason));
            }
        };
        let fail = |reason: String| self.invalid(file.span(), key, reason);
        let size = std::fs::metadata(&path)
            .map_err(|e| fail(format!("cannot read `{}`: {e}", path.display())))?
            .len();
        if size > MAX_LOGO_BYTES {
            return Err(fail(format!(
                "`{}` is {size} bytes; a logo may have at most {MAX_LOGO_BYTES}",
                path.display()
            )));
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| fail(format!("cannot read `{}`: {e}", path.display())))?;
        Ok(Logo {
            bytes: bytes.into(),
            content_type,
        })
    }

    fn email_domains(
        &self,
        domains: &Spanned<Vec<String>>,
        key: &str,
    ) -> Result<Vec<String>, ConfigError> {
        domains
            .get_ref()
            .iter()
            .map(|domain| {
                let domain = domain.trim().to_ascii_lowercase();
                let valid = !domain.is_empty()
                    && !domain.starts_with(['.', '-', '@'])
                    && domain
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
                if valid {
                    Ok(domain)
                } else {
                    let reason = format!("`{domain}` is not a domain name (write `example.com`)");
                    Err(self.invalid(domains.span(), key, reason))
                }
            })
            .collect()
    }

    fn reject_foreign_keys(
        &self,
        raw: &RawIdp,
        foreign: &[&str],
        kind: &str,
        key: &dyn Fn(&str) -> String,
    ) -> Result<(), ConfigError> {
        for field in foreign {
            if let Some(span) = raw.span_of(field) {
                let reason = format!("does not apply to kind = \"{kind}\"");
                return Err(self.invalid(span, &key(field), reason));
            }
        }
        Ok(())
    }

    fn oidc(
        &self,
        raw: &RawIdp,
        name: &IdpName,
        key: &dyn Fn(&str) -> String,
    ) -> Result<OidcSettings, ConfigError> {
        let issuer = self.required(raw.issuer.as_ref(), raw, &key("issuer"))?;
        parse_issuer(issuer.get_ref())
            .map_err(|reason| self.invalid(issuer.span(), &key("issuer"), reason))?;
        let client_id = self.required(raw.client_id.as_ref(), raw, &key("client_id"))?;
        let client_auth = self.client_auth(raw, name, key)?;
        let mut scopes = raw
            .scopes
            .as_ref()
            .map(|s| s.get_ref().clone())
            .unwrap_or_else(|| vec!["openid".into(), "email".into(), "profile".into()]);
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        let groups_claim = raw
            .groups_claim
            .as_ref()
            .map_or_else(|| "groups".to_owned(), |g| g.get_ref().clone());
        let clock_skew = self.clock_skew(raw, key)?;
        Ok(OidcSettings {
            issuer: issuer.get_ref().clone(),
            client_id: client_id.get_ref().clone(),
            client_auth,
            scopes,
            groups_claim,
            clock_skew,
            userinfo: raw.userinfo.as_ref().is_some_and(|u| *u.get_ref()),
            mfa_acr_values: raw.mfa_acr_values.as_ref().map_or_else(
                || DEFAULT_MFA_ACR_VALUES.map(str::to_owned).to_vec(),
                |values| values.get_ref().clone(),
            ),
        })
    }

    fn saml(
        &self,
        raw: &RawIdp,
        key: &dyn Fn(&str) -> String,
    ) -> Result<SamlSettings, ConfigError> {
        let metadata = match (&raw.metadata_file, &raw.metadata_url) {
            (Some(file), None) => {
                let path = self.resolve(file.get_ref());
                if !path.is_file() {
                    let reason = format!("`{}` is not a readable file", path.display());
                    return Err(self.invalid(file.span(), &key("metadata_file"), reason));
                }
                SamlMetadataSource::File(path)
            }
            (None, Some(url)) => SamlMetadataSource::Url(
                Url::parse(url.get_ref())
                    .ok()
                    .filter(|u| u.scheme() == "https" || is_loopback(u))
                    .ok_or_else(|| {
                        self.invalid(url.span(), &key("metadata_url"), "must be an https URL")
                    })?,
            ),
            (Some(file), Some(_)) => {
                return Err(self.invalid(
                    file.span(),
                    &key("metadata_file"),
                    "give `metadata_file` or `metadata_url`, not both",
                ));
            }
            (None, None) => {
                return Err(self.invalid(
                    raw.name.span(),
                    &key("metadata_file"),
                    "a SAML provider needs `metadata_file` or `metadata_url`",
                ));
            }
        };
        let metadata_signing_cert = match &raw.metadata_signing_cert_file {
            Some(file) => {
                let path = self.resolve(file.get_ref());
                if !path.is_file() {
                    let reason = format!("`{}` is not a readable file", path.display());
                    let field = key("metadata_signing_cert_file");
                    return Err(self.invalid(file.span(), &field, reason));
                }
                Some(path)
            }
            None => None,
        };
        let defaults = SamlAttributeNames::defaults();
        let names = |configured: &Option<Spanned<String>>, default: Vec<String>| {
            configured
                .as_ref()
                .map_or(default, |name| vec![name.get_ref().clone()])
        };
        let require_signed = match raw.require_signed.as_ref() {
            None => SignedElements::Assertion,
            Some(value) => match value.get_ref().as_str() {
                "assertion" => SignedElements::Assertion,
                "response" => SignedElements::Response,
                "both" => SignedElements::Both,
                _ => {
                    let reason = "must be \"assertion\", \"response\" or \"both\"";
                    return Err(self.invalid(value.span(), &key("require_signed"), reason));
                }
            },
        };
        let flag = |value: &Option<Spanned<bool>>| value.as_ref().is_some_and(|v| *v.get_ref());
        Ok(SamlSettings {
            metadata,
            metadata_signing_cert,
            attributes: SamlAttributeNames {
                groups: names(&raw.groups_attribute, defaults.groups),
                email: names(&raw.email_attribute, defaults.email),
                name: names(&raw.name_attribute, defaults.name),
            },
            allow_idp_initiated: flag(&raw.allow_idp_initiated),
            require_signed,
            require_encrypted_assertions: flag(&raw.require_encrypted_assertions),
            honour_idp_roles: flag(&raw.honour_idp_roles),
            clock_skew: self.clock_skew(raw, key)?,
            mfa_authn_contexts: raw.mfa_authn_contexts.as_ref().map_or_else(
                || DEFAULT_MFA_AUTHN_CONTEXTS.map(str::to_owned).to_vec(),
                |values| values.get_ref().clone(),
            ),
        })
    }

    /// `clock_skew_seconds`, at most [`MAX_CLOCK_SKEW_SECONDS`].
    fn clock_skew(
        &self,
        raw: &RawIdp,
        key: &dyn Fn(&str) -> String,
    ) -> Result<Duration, ConfigError> {
        match &raw.clock_skew_seconds {
            None => Ok(DEFAULT_CLOCK_SKEW),
            Some(seconds) if *seconds.get_ref() <= MAX_CLOCK_SKEW_SECONDS => {
                Ok(Duration::from_secs(*seconds.get_ref()))
            }
            Some(seconds) => {
                let reason = format!("must be 0-{MAX_CLOCK_SKEW_SECONDS} seconds");
                Err(self.invalid(seconds.span(), &key("clock_skew_seconds"), reason))
            }
        }
    }

    fn required<'v, T>(
        &self,
        value: Option<&'v Spanned<T>>,
        raw: &RawIdp,
        key: &str,
    ) -> Result<&'v Spanned<T>, ConfigError> {
        value.ok_or_else(|| self.invalid(raw.name.span(), key, "is required for this kind"))
    }
}

impl RawIdp {
    /// Where `field` was written, if it was.
    fn span_of(&self, field: &str) -> Option<std::ops::Range<usize>> {
        match field {
            "issuer" => self.issuer.as_ref().map(Spanned::span),
            "client_id" => self.client_id.as_ref().map(Spanned::span),
            "client_secret_env" => self.client_secret_env.as_ref().map(Spanned::span),
            "client_secret_file" => self.client_secret_file.as_ref().map(Spanned::span),
            "client_auth" => self.client_auth.as_ref().map(Spanned::span),
            "private_key_file" => self.private_key_file.as_ref().map(Spanned::span),
            "private_key_id" => self.private_key_id.as_ref().map(Spanned::span),
            "scopes" => self.scopes.as_ref().map(Spanned::span),
            "groups_claim" => self.groups_claim.as_ref().map(Spanned::span),
            "clock_skew_seconds" => self.clock_skew_seconds.as_ref().map(Spanned::span),
            "userinfo" => self.userinfo.as_ref().map(Spanned::span),
            "mfa_acr_values" => self.mfa_acr_values.as_ref().map(Spanned::span),
            "metadata_file" => self.metadata_file.as_ref().map(Spanned::span),
            "metadata_url" => self.metadata_url.as_ref().map(Spanned::span),
            "honour_idp_roles" => self.honour_idp_roles.as_ref().map(Spanned::span),
            "metadata_signing_cert_file" => {
                self.metadata_signing_cert_file.as_ref().map(Spanned::span)
            }
            "groups_attribute" => self.groups_attribute.as_ref().map(Spanned::span),
            "email_attribute" => self.email_attribute.as_ref().map(Spanned::span),
            "name_attribute" => self.name_attribute.as_ref().map(Spanned::span),
            "allow_idp_initiated" => self.allow_idp_initiated.as_ref().map(Spanned::span),
            "require_signed" => self.require_signed.as_ref().map(Spanned::span),
            "require_encrypted_assertions" => self
                .require_encrypted_assertions
                .as_ref()
                .map(Spanned::span),
            "mfa_authn_contexts" => self.mfa_authn_contexts.as_ref().map(Spanned::span),
            _ => None,
        }
    }
}

/// An issuer must be https with no query or fragment; plain http is allowed on loopback
/// only, for local testing.
pub(super) fn parse_issuer(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must have no query or fragment".into());
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err("must be https (http only for loopback hosts)".into()),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
