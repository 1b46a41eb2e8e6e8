//! The OpenID Connect relying party: authorization code flow with PKCE, state and nonce,
//! and ID token validation (OIDC Core 3.1.3.7) through the `openidconnect` crate.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AdditionalProviderMetadata, AuthType, AuthorizationCode,
    ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenClaims, IdTokenFields,
    IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl, RequestTokenError, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;
use tokio::sync::Mutex;

use super::{Identity, Protocol, SignInError};
use crate::clock::Clock;
use crate::config::{ClientAuth, IdpConfig, IdpName, Logo, OidcSettings};

/// RFC 7523's client assertion type.
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// What rolegate reads of discovery beyond OIDC Discovery's core fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ExtraMetadata {
    /// OpenID Connect RP-Initiated Logout 1.0.
    end_session_endpoint: Option<EndSessionUrl>,
    /// RFC 9207: the provider adds `iss` to every authorization response.
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

/// Discovery metadata.
type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// How long discovery metadata and the JWKS are trusted before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The shortest time between two fetches caused by tokens naming unknown keys.
const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(60);

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
    /// The `max_age` asked for: the ID token's `auth_time` must be at most this old.
    #[serde(default)]
    max_age: Option<u64>,
}

/// What the person (or the link they followed) asked of the provider, passed on as OIDC
/// Core 3.1.2.1 `prompt` and `max_age`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInOptions {
    /// `prompt` values, each one of `none`, `login`, `consent`, `select_account`.
    pub prompts: Vec<CoreAuthPrompt>,
    /// `max_age` in seconds.
    pub max_age: Option<u64>,
}

/// The largest `max_age` passed on: a year.
const MAX_AGE_LIMIT: u64 = 366 * 24 * 3600;

impl SignInOptions {
    /// Reads `prompt` (space-separated) and `max_age` as given in a query string.
    pub fn parse(prompt: Option<&str>, max_age: Option<&str>) -> Result<Self, SignInError> {
        let mut prompts = Vec::new();
        for value in prompt
            .unwrap_or_default()
            .split(' ')
            .filter(|v| !v.is_empty())
        {
            let prompt = match value {
                "none" => CoreAuthPrompt::None,
                "login" => CoreAuthPrompt::Login,
                "consent" => CoreAuthPrompt::Consent,
                "select_account" => CoreAuthPrompt::SelectAccount,
                _ => return Err(SignInError::BadOption("prompt")),
            };
            if !prompts.contains(&prompt) {
                prompts.push(prompt);
            }
        }
        // OIDC Core 3.1.2.1: `none` stands alone.
        if prompts.contains(&CoreAuthPrompt::None) && prompts.len() > 1 {
            return Err(SignInError::BadOption("prompt"));
        }
        let max_age = match max_age {
            None => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .ok()
                    .filter(|age| *age <= MAX_AGE_LIMIT)
                    .ok_or(SignInError::BadOption("max_age"))?,
            ),
        };
        Ok(Self { prompts, max_age })
    }
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
    metadata: Metadata,
    fetched_at: SystemTime,
    /// When a token with an unknown key last made us fetch before the TTL ran out.
    forced_at: Option<SystemTime>,
}

/// One configured OpenID Provider.
pub struct OidcProvider {
    name: IdpName,
    display_name: String,
    logo: Option<Logo>,
    allowed_email_domains: Vec<String>,
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
    /// The provider `idp` describes, whose callback is `redirect_url`; nothing is fetched
    /// until first use.
    pub fn new(
        idp: &IdpConfig,
        settings: OidcSettings,
        redirect_url: &str,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SignInError> {
        let redirect_url = RedirectUrl::new(redirect_url.to_owned())
            .map_err(|e| SignInError::Discovery(format!("bad redirect URL: {e}")))?;
        Ok(Self {
            name: idp.name.clone(),
            display_name: idp.display_name.clone(),
            logo: idp.logo.clone(),
            allowed_email_domains: idp.allowed_email_domains.clone(),
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

    /// The logo the sign-in page shows, if configured.
    pub fn logo(&self) -> Option<&Logo> {
        self.logo.as_ref()
    }

    /// The claim path that holds the groups.
    pub fn groups_claim(&self) -> &str {
        &self.settings.groups_claim
    }

    /// Discovery metadata (with JWKS), fetched when missing or older than [`METADATA_TTL`].
    async fn metadata(&self) -> Result<Metadata, SignInError> {
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
        let metadata = Metadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| SignInError::Discovery(error_chain(&e)))?;
        let forced_at = cached.as_ref().and_then(|c| c.forced_at);
        *cached = Some(CachedMetadata {
            metadata: metadata.clone(),
            fetched_at: now,
            forced_at,
        });
        Ok(metadata)
    }

    fn client(&self, metadata: Metadata) -> OidcClient {
        let secret = match &self.settings.client_auth {
            ClientAuth::SecretBasic(secret) | ClientAuth::SecretPost(secret) => {
                Some(ClientSecret::new(secret.expose_secret().to_owned()))
            }
            ClientAuth::PrivateKeyJwt(_) => None,
        };
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            secret,
        )
        .set_redirect_uri(self.redirect_url.clone());
        match &self.settings.client_auth {
            ClientAuth::SecretBasic(_) => client,
            // Without a secret, `client_id` goes in the body: what private_key_jwt needs too.
            ClientAuth::SecretPost(_) | ClientAuth::PrivateKeyJwt(_) => {
                client.set_auth_type(AuthType::RequestBody)
            }
        }
    }

    /// Where to send the browser to end its session at the provider too (OpenID Connect
    /// RP-Initiated Logout 1.0), coming back to `return_to`; `None` when the provider does not
    /// advertise an `end_session_endpoint`. The URL names this client, not the person: no ID
    /// token travels in it.
    pub async fn logout_url(&self, return_to: &str) -> Option<String> {
        let metadata = match self.metadata().await {
            Ok(metadata) => metadata,
            Err(e) => {
                tracing::warn!(idp = %self.name, error = %e, "no sign-out at the provider");
                return None;
            }
        };
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(self.settings.client_id.clone()));
        if let Ok(back) = PostLogoutRedirectUrl::new(return_to.to_owned()) {
            request = request.set_post_logout_redirect_uri(back);
        }
        Some(request.http_get_url().to_string())
    }

    /// Starts a sign-in: the URL to send the browser to, and what to remember until the
    /// callback.
    pub async fn begin(
        &self,
        return_to: String,
        options: &SignInOptions,
    ) -> Result<(String, PendingSignIn), SignInError> {
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
        for prompt in &options.prompts {
            request = request.add_prompt(prompt.clone());
        }
        if let Some(max_age) = options.max_age {
            request = request.set_max_age(Duration::from_secs(max_age));
        }
        let (url, state, nonce) = request.url();
        let pending = PendingSignIn {
            idp: self.name.clone(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
            started_at: self.clock.unix_seconds(),
            max_age: options.max_age,
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
        let metadata = self.metadata().await?;
        // RFC 9207 section 2.4, for errors too: `iss` must be the provider's issuer, and must
        // be present when the provider says it sends it.
        let iss_promised = metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported;
        match &callback.iss {
            Some(iss) if iss != metadata.issuer().as_str() => {
                return Err(SignInError::IssuerMismatch);
            }
            None if iss_promised => return Err(SignInError::MissingParameter("iss")),
            _ => {}
        }
        if let Some(error) = &callback.error {
            return Err(SignInError::ProviderRefused(oauth_error_code(error)));
        }
        let code = callback.code.ok_or(SignInError::MissingParameter("code"))?;
        let client = self.client(metadata);
        let mut request = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| SignInError::TokenExchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()));
        if let ClientAuth::PrivateKeyJwt(key) = &self.settings.client_auth {
            // RFC 7523 section 3: the token endpoint is the audience.
            let audience = client.token_uri().map(|uri| uri.as_str()).ok_or_else(|| {
                SignInError::Discovery("the provider has no token endpoint".into())
            })?;
            let assertion = key
                .assertion(
                    &self.settings.client_id,
                    audience,
                    self.clock.unix_seconds(),
                )
                .map_err(|e| SignInError::TokenExchange(format!("client assertion: {e}")))?;
            request = request
                .add_extra_param("client_assertion_type", CLIENT_ASSERTION_TYPE)
                .add_extra_param("client_assertion", assertion);
        }
        let response = request
            .request_async(&self.http)
            .await
            .map_err(|e| token_error(&e))?;
        let nonce = Nonce::new(pending.nonce.clone());
        let max_age = pending.max_age;
        let claims = match self.verify(&client, &response, &nonce, max_age) {
            Err(Rejection::UnknownKey) => {
                // The provider may have rotated its keys since the JWKS was fetched.
                let metadata = self.refetch_for_unknown_key().await?;
                let client = self.client(metadata);
                self.verify(&client, &response, &nonce, max_age)
                    .map_err(Rejection::into_error)?
            }
            verified => verified.map_err(Rejection::into_error)?,
        };
        let mut all = claims_object(&claims)?;
        if self.settings.userinfo {
            self.merge_userinfo(&client, &response, &claims, &mut all)
                .await?;
        }
        let mut identity = Identity::from_claims(
            self.name.clone(),
            Protocol::Oidc,
            claims.issuer().as_str().to_owned(),
            all,
            &self.settings.groups_claim,
            self.clock.unix_seconds(),
        )
        .ok_or_else(|| SignInError::InvalidIdToken("no `sub` claim".into()))?;
        let acr = claims.auth_context_ref().map(|acr| acr.as_str());
        if acr.is_some_and(|acr| self.settings.mfa_acr_values.iter().any(|v| v == acr)) {
            identity.mfa = true;
        }
        identity
            .check_email_domain(&self.allowed_email_domains)
            .map_err(SignInError::NotAllowed)?;
        Ok(identity)
    }

    /// Validates the ID token in `response` (OIDC Core 3.1.3.7 and 3.1.3.8).
    fn verify(
        &self,
        client: &OidcClient,
        response: &OidcTokenResponse,
        nonce: &Nonce,
        max_age: Option<u64>,
    ) -> Result<OidcClaims, Rejection> {
        let id_token = response
            .id_token()
            .ok_or_else(|| Rejection::Invalid("no id_token in the token response".into()))?;
        let (clock, skew) = (self.clock.clone(), self.settings.clock_skew);
        let (issued_clock, auth_clock) = (clock.clone(), clock.clone());
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
            // Extra audiences are judged below, through `azp`.
            .set_other_audience_verifier_fn(|_| true);
        let claims = id_token.claims(&verifier, nonce).map_err(|e| match e {
            ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ) => Rejection::UnknownKey,
            other => Rejection::Invalid(other.to_string()),
        })?;
        // 3.1.3.7 steps 3-5: with several audiences `azp` must be present, and whenever it is
        // present it must be this client.
        let client_id = self.settings.client_id.as_str();
        match claims.authorized_party() {
            Some(azp) if azp.as_str() != client_id => {
                return Err(Rejection::Invalid(format!(
                    "azp `{}` is not this client",
                    azp.as_str()
                )));
            }
            None if claims.audiences().len() > 1 => {
                return Err(Rejection::Invalid(
                    "several audiences and no azp claim".into(),
                ));
            }
            _ => {}
        }
        // 3.1.3.8: at_hash, when present, must match the access token.
        if let Some(expected) = claims.access_token_hash() {
            let invalid = |e: openidconnect::SigningError| Rejection::Invalid(e.to_string());
            let alg = id_token
                .signing_alg()
                .map_err(|e| Rejection::Invalid(e.to_string()))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| Rejection::Invalid(e.to_string()))?;
            let actual =
                AccessTokenHash::from_token(response.access_token(), alg, key).map_err(invalid)?;
            if actual != *expected {
                return Err(Rejection::Invalid(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        Ok(claims.clone())
    }

    /// Fetches discovery and the JWKS again because a token names a key we do not have; at
    /// most once per [`KEY_REFETCH_INTERVAL`], so forged `kid`s cannot make us hammer the
    /// provider.
    async fn refetch_for_unknown_key(&self) -> Result<Metadata, SignInError> {
        let now = self.clock.now();
        {
            let mut cached = self.metadata.lock().await;
            let recent = cached.as_ref().and_then(|c| c.forced_at).is_some_and(|at| {
                now.duration_since(at).unwrap_or_default() < KEY_REFETCH_INTERVAL
            });
            if recent {
                return Err(SignInError::InvalidIdToken(
                    "signed with a key the provider does not publish".into(),
                ));
            }
            if let Some(c) = cached.as_mut() {
                c.forced_at = Some(now);
                // Expire it so that the next call fetches.
                c.fetched_at = now
                    .checked_sub(METADATA_TTL)
                    .unwrap_or(std::time::UNIX_EPOCH);
            }
        }
        let metadata = self.metadata().await?;
        if let Some(c) = self.metadata.lock().await.as_mut() {
            c.forced_at = Some(now);
        }
        Ok(metadata)
    }

    /// Adds the userinfo endpoint's claims the ID token does not have; its `sub` must be the
    /// ID token's (OIDC Core 5.3.2).
    async fn merge_userinfo(
        &self,
        client: &OidcClient,
        response: &OidcTokenResponse,
        claims: &OidcClaims,
        all: &mut serde_json::Map<String, Value>,
    ) -> Result<(), SignInError> {
        let request = client
            .user_info(
                response.access_token().clone(),
                Some(claims.subject().clone()),
            )
            .map_err(|_| {
                SignInError::Discovery(
                    "userinfo is configured but the provider has no userinfo endpoint".into(),
                )
            })?;
        let userinfo: openidconnect::UserInfoClaims<OtherClaims, CoreGenderClaim> = request
            .request_async(&self.http)
            .await
            .map_err(|e| SignInError::InvalidIdToken(format!("userinfo: {}", error_chain(&e))))?;
        let Value::Object(extra) = serde_json::to_value(&userinfo)
            .map_err(|e| SignInError::InvalidIdToken(format!("userinfo: {e}")))?
        else {
            return Err(SignInError::InvalidIdToken(
                "userinfo is not a JSON object".into(),
            ));
        };
        for (name, value) in extra {
            all.entry(name).or_insert(value);
        }
        Ok(())
    }
}

/// Why an ID token was refused.
enum Rejection {
    /// It names a key the cached JWKS does not hold.
    UnknownKey,
    /// Anything else.
    Invalid(String),
}

impl Rejection {
    fn into_error(self) -> SignInError {
        match self {
            Rejection::UnknownKey => SignInError::InvalidIdToken(
                "signed with a key the provider does not publish".into(),
            ),
            Rejection::Invalid(reason) => SignInError::InvalidIdToken(reason),
        }
    }
}

/// The ID token's claims as a JSON object.
fn claims_object(claims: &OidcClaims) -> Result<serde_json::Map<String, Value>, SignInError> {
    match serde_json::to_value(claims) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(SignInError::InvalidIdToken(
            "claims are not a JSON object".into(),
        )),
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
/// tokens). An ID token whose claims do not parse (no `sub`, say) is an invalid ID token.
fn token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse>(
    error: &RequestTokenError<RE, T>,
) -> SignInError {
    match error {
        RequestTokenError::Parse(e, body) if has_id_token(body) => {
            SignInError::InvalidIdToken(format!("unparsable ID token: {}", e.inner()))
        }
        RequestTokenError::ServerResponse(response) => {
            SignInError::TokenExchange(format!("token endpoint error {response}"))
        }
        RequestTokenError::Request(e) => {
            SignInError::TokenExchange(format!("request failed: {}", error_chain(e)))
        }
        RequestTokenError::Parse(e, _) => {
            SignInError::TokenExchange(format!("unparsable token response at {}", e.path()))
        }
        RequestTokenError::Other(message) => SignInError::TokenExchange(message.clone()),
    }
}

/// Whether a token response that did not parse is JSON holding an `id_token` string: then
/// the ID token's claims are what failed to parse.
fn has_id_token(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .is_ok_and(|response| response.get("id_token").is_some_and(Value::is_string))
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
