//! The signed-in person, as every later layer sees them.

use serde::{Deserialize, Serialize};

use super::claims::{claim_at_path, groups_from_claim, mfa_from_amr};
use crate::config::IdpName;

/// The protocol a person signed in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// OpenID Connect.
    Oidc,
    /// SAML 2.0.
    Saml,
}

/// A person verified by an identity provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// The configured provider they signed in through.
    pub idp: IdpName,
    /// How.
    pub protocol: Protocol,
    /// The provider's issuer (OIDC `iss`, SAML entity id).
    pub issuer: String,
    /// The provider's stable subject identifier (OIDC `sub`, SAML NameID).
    pub subject: String,
    /// Email address, when the provider asserted one.
    pub email: Option<String>,
    /// Whether the provider vouches for `email` (`email_verified` is `true`, or the
    /// provider is configured with `trust_email`). Unverified addresses match no email rule.
    #[serde(default)]
    pub email_verified: bool,
    /// Display name, when the provider asserted one.
    pub name: Option<String>,
    /// Group names, from the configured groups claim or attribute.
    pub groups: Vec<String>,
    /// Whether the provider says more than one factor was used.
    pub mfa: bool,
    /// Authentication methods (OIDC `amr`, RFC 8176).
    pub amr: Vec<String>,
    /// When the person authenticated at the provider (Unix seconds), when known.
    pub auth_time: Option<u64>,
    /// When rolegate accepted the sign-in (Unix seconds).
    pub signed_in_at: u64,
    /// When the provider says the sign-in must end (SAML `SessionNotOnOrAfter`), if it does.
    #[serde(default)]
    pub session_ends_at: Option<u64>,
    /// Every claim or attribute the provider sent, for mapping rules.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl Identity {
    /// A stable key for this person across sessions: `idp/subject`.
    pub fn owner_key(&self) -> String {
        format!("{}/{}", self.idp, self.subject)
    }

    /// The strings of claim `name`: one string, or each string of a list; none otherwise.
    pub fn claim_strings(&self, name: &str) -> Vec<String> {
        match self.claims.get(name) {
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// What to call this person on a page.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.email.as_deref())
            .unwrap_or(&self.subject)
    }
}

impl Identity {
    /// Seconds since the second factor was used, as `aws:MultiFactorAuthAge` counts them:
    /// from `auth_time`, when the sign-in was multi-factor and the provider said when.
    pub fn mfa_age(&self, now_unix: u64) -> Option<u64> {
        let authenticated = self.auth_time.filter(|_| self.mfa)?;
        Some(now_unix.saturating_sub(authenticated))
    }

    /// Whether this person may sign in where only `domains` (lowercase) are allowed: the
    /// email must be verified and its domain one of them. An empty list allows everyone.
    /// The error says why not.
    pub fn check_email_domain(&self, domains: &[String]) -> Result<(), String> {
        if domains.is_empty() {
            return Ok(());
        }
        let domain = self.verified_email_domain()?;
        if domains.contains(&domain) {
            Ok(())
        } else {
            Err(format!("email domain `{domain}` is not allowed"))
        }
    }

    /// The domain of a verified email address, lowercase; the error says why there is none.
    pub fn verified_email_domain(&self) -> Result<String, String> {
        let email = self.email.as_deref().ok_or("no email claim")?;
        if !self.email_verified {
            return Err(format!("email `{email}` is not verified"));
        }
        email
            .rsplit_once('@')
            .map(|(_, domain)| domain.to_ascii_lowercase())
            .ok_or_else(|| format!("email `{email}` has no domain"))
    }

    /// Declares the email verified because the provider is trusted to verify every address
    /// it sends (`trust_email`, Keycloak's name for it).
    pub fn trust_email(&mut self) {
        self.email_verified = self.email.is_some();
    }

    /// An identity from a provider's claims: `sub`, `email`, `name`, `amr` and `auth_time`
    /// where present, groups from `groups_claim` (a dot path), and every claim kept for the
    /// mapping rules. `None` without a string `sub`.
    pub fn from_claims(
        idp: IdpName,
        protocol: Protocol,
        issuer: String,
        claims: serde_json::Map<String, serde_json::Value>,
        groups_claim: &str,
        signed_in_at: u64,
    ) -> Option<Self> {
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let subject = text("sub")?;
        let amr: Vec<String> = match claims.get("amr") {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        // OIDC Core 5.1: `email_verified` is a boolean; some providers send the string.
        let email_verified = match claims.get("email_verified") {
            Some(serde_json::Value::Bool(verified)) => *verified,
            Some(serde_json::Value::String(verified)) => verified == "true",
            _ => false,
        };
        let email = text("email");
        Some(Self {
            idp,
            protocol,
            issuer,
            email_verified: email_verified && email.is_some(),
            email,
            name: text("name"),
            groups: groups_from_claim(claim_at_path(&claims, groups_claim)),
            mfa: mfa_from_amr(&amr),
            amr,
            auth_time: claims.get("auth_time").and_then(serde_json::Value::as_u64),
            signed_in_at,
            session_ends_at: None,
            subject,
            claims,
        })
    }

    /// An identity from claims pasted by an administrator (the playground, `mappings test`):
    /// as [`Identity::from_claims`], with the issuer taken from the `iss` claim when present,
    /// `aud` defaulting to rolegate's client id at the provider (the ID token would carry
    /// it, and trust policies test it), and the provider's `trust_email` applied.
    pub fn from_pasted_claims(
        idp: IdpName,
        protocol: Protocol,
        mut claims: serde_json::Map<String, serde_json::Value>,
        provider: &PastedAt<'_>,
        signed_in_at: u64,
    ) -> Option<Self> {
        let issuer = claims
            .get("iss")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Some(client_id) = provider.client_id {
            claims
                .entry("aud")
                .or_insert_with(|| serde_json::Value::String(client_id.to_owned()));
        }
        let mut identity = Self::from_claims(
            idp,
            protocol,
            issuer,
            claims,
            provider.groups_claim,
            signed_in_at,
        )?;
        if provider.trust_email {
            identity.trust_email();
        }
        Some(identity)
    }
}

/// What the provider that pasted claims stand for adds to them.
#[derive(Debug, Clone, Copy)]
pub struct PastedAt<'a> {
    /// Where its groups are.
    pub groups_claim: &'a str,
    /// rolegate's client id there (OIDC), the `aud` its ID tokens carry.
    pub client_id: Option<&'a str>,
    /// Whether its email addresses count as verified.
    pub trust_email: bool,
}
