//! The OpenID Connect relying party: authorization code flow with PKCE, state and nonce,
//! and ID token validation (OIDC Core 3.1.3.7) through the `openidconnect` crate.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenClaims,
    IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, Scope, StandardErrorResponse, StandardTokenResponse,
    TokenResponse,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use super::{Identity, Protocol, SignInError};
use crate::clock::Clock;
use crate::config::{IdpName, OidcSettings};

/// How long discovery metadata and the JWKS are trusted before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);

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

/// Every claim that is not a standard OIDC claim (groups, roles, custom attributes).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OtherClaims {
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

impl AdditionalClaims for OtherClaims {}

type OidcClaims = IdTokenClaims<OtherClaims, CoreGenderClaim>;
type OidcTokenFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type OidcTokenResponse = StandardTokenResponse<OidcTokenFields, CoreTokenType>;
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    OidcTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A sign-in this browser started and has not finished; kept in the browser session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// The provider it was started with.
    pub idp: IdpName,
    /// The `state` sent to the provider.
    pub state: String,
    nonce: String,
    pkce_verifier: String,
    /// Where to go once signed in: a same-origin relative path.
    pub return_to: String,
    /// When it started (Unix seconds).
    pub started_at: u64,
}

impl PendingSignIn {
    /// Whether `state` is this sign-in's, compared in constant time.
    pub fn has_state(&self, state: &str) -> bool {
        self.state.as_bytes().ct_eq(state.as_bytes()).into()
    }
}

/// What the provider sent back to the redirect URI.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` we sent.
    pub state: Option<String>,
    /// RFC 9207 issuer identification.
    pub iss: Option<String>,
    /// An OAuth error code instead of a code.
    pub error: Option<String>,
}

struct CachedMetadata {
    metadata: CoreProviderMetadata,
    fetched_at: SystemTime,
}

/// One configured OpenID Provider.
pub struct OidcProvider {
    name: IdpName,
    display_name: String,
    settings: OidcSettings,
    redirect_url: RedirectUrl,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    metadata: Mutex<Option<CachedMetadata>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("name", &self.name)
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// A provider whose callback is `redirect_url`; nothing is fetched until first use.
    pub fn new(
        name: IdpName,
        display_name: String,
        settings: OidcSettings,
        redirect_url: &str,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SignInError> {
        let redirect_url = RedirectUrl::new(redirect_url.to_owned())
            .map_err(|e| SignInError::Discovery(format!("bad redirect URL: {e}")))?;
        Ok(Self {
            name,
            display_name,
            settings,
            redirect_url,
            http,
            clock,
            metadata: Mutex::new(None),
        })
    }

    /// The configured name.
    pub fn name(&self) -> &IdpName {
        &self.name
    }

    /// What the sign-in page shows.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The claim path that holds the groups.
    pub fn groups_claim(&self) -> &str {
        &self.settings.groups_claim
    }

    /// Discovery metadata (with JWKS), fetched when missing or older than [`METADATA_TTL`].
    async fn metadata(&self) -> Result<CoreProviderMetadata, SignInError> {
        let now = self.clock.now();
        let mut cached = self.metadata.lock().await;
        if let Some(c) = cached.as_ref() {
            let age = now.duration_since(c.fetched_at).unwrap_or_default();
            if age < METADATA_TTL {
                return Ok(c.metadata.clone());
            }
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|e| SignInError::Discovery(format!("issuer: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| SignInError::Discovery(error_chain(&e)))?;
        *cached = Some(CachedMetadata {
            metadata: metadata.clone(),
            fetched_at: now,
        });
        Ok(metadata)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> OidcClient {
        OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(
                self.settings.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect_url.clone())
    }

    /// Starts a sign-in: the URL to send the browser to, and what to remember until the
    /// callback.
    pub async fn begin(&self, return_to: String) -> Result<(String, PendingSignIn), SignInError> {
        let client = self.client(self.metadata().await?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in self.settings.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let pending = PendingSignIn {
            idp: self.name.clone(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
            started_at: self.clock.unix_seconds(),
        };
        Ok((url.to_string(), pending))
    }

    /// Completes a sign-in: checks the callback against `pending`, redeems the code and
    /// validates the ID token.
    pub async fn finish(
        &self,
        pending: PendingSignIn,
        callback: Callback,
    ) -> Result<Identity, SignInError> {
        let state = callback
            .state
            .as_deref()
            .ok_or(SignInError::MissingParameter("state"))?;
        if !pending.has_state(state) {
            return Err(SignInError::StateMismatch);
        }
        if let Some(error) = &callback.error {
            return Err(SignInError::ProviderRefused(oauth_error_code(error)));
        }
        let metadata = self.metadata().await?;
        // RFC 9207 section 2.4: when `iss` is present it must be the provider's issuer.
        if callback
            .iss
            .as_ref()
            .is_some_and(|iss| iss != metadata.issuer().as_str())
        {
            return Err(SignInError::IssuerMismatch);
        }
        let code = callback.code.ok_or(SignInError::MissingParameter("code"))?;
        let client = self.client(metadata);
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| SignInError::TokenExchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| SignInError::TokenExchange(describe_token_error(&e)))?;
        let id_token = response.id_token().ok_or_else(|| {
            SignInError::TokenExchange("no id_token in the token response".into())
        })?;
        let clock = self.clock.clone();
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(ACCEPTED_ALGORITHMS)
            .set_time_fn(move || chrono::DateTime::<chrono::Utc>::from(clock.now()));
        let claims = id_token
            .claims(&verifier, &Nonce::new(pending.nonce.clone()))
            .map_err(|e| SignInError::InvalidIdToken(e.to_string()))?;
        // OIDC Core 3.1.3.8: at_hash, when present, must match the access token.
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(|e| SignInError::InvalidIdToken(e.to_string()))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| SignInError::InvalidIdToken(e.to_string()))?;
            let actual = AccessTokenHash::from_token(response.access_token(), alg, key)
                .map_err(|e| SignInError::InvalidIdToken(e.to_string()))?;
            if actual != *expected {
                return Err(SignInError::InvalidIdToken(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        self.identity(claims)
    }

    fn identity(&self, claims: &OidcClaims) -> Result<Identity, SignInError> {
        let all = match serde_json::to_value(claims) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(SignInError::InvalidIdToken(
                    "claims are not a JSON object".into(),
                ));
            }
        };
        Identity::from_claims(
            self.name.clone(),
            Protocol::Oidc,
            claims.issuer().as_str().to_owned(),
            all,
            &self.settings.groups_claim,
            self.clock.unix_seconds(),
        )
        .ok_or_else(|| SignInError::InvalidIdToken("no `sub` claim".into()))
    }
}

/// An OAuth error code reduced to the characters RFC 6749 allows, so nothing the provider
/// (or an attacker) put in the URL is echoed verbatim.
fn oauth_error_code(error: &str) -> String {
    error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(64)
        .collect()
}

/// The token endpoint's complaint, without echoing its response body (which could hold
/// tokens).
fn describe_token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse>(
    error: &RequestTokenError<RE, T>,
) -> String {
    match error {
        RequestTokenError::ServerResponse(response) => format!("token endpoint error {response}"),
        RequestTokenError::Request(e) => format!("request failed: {}", error_chain(e)),
        RequestTokenError::Parse(e, _) => format!("unparsable token response at {}", e.path()),
        RequestTokenError::Other(message) => message.clone(),
    }
}

/// An error and its sources, joined with `: `.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
