//! ID token validation: OIDC Core 3.1.3.7 and 3.1.3.8, on top of what `openidconnect`'s
//! verifier checks (signature against the JWKS, `iss`, `aud`, `exp`, `nonce`).

use std::time::Duration;

use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{
    AccessTokenHash, ClaimsVerificationError, Nonce, OAuth2TokenResponse,
    SignatureVerificationError, TokenResponse,
};
use serde_json::Value;

use super::OidcProvider;
use super::types::{OidcClaims, OidcClient, OidcIdToken, OidcTokenResponse};
use crate::idp::SignInError;

/// Signature algorithms accepted on ID tokens. `none` and the HMAC family are never
/// accepted: an HS* token "signed" with a public key must not verify.
const ACCEPTED_ALGORITHMS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// What an ID token is checked against besides the provider's keys and issuer.
pub(super) struct Expectations<'a> {
    /// The nonce the sign-in sent; `None` for a web identity token, which has none to match.
    pub(super) nonce: Option<&'a Nonce>,
    /// The `max_age` the sign-in asked for.
    pub(super) max_age: Option<u64>,
    /// Audiences accepted besides our client id (an account's extra client ids).
    pub(super) extra_audiences: &'a [String],
    /// The access token issued with the ID token, for `at_hash`.
    pub(super) access_token: Option<&'a openidconnect::AccessToken>,
}

impl OidcProvider {
    /// Validates the ID token in `response` (OIDC Core 3.1.3.7 and 3.1.3.8).
    pub(super) fn verify(
        &self,
        client: &OidcClient,
        response: &OidcTokenResponse,
        nonce: &Nonce,
        max_age: Option<u64>,
    ) -> Result<OidcClaims, Rejection> {
        let id_token = response
            .id_token()
            .ok_or_else(|| Rejection::Invalid("no id_token in the token response".into()))?;
        let expect = Expectations {
            nonce: Some(nonce),
            max_age,
            extra_audiences: &[],
            access_token: Some(response.access_token()),
        };
        self.verify_id_token(client, id_token, &expect)
    }

    /// Validates `id_token` as OIDC Core 3.1.3.7 asks, against `expect`.
    pub(super) fn verify_id_token(
        &self,
        client: &OidcClient,
        id_token: &OidcIdToken,
        expect: &Expectations<'_>,
    ) -> Result<OidcClaims, Rejection> {
        let (clock, skew) = (self.clock.clone(), self.settings.clock_skew);
        let (issued_clock, auth_clock) = (clock.clone(), clock.clone());
        let max_age = expect.max_age;
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(ACCEPTED_ALGORITHMS)
            // `exp` may have passed by up to the skew.
            .set_time_fn(move || chrono::DateTime::<chrono::Utc>::from(clock.now() - skew))
            // `iat` may lie in the future by up to the skew, no more.
            .set_issue_time_verifier_fn(move |iat| {
                let latest = chrono::DateTime::<chrono::Utc>::from(issued_clock.now() + skew);
                if iat > latest {
                    Err(format!("issued in the future ({iat})"))
                } else {
                    Ok(())
                }
            })
            // 3.1.3.7 step 13: after `max_age`, `auth_time` is required and must be recent.
            .set_auth_time_verifier_fn(move |auth_time| {
                let Some(max_age) = max_age else {
                    return Ok(());
                };
                let auth_time =
                    auth_time.ok_or("max_age was requested but auth_time is missing")?;
                let oldest = chrono::DateTime::<chrono::Utc>::from(
                    auth_clock.now() - skew - Duration::from_secs(max_age),
                );
                if auth_time < oldest {
                    Err(format!(
                        "authenticated at {auth_time}, longer ago than max_age {max_age} s"
                    ))
                } else {
                    Ok(())
                }
            })
            // Audiences are judged below, against our client id and the extra ones.
            .require_audience_match(false);
        let nonce = expect.nonce;
        let checked = id_token.claims(&verifier, |sent: Option<&Nonce>| match nonce {
            None => Ok(()),
            // openidconnect's own check, in constant time.
            Some(expected) => openidconnect::NonceVerifier::verify(expected, sent),
        });
        let claims = checked.map_err(|e| match e {
            ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ) => Rejection::UnknownKey,
            ClaimsVerificationError::Expired(reason) => Rejection::Expired(reason),
            other => Rejection::Invalid(other.to_string()),
        })?;
        self.check_audiences(claims, expect.extra_audiences)?;
        // 3.1.3.8: at_hash, when present, must match the access token.
        if let (Some(expected), Some(access_token)) =
            (claims.access_token_hash(), expect.access_token)
        {
            let invalid = |e: openidconnect::SigningError| Rejection::Invalid(e.to_string());
            let alg = id_token
                .signing_alg()
                .map_err(|e| Rejection::Invalid(e.to_string()))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| Rejection::Invalid(e.to_string()))?;
            let actual = AccessTokenHash::from_token(access_token, alg, key).map_err(invalid)?;
            if actual != *expected {
                return Err(Rejection::Invalid(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        Ok(claims.clone())
    }

    /// 3.1.3.7 steps 3-5: `aud` must contain an accepted audience (our client id, or one of
    /// `extra`); with several audiences `azp` must be present, and whenever it is present it
    /// must be an accepted audience.
    fn check_audiences(&self, claims: &OidcClaims, extra: &[String]) -> Result<(), Rejection> {
        let client_id = self.settings.client_id.as_str();
        let accepted =
            |audience: &str| audience == client_id || extra.iter().any(|e| e == audience);
        let audiences = claims.audiences();
        if !audiences.iter().any(|a| accepted(a.as_str())) {
            return Err(Rejection::Invalid(
                "aud names none of our client ids".into(),
            ));
        }
        match claims.authorized_party() {
            Some(azp) if !accepted(azp.as_str()) => Err(Rejection::Invalid(format!(
                "azp `{}` is not this client",
                azp.as_str()
            ))),
            None if audiences.len() > 1 => Err(Rejection::Invalid(
                "several audiences and no azp claim".into(),
            )),
            _ => Ok(()),
        }
    }
}

/// Why an ID token was refused.
pub(super) enum Rejection {
    /// It names a key the cached JWKS does not hold.
    UnknownKey,
    /// It is past its `exp` (and the skew).
    Expired(String),
    /// Anything else.
    Invalid(String),
}

impl Rejection {
    pub(super) fn into_error(self) -> SignInError {
        match self {
            Rejection::UnknownKey => SignInError::InvalidIdToken(
                "signed with a key the provider does not publish".into(),
            ),
            Rejection::Expired(reason) => SignInError::ExpiredIdToken(reason),
            Rejection::Invalid(reason) => SignInError::InvalidIdToken(reason),
        }
    }
}

/// Claims (the ID token's, or userinfo's) as a JSON object.
pub(super) fn claims_object(
    claims: &impl serde::Serialize,
) -> Result<serde_json::Map<String, Value>, SignInError> {
    match serde_json::to_value(claims) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(SignInError::InvalidIdToken(
            "claims are not a JSON object".into(),
        )),
    }
}
