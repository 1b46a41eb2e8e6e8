//! The built-in OpenID Provider of `rolegate demo`: discovery, JWKS, an authorize page that
//! offers three sample people, and a token endpoint. The broker signs in through it with the
//! same relying-party code as any real provider. `serve` never mounts it.
//!
//! Keys and the client secret are generated at start and live only in memory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use openidconnect::core::{
    CoreClientAuthMethod, CoreEdDsaPrivateSigningKey, CoreGenderClaim, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AccessToken, AdditionalClaims, Audience, AuthUrl, AuthenticationMethodReference,
    AuthorizationCode, EmptyAdditionalProviderMetadata, EndUserEmail, EndUserName, IdToken,
    IdTokenClaims, IssuerUrl, JsonWebKeyId, JsonWebKeySetUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, PrivateSigningKey, ResponseTypes, Scope, StandardClaims, SubjectIdentifier,
    TokenUrl,
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::demo_saml::DemoSamlIdp;
use crate::clock::Clock;
use crate::config::{
    Admin, AtIdp, ClientAuth, Config, IdpConfig, IdpName, IdpProtocol, Keys, Limits, OidcSettings,
    PublicUrl, SessionCookie, StoreSpec,
};
use crate::store::{OneTimePurpose, OneTimeStore, StoreError};

/// Where the demo provider is mounted.
pub const MOUNT: &str = "/demo-idp";
/// The broker's client id at the demo provider.
pub const CLIENT_ID: &str = "rolegate-demo";
/// The name of the demo provider in `/login/{idp}`.
pub const IDP_NAME: &str = "demo";
/// How long an authorization code may wait to be redeemed.
const CODE_TTL: Duration = Duration::from_secs(60);
/// How long issued ID tokens are valid.
const TOKEN_TTL: Duration = Duration::from_secs(300);

/// One sample person the authorize page offers.
#[derive(Debug)]
pub struct DemoPerson {
    /// The `sub` claim.
    pub subject: &'static str,
    /// Full name.
    pub name: &'static str,
    /// Email address.
    pub email: &'static str,
    /// Group memberships (the `groups` claim).
    pub groups: &'static [&'static str],
    /// Whether the person signs in with a second factor (`amr` includes `mfa`).
    pub mfa: bool,
    /// One line about who they are, for the authorize page.
    pub about: &'static str,
    /// Role ARNs the SAML face asserts in AWS's `Role` attribute.
    pub saml_roles: &'static [&'static str],
}

/// The people a newcomer can sign in as.
pub const PEOPLE: [DemoPerson; 3] = [
    DemoPerson {
        subject: "demo-alice",
        name: "Alice Admin",
        email: "alice@example.com",
        groups: &[
            "rolegate-admins",
            "platform-engineers",
            "aws-345678901234-ReadOnly",
        ],
        mfa: true,
        about: "Platform administrator, signs in with a security key",
        saml_roles: &[],
    },
    DemoPerson {
        subject: "demo-bob",
        name: "Bob Builder",
        email: "bob@example.com",
        groups: &[
            "developers",
            "AWS_staging_ReadOnly",
            "aws-123456789012-Developer",
        ],
        mfa: true,
        about: "Developer, signs in with a one-time code",
        saml_roles: &[
            "arn:aws:iam::123456789012:role/Developer",
            "arn:aws:iam::234567890123:role/ReadOnly",
        ],
    },
    DemoPerson {
        subject: "demo-carol",
        name: "Carol Contractor",
        email: "carol@contractors.example.net",
        groups: &["contractors", "aws-345678901234-ReadOnly"],
        mfa: false,
        about: "Contractor, password only (no MFA)",
        saml_roles: &[],
    },
];

/// Why a demo provider request was refused, with its OAuth 2.0 error code.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// RFC 6749 `invalid_request`.
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// RFC 6749 `invalid_client`.
    #[error("invalid_client: unknown client or wrong secret")]
    InvalidClient,
    /// RFC 6749 `invalid_grant`.
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    /// RFC 6749 `unsupported_grant_type`.
    #[error("unsupported_grant_type: only authorization_code")]
    UnsupportedGrantType,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing the ID token failed.
    #[error("server_error: {0}")]
    Signing(String),
}

impl DemoError {
    /// The OAuth 2.0 error code.
    pub fn code(&self) -> &'static str {
        match self {
            DemoError::InvalidRequest(_) => "invalid_request",
            DemoError::InvalidClient => "invalid_client",
            DemoError::InvalidGrant(_) => "invalid_grant",
            DemoError::UnsupportedGrantType => "unsupported_grant_type",
            DemoError::Store(_) | DemoError::Signing(_) => "server_error",
        }
    }
}

/// An authorization request, as the authorize page receives it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    /// Must be `code`.
    pub response_type: String,
    /// Must be [`CLIENT_ID`].
    pub client_id: String,
    /// Must be the broker's callback.
    pub redirect_uri: String,
    /// Must include `openid`.
    pub scope: String,
    /// Echoed back.
    pub state: Option<String>,
    /// Copied into the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge (required).
    pub code_challenge: Option<String>,
    /// Must be `S256`.
    pub code_challenge_method: Option<String>,
}

/// A token request (RFC 6749 section 4.1.3).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenRequest {
    /// Must be `authorization_code`.
    pub grant_type: String,
    /// The code from the redirect.
    pub code: Option<String>,
    /// Must equal the authorization request's.
    pub redirect_uri: Option<String>,
    /// PKCE verifier.
    pub code_verifier: Option<String>,
    /// For `client_secret_post`.
    pub client_id: Option<String>,
    /// For `client_secret_post`.
    pub client_secret: Option<String>,
}

/// What an authorization code stands for until it is redeemed.
#[derive(Debug, Serialize, Deserialize)]
struct CodeGrant {
    subject: String,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: String,
    auth_time: u64,
}

/// The token endpoint's successful answer.
#[derive(Debug, Serialize)]
pub struct TokenAnswer {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    id_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DemoClaims {
    groups: Vec<String>,
}

impl AdditionalClaims for DemoClaims {}

/// The running demo provider.
pub struct DemoProvider {
    name: IdpName,
    issuer: String,
    redirect_uri: String,
    client_secret: SecretString,
    signing_key: CoreEdDsaPrivateSigningKey,
    jwks: CoreJsonWebKeySet,
    metadata: CoreProviderMetadata,
    codes: Arc<dyn OneTimeStore>,
    clock: Arc<dyn Clock>,
    /// The provider's SAML face.
    pub saml: DemoSamlIdp,
}

impl std::fmt::Debug for DemoProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoProvider")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl DemoProvider {
    /// A provider at `{public_url}/demo-idp` with a fresh Ed25519 key and client secret.
    pub fn new(
        public_url: &PublicUrl,
        codes: Arc<dyn OneTimeStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, DemoError> {
        let issuer = public_url.join(MOUNT);
        let mut seed = [0_u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let pem = ed25519_dalek::SigningKey::from_bytes(&seed)
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| DemoError::Signing(e.to_string()))?;
        let kid = JsonWebKeyId::new(format!("demo-{}", &random_token()[..8]));
        let signing_key = CoreEdDsaPrivateSigningKey::from_ed25519_pem(&pem, Some(kid))
            .map_err(DemoError::Signing)?;
        let jwks = CoreJsonWebKeySet::new(vec![signing_key.as_verification_key()]);
        let metadata = provider_metadata(&issuer).map_err(DemoError::Signing)?;
        Ok(Self {
            name: IdpName::parse(IDP_NAME).map_err(DemoError::Signing)?,
            redirect_uri: public_url.join(&format!("/auth/oidc/{IDP_NAME}/callback")),
            issuer,
            client_secret: SecretString::from(random_token()),
            signing_key,
            jwks,
            metadata,
            codes,
            clock,
            saml: DemoSamlIdp::new(public_url).map_err(DemoError::Signing)?,
        })
    }

    /// The `[[idp]]` entry through which the broker signs in with this provider.
    pub fn idp_config(&self) -> IdpConfig {
        IdpConfig {
            name: self.name.clone(),
            display_name: "Demo identity provider".to_owned(),
            logo: None,
            allowed_email_domains: Vec::new(),
            trust_email: false,
            protocol: IdpProtocol::Oidc(OidcSettings {
                issuer: self.issuer.clone(),
                client_id: CLIENT_ID.to_owned(),
                client_auth: ClientAuth::SecretBasic(self.client_secret.clone()),
                scopes: vec!["openid".into(), "email".into(), "profile".into()],
                groups_claim: "groups".to_owned(),
                clock_skew: crate::config::DEFAULT_CLOCK_SKEW,
                userinfo: false,
                mfa_acr_values: Vec::new(),
            }),
        }
    }

    /// The discovery document.
    pub fn metadata(&self) -> &CoreProviderMetadata {
        &self.metadata
    }

    /// The public keys.
    pub fn jwks(&self) -> &CoreJsonWebKeySet {
        &self.jwks
    }

    /// Checks an authorization request before the person is asked to choose.
    pub fn check_authorize(&self, request: &AuthorizeRequest) -> Result<(), DemoError> {
        if request.client_id != CLIENT_ID {
            return Err(DemoError::InvalidClient);
        }
        if request.redirect_uri != self.redirect_uri {
            return Err(DemoError::InvalidRequest("redirect_uri is not registered"));
        }
        if request.response_type != "code" {
            return Err(DemoError::InvalidRequest("response_type must be `code`"));
        }
        if !request.scope.split(' ').any(|s| s == "openid") {
            return Err(DemoError::InvalidRequest("scope must include `openid`"));
        }
        // RFC 7636 section 4.2: 43 to 128 characters of the unreserved set.
        let challenge_ok = request.code_challenge.as_deref().is_some_and(|c| {
            (43..=128).contains(&c.len())
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        });
        if !challenge_ok || request.code_challenge_method.as_deref() != Some("S256") {
            return Err(DemoError::InvalidRequest("PKCE with S256 is required"));
        }
        Ok(())
    }

    /// Signs `subject` in and returns the redirect back to the broker, with a fresh code.
    pub async fn approve(
        &self,
        request: &AuthorizeRequest,
        subject: &str,
    ) -> Result<String, DemoError> {
        self.check_authorize(request)?;
        let person = person(subject).ok_or(DemoError::InvalidRequest("no such demo person"))?;
        let grant = CodeGrant {
            subject: person.subject.to_owned(),
            redirect_uri: request.redirect_uri.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone().unwrap_or_default(),
            auth_time: self.clock.unix_seconds(),
        };
        let code = random_token();
        let json = serde_json::to_string(&grant).map_err(|e| DemoError::Signing(e.to_string()))?;
        self.codes
            .insert_once(
                OneTimePurpose::DemoAuthorizationCode,
                &code,
                &json,
                CODE_TTL,
            )
            .await?;
        let mut location = url::Url::parse(&request.redirect_uri)
            .map_err(|_| DemoError::InvalidRequest("redirect_uri is not a URL"))?;
        {
            let mut query = location.query_pairs_mut();
            query.append_pair("code", &code);
            if let Some(state) = &request.state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", &self.issuer);
        }
        Ok(location.to_string())
    }

    /// Redeems an authorization code (once) for an ID token and an access token.
    /// `basic` is the client id and secret from an `Authorization: Basic` header.
    pub async fn token(
        &self,
        request: TokenRequest,
        basic: Option<(String, String)>,
    ) -> Result<TokenAnswer, DemoError> {
        let (client_id, secret) = basic
            .or_else(|| request.client_id.clone().zip(request.client_secret.clone()))
            .ok_or(DemoError::InvalidClient)?;
        let secret_ok: bool = secret
            .as_bytes()
            .ct_eq(self.client_secret.expose_secret().as_bytes())
            .into();
        if client_id != CLIENT_ID || !secret_ok {
            return Err(DemoError::InvalidClient);
        }
        if request.grant_type != "authorization_code" {
            return Err(DemoError::UnsupportedGrantType);
        }
        let code = request
            .code
            .ok_or(DemoError::InvalidRequest("code is required"))?;
        let grant = self
            .codes
            .take(OneTimePurpose::DemoAuthorizationCode, &code)
            .await?
            .ok_or(DemoError::InvalidGrant("unknown, used or expired code"))?;
        let grant: CodeGrant =
            serde_json::from_str(&grant).map_err(|e| DemoError::Signing(e.to_string()))?;
        if request.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
            return Err(DemoError::InvalidGrant(
                "redirect_uri differs from the authorization request",
            ));
        }
        let verifier = request
            .code_verifier
            .ok_or(DemoError::InvalidGrant("code_verifier is required"))?;
        let computed =
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier));
        if !bool::from(
            computed
                .as_str()
                .as_bytes()
                .ct_eq(grant.code_challenge.as_bytes()),
        ) {
            return Err(DemoError::InvalidGrant(
                "code_verifier does not match the challenge",
            ));
        }
        let person = person(&grant.subject).ok_or(DemoError::InvalidGrant("unknown person"))?;
        let access_token = AccessToken::new(random_token());
        let id_token =
            self.id_token(person, &grant, &access_token, &AuthorizationCode::new(code))?;
        Ok(TokenAnswer {
            access_token: access_token.secret().clone(),
            token_type: "Bearer",
            expires_in: TOKEN_TTL.as_secs(),
            id_token,
        })
    }

    fn id_token(
        &self,
        person: &DemoPerson,
        grant: &CodeGrant,
        access_token: &AccessToken,
        code: &AuthorizationCode,
    ) -> Result<String, DemoError> {
        let now = self.clock.now();
        let utc = |t: std::time::SystemTime| chrono::DateTime::<chrono::Utc>::from(t);
        let issuer =
            IssuerUrl::new(self.issuer.clone()).map_err(|e| DemoError::Signing(e.to_string()))?;
        let standard = StandardClaims::new(SubjectIdentifier::new(person.subject.to_owned()))
            .set_email(Some(EndUserEmail::new(person.email.to_owned())))
            .set_email_verified(Some(true))
            .set_name(Some(EndUserName::new(person.name.to_owned()).into()));
        let amr = if person.mfa {
            vec!["pwd", "mfa"]
        } else {
            vec!["pwd"]
        };
        let claims = IdTokenClaims::new(
            issuer,
            vec![Audience::new(CLIENT_ID.to_owned())],
            utc(now + TOKEN_TTL),
            utc(now),
            standard,
            DemoClaims {
                groups: person.groups.iter().map(|g| (*g).to_owned()).collect(),
            },
        )
        .set_nonce(grant.nonce.clone().map(Nonce::new))
        .set_auth_time(Some(utc(
            std::time::UNIX_EPOCH + Duration::from_secs(grant.auth_time)
        )))
        .set_auth_method_refs(Some(
            amr.into_iter()
                .map(|m| AuthenticationMethodReference::new(m.to_owned()))
                .collect(),
        ));
        let token: IdToken<
            DemoClaims,
            CoreGenderClaim,
            CoreJweContentEncryptionAlgorithm,
            CoreJwsSigningAlgorithm,
        > = IdToken::new(
            claims,
            &self.signing_key,
            CoreJwsSigningAlgorithm::EdDsa,
            Some(access_token),
            Some(code),
        )
        .map_err(|e| DemoError::Signing(e.to_string()))?;
        Ok(token.to_string())
    }
}

/// The sample person with `subject`.
pub fn person(subject: &str) -> Option<&'static DemoPerson> {
    PEOPLE.iter().find(|p| p.subject == subject)
}

fn provider_metadata(issuer: &str) -> Result<CoreProviderMetadata, String> {
    let url = |path: &str| format!("{issuer}{path}");
    Ok(CoreProviderMetadata::new(
        IssuerUrl::new(issuer.to_owned()).map_err(|e| e.to_string())?,
        AuthUrl::new(url("/authorize")).map_err(|e| e.to_string())?,
        JsonWebKeySetUrl::new(url("/jwks")).map_err(|e| e.to_string())?,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![CoreJwsSigningAlgorithm::EdDsa],
        EmptyAdditionalProviderMetadata {},
    )
    .set_token_endpoint(Some(
        TokenUrl::new(url("/token")).map_err(|e| e.to_string())?,
    ))
    .set_scopes_supported(Some(
        ["openid", "email", "profile"]
            .map(|s| Scope::new(s.to_owned()))
            .to_vec(),
    ))
    .set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::ClientSecretBasic,
        CoreClientAuthMethod::ClientSecretPost,
    ])))
}

/// The configuration `rolegate demo` runs with: memory stores, the sample directory and
/// mappings, and `idps` (the demo provider's two faces); the group `rolegate-admins` at
/// either administers.
pub fn config(listen: SocketAddr, public_url: PublicUrl, idps: Vec<IdpConfig>) -> Config {
    Config {
        listen,
        public_url,
        store: StoreSpec::Memory,
        directory: PathBuf::from("mappings/directory"),
        mappings: PathBuf::from("mappings/rules"),
        keys: Keys::default(),
        admin: Admin {
            groups: idps
                .iter()
                .map(|idp| AtIdp {
                    idp: idp.name.clone(),
                    name: "rolegate-admins".to_owned(),
                })
                .collect(),
            subjects: Vec::new(),
        },
        idps,
        limits: Limits::default(),
        session_cookie: SessionCookie::default(),
        straight_to_single_idp: false,
        audit_file: None,
    }
}
