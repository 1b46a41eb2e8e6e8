//! The key material of role sessions, all from the operator's ES256 keys
//! (`[keys] session_signing_key_file`, one or more PKCS#8 PEM blocks; the first signs, all
//! verify, so keys rotate by prepending a new one and dropping the old after 12 hours).
//!
//! Each key also derives, with HMAC-SHA256, the secret access keys of the sessions it signs:
//! `secret = base64(HMAC(derivation key, access key id))`. Any instance holding the keys can
//! therefore check a SigV4 signature without shared state and without storing a secret; a
//! stored secret would put every live credential in Redis for anyone who can read it.

use std::collections::BTreeMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::error::KeyError;

type HmacSha256 = Hmac<Sha256>;

/// What the derivation key of a signing key is the HMAC of.
const DERIVATION_LABEL: &[u8] = b"rolegate sts secret-access-key v1";

/// One ES256 key: its id, what it signs and verifies with, and the key it derives secrets with.
struct SessionKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The public key as a JWK (RFC 7517), for `/.well-known/jwks.json`.
    jwk: serde_json::Value,
    derivation: SecretString,
}

/// Every session key, the signing one first.
pub struct SessionKeys {
    keys: Vec<SessionKey>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("SessionKeys").field("kids", &kids).finish()
    }
}

impl SessionKeys {
    /// The keys in `pem` (one or more `PRIVATE KEY` blocks, EC P-256, PKCS#8).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let blocks = pem_blocks(pem);
        if blocks.is_empty() {
            return Err(KeyError::NoKey);
        }
        let keys = blocks
            .iter()
            .enumerate()
            .map(|(index, block)| {
                let secret =
                    p256::SecretKey::from_pkcs8_pem(block).map_err(|e| KeyError::NotP256 {
                        index,
                        reason: e.to_string(),
                    })?;
                SessionKey::new(&secret)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { keys })
    }

    /// A fresh key, for `rolegate demo` (sessions end with the process).
    pub fn generate() -> Result<Self, KeyError> {
        let secret = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        Ok(Self {
            keys: vec![SessionKey::new(&secret)?],
        })
    }

    /// The public keys as a JWK set.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<&serde_json::Value> = self.keys.iter().map(|k| &k.jwk).collect();
        serde_json::json!({ "keys": keys })
    }

    /// The id and encoding key that sign new session tokens.
    pub(super) fn signer(&self) -> Option<(&str, &EncodingKey)> {
        self.keys.first().map(|k| (k.kid.as_str(), &k.encoding))
    }

    /// The decoding key with id `kid`.
    pub(super) fn verifier(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.iter().find(|k| k.kid == kid).map(|k| &k.decoding)
    }

    /// The secret access key of `access_key_id` in a session signed by `kid`: 40
    /// characters of base64, as AWS's secrets are.
    pub(super) fn secret_for(&self, kid: &str, access_key_id: &str) -> Option<SecretString> {
        let key = self.keys.iter().find(|k| k.kid == kid)?;
        let mac = hmac_sha256(
            key.derivation.expose_secret().as_bytes(),
            access_key_id.as_bytes(),
        )?;
        let secret = base64::engine::general_purpose::STANDARD.encode(mac.get(..30)?);
        Some(SecretString::from(secret))
    }
}

impl SessionKey {
    fn new(secret: &p256::SecretKey) -> Result<Self, KeyError> {
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| KeyError::Encoding(e.to_string()))?;
        let public = secret.public_key();
        let public_pem = p256::pkcs8::EncodePublicKey::to_public_key_pem(&public, LineEnding::LF)
            .map_err(|e| KeyError::Encoding(e.to_string()))?;
        let point = public.to_encoded_point(false);
        let (Some(x), Some(y)) = (point.x(), point.y()) else {
            return Err(KeyError::Encoding("the public key is the identity".into()));
        };
        let url = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        // RFC 7638 thumbprint: the SHA-256 of the required members in lexicographic order.
        let thumbprint_input: BTreeMap<&str, String> = [
            ("crv", "P-256".to_owned()),
            ("kty", "EC".to_owned()),
            ("x", url(x)),
            ("y", url(y)),
        ]
        .into();
        let canonical = serde_json::to_string(&thumbprint_input)
            .map_err(|e| KeyError::Encoding(e.to_string()))?;
        let kid = url(&Sha256::digest(canonical.as_bytes()));
        let scalar = secret.to_bytes();
        let scalar: &[u8] = &scalar;
        let derivation = hmac_sha256(scalar, DERIVATION_LABEL)
            .ok_or_else(|| KeyError::Encoding("HMAC refused the key".into()))?;
        Ok(Self {
            jwk: serde_json::json!({
                "kty": "EC", "crv": "P-256", "x": url(x), "y": url(y),
                "kid": kid, "alg": "ES256", "use": "sig",
            }),
            kid,
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            decoding: DecodingKey::from_ec_pem(public_pem.as_bytes())
                .map_err(|e| KeyError::Encoding(e.to_string()))?,
            derivation: SecretString::from(url(&derivation)),
        })
    }
}

/// HMAC-SHA256; `None` only if the HMAC implementation refused the key, which it does for no
/// length.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).ok()?;
    mac.update(message);
    Some(mac.finalize().into_bytes().to_vec())
}

/// The `-----BEGIN … PRIVATE KEY-----` blocks of `pem`, each with its end line.
fn pem_blocks(pem: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in pem.lines() {
        let line = line.trim();
        if line.starts_with("-----BEGIN ") {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
        if line.starts_with("-----END ")
            && let Some(block) = current.take()
        {
            blocks.push(block);
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem() -> String {
        let secret = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        secret.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
    }

    #[test]
    fn the_first_key_signs_and_every_key_derives_its_own_secrets() {
        let (old, new) = (pem(), pem());
        let keys = SessionKeys::from_pem(&format!("{new}{old}")).unwrap();
        let old_only = SessionKeys::from_pem(&old).unwrap();
        let (signer, _) = keys.signer().unwrap();
        let (old_kid, _) = old_only.signer().unwrap();
        assert_ne!(signer, old_kid);
        assert_eq!(keys.jwks()["keys"].as_array().unwrap().len(), 2);
        let secret = keys.secret_for(old_kid, "ASIAEXAMPLE234567ABC").unwrap();
        assert_eq!(secret.expose_secret().len(), 40);
        assert_eq!(
            secret.expose_secret(),
            old_only
                .secret_for(old_kid, "ASIAEXAMPLE234567ABC")
                .unwrap()
                .expose_secret(),
            "the same key derives the same secret on every instance"
        );
        assert_ne!(
            secret.expose_secret(),
            keys.secret_for(signer, "ASIAEXAMPLE234567ABC")
                .unwrap()
                .expose_secret()
        );
        assert!(keys.secret_for("unknown", "ASIAX").is_none());
    }

    #[test]
    fn a_file_without_a_p256_key_is_refused() {
        assert!(matches!(
            SessionKeys::from_pem("nothing"),
            Err(KeyError::NoKey)
        ));
        let rsa_like = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
        assert!(matches!(
            SessionKeys::from_pem(rsa_like),
            Err(KeyError::NotP256 { index: 0, .. })
        ));
    }
}
