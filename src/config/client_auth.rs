//! How rolegate authenticates to an OpenID Provider's token endpoint: a client secret (HTTP
//! Basic or in the form body) or `private_key_jwt` (OIDC Core 9, RFC 7523), a short-lived JWT
//! signed with rolegate's own key.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde::Serialize;
use toml::Spanned;

use super::ConfigError;
use super::idp::IdpName;
use super::raw::RawIdp;
use super::source::Source;

/// How long a client assertion is valid.
const ASSERTION_LIFETIME_SECONDS: u64 = 60;

/// A client's credentials at its provider.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// `client_secret_basic`: the secret in an HTTP Basic header.
    SecretBasic(SecretString),
    /// `client_secret_post`: the secret in the form body.
    SecretPost(SecretString),
    /// `private_key_jwt`: a JWT signed with this key.
    PrivateKeyJwt(ClientKey),
}

/// rolegate's signing key for `private_key_jwt` (RSA → RS256, EC P-256 → ES256).
#[derive(Clone)]
pub struct ClientKey {
    key: EncodingKey,
    algorithm: Algorithm,
    kid: Option<String>,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The claims of a client assertion (RFC 7523 section 3).
#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: u64,
    exp: u64,
}

impl ClientKey {
    /// Reads a PEM private key (PKCS#1 or PKCS#8 RSA, or PKCS#8 EC P-256) and checks that it
    /// signs.
    pub fn from_pem(pem: &str, kid: Option<String>) -> Result<Self, String> {
        let candidates = [
            (Algorithm::RS256, EncodingKey::from_rsa_pem(pem.as_bytes())),
            (Algorithm::ES256, EncodingKey::from_ec_pem(pem.as_bytes())),
        ];
        for (algorithm, key) in candidates {
            let Ok(key) = key else { continue };
            let key = Self {
                key,
                algorithm,
                kid: kid.clone(),
            };
            if key
                .assertion("probe", "https://probe.invalid/token", 0)
                .is_ok()
            {
                return Ok(key);
            }
        }
        Err("not a PEM RSA or EC P-256 private key".into())
    }

    /// A client assertion for `client_id` at token endpoint `audience`, issued at `now`
    /// (Unix seconds).
    pub fn assertion(&self, client_id: &str, audience: &str, now: u64) -> Result<String, String> {
        let mut header = Header::new(self.algorithm);
        header.kid = self.kid.clone();
        let claims = Assertion {
            iss: client_id,
            sub: client_id,
            aud: audience,
            jti: format!("{:032x}", rand::random::<u128>()),
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECONDS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| e.to_string())
    }
}

impl Source<'_> {
    pub(super) fn client_auth(
        &self,
        raw: &RawIdp,
        name: &IdpName,
        key: &dyn Fn(&str) -> String,
    ) -> Result<ClientAuth, ConfigError> {
        let method = raw.client_auth.as_ref();
        match method.map(|m| m.get_ref().as_str()) {
            None | Some("client_secret_basic") => {
                self.client_secret(raw, name, key).map(ClientAuth::SecretBasic)
            }
            Some("client_secret_post") => {
                self.client_secret(raw, name, key).map(ClientAuth::SecretPost)
            }
            Some("private_key_jwt") => self
                .client_key(raw, name, key)
                .map(ClientAuth::PrivateKeyJwt),
            Some(other) => Err(self.invalid(
                method.map_or_else(|| raw.name.span(), Spanned::span),
                &key("client_auth"),
                format!(
                    "`{other}` is not one of client_secret_basic, client_secret_post, private_key_jwt"
                ),
            )),
        }
    }

    fn client_secret(
        &self,
        raw: &RawIdp,
        name: &IdpName,
        key: &dyn Fn(&str) -> String,
    ) -> Result<SecretString, ConfigError> {
        if let Some(file) = &raw.client_secret_file {
            return self
                .secret_file(&key("client_secret_file"), file)
                .map(SecretString::from);
        }
        let env_name = raw.client_secret_env.as_ref().map_or_else(
            || format!("ROLEGATE_IDP_{}_CLIENT_SECRET", name.env_suffix()),
            |e| e.get_ref().clone(),
        );
        let span = raw
            .client_secret_env
            .as_ref()
            .map_or_else(|| raw.name.span(), Spanned::span);
        self.env(&env_name).map(SecretString::from).ok_or_else(|| {
            let reason = format!(
                "no client secret: set the environment variable `{env_name}` or `client_secret_file`"
            );
            self.invalid(span, &key("client_secret_env"), reason)
        })
    }

    /// The key from `private_key_file`, else from `ROLEGATE_IDP_<NAME>_PRIVATE_KEY` (PEM).
    fn client_key(
        &self,
        raw: &RawIdp,
        name: &IdpName,
        key: &dyn Fn(&str) -> String,
    ) -> Result<ClientKey, ConfigError> {
        let kid = raw.private_key_id.as_ref().map(|k| k.get_ref().clone());
        if let Some(file) = &raw.private_key_file {
            let pem = self.secret_file(&key("private_key_file"), file)?;
            return ClientKey::from_pem(&pem, kid)
                .map_err(|reason| self.invalid(file.span(), &key("private_key_file"), reason));
        }
        let env_name = format!("ROLEGATE_IDP_{}_PRIVATE_KEY", name.env_suffix());
        let span = raw
            .client_auth
            .as_ref()
            .map_or_else(|| raw.name.span(), Spanned::span);
        let pem = self.env(&env_name).ok_or_else(|| {
            let reason = format!(
                "private_key_jwt needs a key: set `private_key_file` or the environment variable `{env_name}`"
            );
            self.invalid(span.clone(), &key("private_key_file"), reason)
        })?;
        ClientKey::from_pem(&pem, kid).map_err(|reason| {
            self.invalid(
                span,
                &key("private_key_file"),
                format!("`{env_name}`: {reason}"),
            )
        })
    }
}
