//! The OpenID Connect relying party: authorization code flow with PKCE, state and nonce
//! (`request`), discovery and keys (`discovery`), ID token validation per OIDC Core 3.1.3.7
//! (`verify`), through the `openidconnect` crate.

mod discovery;
mod errors;
mod request;
mod types;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use openidconnect::core::{CoreAuthenticationFlow, CoreGenderClaim};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, RedirectUrl,
    Scope,
};
use secrecy::ExposeSecret;
use serde_json::Value;

pub use request::{Callback, PendingSignIn, SignInOptions};

use self::discovery::MetadataCache;
use self::errors::{error_chain, oauth_error_code, token_error};
use self::types::{Metadata, OidcClaims, OidcClient, OidcIdToken, OidcTokenResponse, OtherClaims};
use self::verify::{Expectations, Rejection, claims_object};
use super::{Identity, Protocol, SignInError};
use crate::clock::Clock;
use crate::config::{ClientAuth, IdpConfig, IdpName, Logo, OidcSettings};

/// RFC 7523's client assertion type.
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// One configured OpenID Provider.
pub struct OidcProvider {
    name: IdpName,
    display_name: String,
    logo: Option<Logo>,
    allowed_email_domains: Vec<String>,
    trust_email: bool,
    settings: OidcSettings,
    redirect_url: RedirectUrl,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// How long one discovery (metadata and keys) may take.
    timeout: Duration,
    metadata: MetadataCache,
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
    /// The provider `idp` describes, whose callback is `redirect_url`, reached through
    /// `http` within `timeout`; nothing is fetched until first use.
    pub fn new(
        idp: &IdpConfig,
        settings: OidcSettings,
        redirect_url: &str,
        (http, timeout): (reqwest::Client, Duration),
        clock: Arc<dyn Clock>,
    ) -> Result<Self, SignInError> {
        let redirect_url = RedirectUrl::new(redirect_url.to_owned())
            .map_err(|e| SignInError::Discovery(format!("bad redirect URL: {e}")))?;
        Ok(Self {
            name: idp.name.clone(),
            display_name: idp.display_name.clone(),
            logo: idp.logo.clone(),
            allowed_email_domains: idp.allowed_email_domains.clone(),
            trust_email: idp.trust_email,
            settings,
            redirect_url,
            http,
            clock,
            timeout,
            metadata: MetadataCache::default(),
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

    /// The issuer as configured (every token's `iss`).
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// rolegate's client id at the provider (the ID token's `aud`).
    pub fn client_id(&self) -> &str {
        &self.settings.client_id
    }

    /// Whether every email address it sends counts as verified.
    pub fn trusts_email(&self) -> bool {
        self.trust_email
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
        let identity = self.identity(&claims, all)?;
        identity
            .check_email_domain(&self.allowed_email_domains)
            .map_err(SignInError::NotAllowed)?;
        Ok(identity)
    }

    /// Validates a web identity token (`AssumeRoleWithWebIdentity`) exactly as a sign-in's
    /// ID token is validated, except that there is no nonce to match and no access token
    /// for `at_hash`. The accepted audiences are our client id and `extra_audiences`.
    /// `allowed_email_domains` is a sign-in rule and does not apply: workloads have no email.
    pub async fn verify_web_identity(
        &self,
        token: &str,
        extra_audiences: &[String],
    ) -> Result<Identity, SignInError> {
        let id_token: OidcIdToken = token
            .parse()
            .map_err(|_| SignInError::InvalidIdToken("not a signed JWT".into()))?;
        let expect = Expectations {
            nonce: None,
            max_age: None,
            extra_audiences,
            access_token: None,
        };
        let client = self.client(self.metadata().await?);
        let claims = match self.verify_id_token(&client, &id_token, &expect) {
            Err(Rejection::UnknownKey) => {
                let client = self.client(self.refetch_for_unknown_key().await?);
                self.verify_id_token(&client, &id_token, &expect)
                    .map_err(Rejection::into_error)?
            }
            verified => verified.map_err(Rejection::into_error)?,
        };
        let all = claims_object(&claims)?;
        self.identity(&claims, all)
    }

    /// The identity verified `claims` (all of them in `all`) describe.
    fn identity(
        &self,
        claims: &OidcClaims,
        all: serde_json::Map<String, Value>,
    ) -> Result<Identity, SignInError> {
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
        if self.trust_email {
            identity.trust_email();
        }
        Ok(identity)
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
        for (name, value) in claims_object(&userinfo)? {
            all.entry(name).or_insert(value);
        }
        Ok(())
    }
}
