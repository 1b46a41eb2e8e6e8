//! Session tokens: compact ES256 JWTs that carry the whole role session, so any instance can
//! check a signed request without shared state. The signature covers everything; the store
//! is asked only whether the session was revoked.

use std::collections::BTreeMap;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::assume::Credentials;
use super::keys::SessionKeys;
use super::names::AccessKeyId;

/// Who started a session chain: the person (or workload) behind every role session in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalIdentity {
    /// The configured identity provider.
    pub idp: String,
    /// Its subject.
    pub subject: String,
    /// Its issuer.
    pub issuer: String,
}

impl OriginalIdentity {
    /// A stable key for the person: `idp/subject`, as the store's owner index uses.
    pub fn owner_key(&self) -> String {
        format!("{}/{}", self.idp, self.subject)
    }
}

/// What a session token says. Short claim names keep the token, sent with every request,
/// small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// rolegate's public URL.
    pub iss: String,
    /// The assumed-role ARN.
    pub sub: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expires at (Unix seconds).
    pub exp: u64,
    /// The access key id the token belongs to.
    pub akid: String,
    /// The role's ARN.
    pub role: String,
    /// The account.
    pub acct: String,
    /// The RoleSessionName.
    pub name: String,
    /// Session tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Tag keys that pass to chained sessions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ttk: Vec<String>,
    /// The source identity, immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srcid: Option<String>,
    /// Who started the chain.
    pub orig: OriginalIdentity,
    /// SHA-256 (hex) of the session policies, when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pol: Option<String>,
    /// Whether the original sign-in used a second factor.
    #[serde(default)]
    pub mfa: bool,
    /// Whether the session was assumed from another role session (role chaining).
    #[serde(default)]
    pub chain: bool,
}

/// Why a session token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// Not a token we signed, tampered with, or signed by a key we no longer hold.
    Invalid,
    /// Ours and intact, but past its expiry.
    Expired,
}

/// Signs `claims` with the first session key.
pub fn issue(keys: &SessionKeys, claims: &SessionClaims) -> Result<String, String> {
    let (kid, key) = keys.signer().ok_or("no session signing key")?;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    header.typ = Some("rolegate-session+jwt".to_owned());
    jsonwebtoken::encode(&header, claims, key).map_err(|e| e.to_string())
}

/// The claims of `token` and the id of the key that signed it, when one of `keys` signed it
/// for `issuer` and it has not expired at `now`.
pub fn verify(
    keys: &SessionKeys,
    token: &str,
    issuer: &str,
    now: u64,
) -> Result<(SessionClaims, String), TokenRejection> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Invalid)?;
    if header.alg != Algorithm::ES256 {
        return Err(TokenRejection::Invalid);
    }
    let kid = header.kid.ok_or(TokenRejection::Invalid)?;
    let key = keys.verifier(&kid).ok_or(TokenRejection::Invalid)?;
    let mut validation = Validation::new(Algorithm::ES256);
    // Expiry is checked against the injected clock below, not the system clock.
    validation.validate_exp = false;
    validation.required_spec_claims = ["exp", "iat", "iss", "sub"].map(String::from).into();
    validation.set_issuer(&[issuer]);
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<SessionClaims>(token, key, &validation)
        .map_err(|_| TokenRejection::Invalid)?
        .claims;
    if now >= claims.exp {
        return Err(TokenRejection::Expired);
    }
    Ok((claims, kid))
}

/// The claims and full credentials of a session token we signed: for the console, which
/// keeps only the token and shows the credentials again (the secret is derived, not stored).
pub fn credentials_of(
    keys: &SessionKeys,
    token: &str,
    issuer: &str,
    now: u64,
) -> Result<(SessionClaims, Credentials), TokenRejection> {
    let (claims, kid) = verify(keys, token, issuer, now)?;
    let access_key_id = AccessKeyId::parse(&claims.akid).map_err(|_| TokenRejection::Invalid)?;
    let secret_access_key = keys
        .secret_for(&kid, access_key_id.as_str())
        .ok_or(TokenRejection::Invalid)?;
    let credentials = Credentials {
        access_key_id,
        secret_access_key,
        session_token: token.to_owned(),
        expiration: claims.exp,
    };
    Ok((claims, credentials))
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    fn claims(now: u64) -> SessionClaims {
        SessionClaims {
            iss: "https://sso.example.com".into(),
            sub: "arn:aws:sts::123456789012:assumed-role/Dev/alice".into(),
            iat: now,
            exp: now + 900,
            akid: "ASIAABCDEFGHIJKLMNOP".into(),
            role: "arn:aws:iam::123456789012:role/Dev".into(),
            acct: "123456789012".into(),
            name: "alice".into(),
            tags: [("team".to_owned(), "dev".to_owned())].into(),
            ttk: vec!["team".into()],
            srcid: Some("alice".into()),
            orig: OriginalIdentity {
                idp: "corp".into(),
                subject: "u-1".into(),
                issuer: "https://login.example.com".into(),
            },
            pol: None,
            mfa: true,
            chain: false,
        }
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let keys = SessionKeys::generate().unwrap();
        let token = issue(&keys, &claims(1_000)).unwrap();
        let (read, _) = verify(&keys, &token, "https://sso.example.com", 1_899).unwrap();
        assert_eq!(read, claims(1_000));
        assert_eq!(
            verify(&keys, &token, "https://sso.example.com", 1_900),
            Err(TokenRejection::Expired)
        );
        assert_eq!(
            verify(&keys, &token, "https://other.example.com", 1_000),
            Err(TokenRejection::Invalid)
        );
    }

    #[test]
    fn tampered_foreign_and_alg_none_tokens_are_invalid() {
        let keys = SessionKeys::generate().unwrap();
        let token = issue(&keys, &claims(1_000)).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut payload: serde_json::Value =
            serde_json::from_slice(&url.decode(&parts[1]).unwrap()).unwrap();
        payload["role"] = "arn:aws:iam::123456789012:role/Admin".into();
        parts[1] = url.encode(payload.to_string());
        let tampered = parts.join(".");
        let issuer = "https://sso.example.com";
        assert_eq!(
            verify(&keys, &tampered, issuer, 1_000),
            Err(TokenRejection::Invalid)
        );
        let other = SessionKeys::generate().unwrap();
        assert_eq!(
            verify(&other, &token, issuer, 1_000),
            Err(TokenRejection::Invalid)
        );
        let none = format!(
            "{}.{}.",
            url.encode(r#"{"alg":"none","kid":"x"}"#),
            parts[1]
        );
        assert_eq!(
            verify(&keys, &none, issuer, 1_000),
            Err(TokenRejection::Invalid)
        );
        assert_eq!(
            verify(&keys, "not a token", issuer, 1_000),
            Err(TokenRejection::Invalid)
        );
    }
}
