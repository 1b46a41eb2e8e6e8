//! The SAML 2.0 service provider, with samael and xmlsec: metadata (`metadata`, `sp`),
//! the XML screen every message passes first (`screen`), response verification
//! (`verify`), `AuthnRequest` and Single Logout messages (`request`), and the assertion as
//! an [`Identity`] (`identity`).

mod decrypt;
mod identity;
pub mod issuer;
pub mod keys;
mod logout;
mod metadata;
mod request;
mod screen;
mod sp;
#[cfg(test)]
mod tests;
mod verify;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use samael::crypto::CertificateDer;

pub use logout::ProviderLogout;
pub use metadata::{IdpMetadata, MAX_METADATA_BYTES};
pub use request::{AuthnRequestStart, PendingSamlRequest};
pub use sp::ServiceProvider;
pub use verify::{Expectations, SamlAttribute, VerifiedAssertion};

use super::{Identity, SignInError};
use crate::clock::Clock;
use crate::config::{IdpConfig, IdpName, Logo, SamlMetadataSource, SamlSettings};

/// The largest `SAMLResponse` accepted, after base64 decoding.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// How long fetched metadata is used before it is fetched again.
const METADATA_REFRESH: Duration = Duration::from_secs(3600);
/// How long after a failed fetch the next is tried (the last good copy serves meanwhile).
const METADATA_RETRY: Duration = Duration::from_secs(30);

/// Why a SAML message was refused. The text names the check; it holds no secret.
#[derive(Debug, thiserror::Error)]
pub enum SamlError {
    /// Not XML rolegate will read, or not the shape SAML requires.
    #[error("malformed SAML message: {0}")]
    Malformed(String),
    /// No signature of the provider's pinned certificates, with a strong algorithm, covers
    /// the message.
    #[error(
        "the signature does not verify against the identity provider's certificates \
         (or uses an algorithm weaker than SHA-256)"
    )]
    Signature,
    /// A check of the SAML profile failed.
    #[error("{0}")]
    Refused(String),
    /// The provider's status was not Success.
    #[error("the identity provider answered with status `{0}`")]
    Status(String),
    /// The assertion (or logout request) was already used.
    #[error("this message was already used (a replay)")]
    Replayed,
}

/// One configured SAML identity provider.
pub struct SamlProvider {
    name: IdpName,
    display_name: String,
    logo: Option<Logo>,
    allowed_email_domains: Vec<String>,
    trust_email: bool,
    settings: SamlSettings,
    sp: Arc<ServiceProvider>,
    metadata: MetadataCell,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SamlProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamlProvider")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The provider's metadata: fixed (a file), or fetched and refreshed (a URL).
struct MetadataCell {
    signed_by: Option<CertificateDer>,
    state: Mutex<MetadataState>,
    /// One fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct MetadataState {
    /// The last good copy.
    good: Option<Arc<IdpMetadata>>,
    /// When it, or the last failure, was fetched (Unix seconds).
    fetched_at: u64,
    /// Why the last fetch failed.
    failure: Option<String>,
}

impl MetadataState {
    /// The last good copy, or why there is none.
    fn answer(&self) -> Result<Arc<IdpMetadata>, String> {
        match (&self.good, &self.failure) {
            (Some(good), _) => Ok(good.clone()),
            (None, failure) => Err(failure.clone().unwrap_or_else(|| "no metadata yet".into())),
        }
    }
}

impl SamlProvider {
    /// The provider `idp` describes. Metadata from a file is read and checked now: a
    /// document that does not parse, has no signing certificate or fails its signature
    /// is refused with the file and the reason. Metadata from a URL is fetched at first use.
    pub fn new(
        idp: &IdpConfig,
        settings: SamlSettings,
        sp: Arc<ServiceProvider>,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let signed_by = match &settings.metadata_signing_cert {
            Some(path) => Some(read_certificate(path)?),
            None => None,
        };
        let mut state = MetadataState::default();
        let fixed = match &settings.metadata {
            SamlMetadataSource::File(path) => Some((
                std::fs::read_to_string(path)
                    .map_err(|e| format!("metadata `{}`: {e}", path.display()))?,
                path.display().to_string(),
            )),
            SamlMetadataSource::Inline(text) => Some((text.to_string(), "(built in)".to_owned())),
            SamlMetadataSource::Url(_) => None,
        };
        if let Some((text, origin)) = fixed {
            let parsed = IdpMetadata::parse(&text, signed_by.as_ref(), now_i64(&*clock))
                .map_err(|reason| format!("metadata `{origin}`: {reason}"))?;
            state.good = Some(Arc::new(parsed));
        }
        Ok(Self {
            name: idp.name.clone(),
            display_name: idp.display_name.clone(),
            logo: idp.logo.clone(),
            allowed_email_domains: idp.allowed_email_domains.clone(),
            trust_email: idp.trust_email,
            settings,
            sp,
            metadata: MetadataCell {
                signed_by,
                state: Mutex::new(state),
                fetching: tokio::sync::Mutex::new(()),
            },
            http,
            clock,
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

    /// The first attribute name groups are read from (where pasted claims keep them).
    pub fn groups_attribute(&self) -> &str {
        self.settings
            .attributes
            .groups
            .first()
            .map_or("groups", String::as_str)
    }

    /// Whether every email address it sends counts as verified.
    pub fn trusts_email(&self) -> bool {
        self.trust_email
    }

    /// Its settings.
    pub fn settings(&self) -> &SamlSettings {
        &self.settings
    }

    /// rolegate's service-provider identity.
    pub fn service_provider(&self) -> &ServiceProvider {
        &self.sp
    }

    /// The provider's metadata: the file's, or the URL's last good copy, fetched again
    /// when an hour old (a failed fetch keeps the last good copy, and is retried after
    /// half a minute).
    pub async fn metadata(&self) -> Result<Arc<IdpMetadata>, SignInError> {
        let SamlMetadataSource::Url(url) = &self.settings.metadata else {
            return self.cached_metadata().ok_or_else(|| {
                SignInError::Discovery("the provider's metadata is not loaded".into())
            });
        };
        if let Some(cached) = self.fresh_metadata() {
            return cached.map_err(SignInError::Discovery);
        }
        let _one_at_a_time = self.metadata.fetching.lock().await;
        if let Some(cached) = self.fresh_metadata() {
            return cached.map_err(SignInError::Discovery);
        }
        let outcome = self.fetch_metadata(url).await;
        let mut state = lock(&self.metadata.state);
        state.fetched_at = self.clock.unix_seconds();
        match outcome {
            Ok(parsed) => {
                state.good = Some(Arc::new(parsed));
                state.failure = None;
            }
            Err(reason) => {
                tracing::warn!(idp = %self.name, %reason, "SAML metadata fetch failed");
                state.failure = Some(reason);
            }
        }
        state.answer().map_err(SignInError::Discovery)
    }

    fn cached_metadata(&self) -> Option<Arc<IdpMetadata>> {
        lock(&self.metadata.state).good.clone()
    }

    /// The cached answer, unless a fetch is due.
    fn fresh_metadata(&self) -> Option<Result<Arc<IdpMetadata>, String>> {
        let state = lock(&self.metadata.state);
        let due = match state.failure {
            Some(_) => METADATA_RETRY,
            None => METADATA_REFRESH,
        };
        let age = self.clock.unix_seconds().saturating_sub(state.fetched_at);
        (state.fetched_at > 0 && age < due.as_secs()).then(|| state.answer())
    }

    async fn fetch_metadata(&self, url: &url::Url) -> Result<IdpMetadata, String> {
        let response = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| format!("fetching `{url}`: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("fetching `{url}`: HTTP {}", response.status()));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("reading `{url}`: {e}"))?;
        if bytes.len() > MAX_METADATA_BYTES {
            return Err(format!("`{url}` is larger than {MAX_METADATA_BYTES} bytes"));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| format!("`{url}` is not UTF-8"))?;
        IdpMetadata::parse(
            text,
            self.metadata.signed_by.as_ref(),
            now_i64(&*self.clock),
        )
        .map_err(|reason| format!("metadata `{url}`: {reason}"))
    }

    /// Starts an SP-initiated sign-in: a signed `AuthnRequest` over HTTP-Redirect.
    pub async fn begin(&self, relay_state: &str) -> Result<AuthnRequestStart, SignInError> {
        let metadata = self.metadata().await?;
        request::authn_request(&self.sp, &metadata, relay_state, self.clock.now())
    }

    /// Verifies a `SAMLResponse` (decoded by [`decode_message`]), as [`verify`] describes.
    pub async fn verify(&self, xml: &str) -> Result<VerifiedAssertion, SignInError> {
        let metadata = self.metadata().await?;
        let expect = Expectations {
            sp_entity_id: &self.sp.entity_id,
            acs_url: &self.sp.acs_url,
            now: now_i64(&*self.clock),
            skew: i64::try_from(self.settings.clock_skew.as_secs()).unwrap_or(0),
            require_signed: self.settings.require_signed,
            require_encrypted: self.settings.require_encrypted_assertions,
            decryption_key: Some(&self.sp.key),
        };
        let verified = verify::verify_response(xml, &metadata, &expect).map_err(|e| {
            tracing::info!(idp = %self.name, reason = %e, "SAML response refused");
            SignInError::Saml(e)
        })?;
        Ok(verified)
    }

    /// Where to send the browser to end `identity`'s session at the provider too (a signed
    /// `LogoutRequest` over HTTP-Redirect), when the provider has a Single Logout service.
    pub async fn logout_url(&self, identity: &Identity) -> Option<String> {
        let metadata = self.metadata().await.ok()?;
        let destination = metadata.slo_redirect.as_ref()?;
        let claim = |name: &str| {
            identity
                .claims
                .get(name)
                .and_then(serde_json::Value::as_str)
        };
        let person = logout::LoggedIn {
            name_id: &identity.subject,
            name_id_format: claim("name_id_format"),
            session_index: claim("session_index"),
        };
        logout::logout_request(&self.sp, destination, &person, self.clock.now())
            .map_err(
                |e| tracing::warn!(idp = %self.name, error = %e, "no sign-out at the provider"),
            )
            .ok()
            .map(String::from)
    }

    /// Verifies the provider's `LogoutRequest` at `url`; what it names, and the URL of the
    /// signed `LogoutResponse` that answers it.
    pub async fn answer_logout(
        &self,
        url: &url::Url,
    ) -> Result<(ProviderLogout, String), SignInError> {
        let metadata = self.metadata().await?;
        let request = logout::read_logout_request(url, &metadata, now_i64(&*self.clock))?;
        let destination = metadata.slo_response.as_ref().ok_or_else(|| {
            SignInError::Discovery("the provider has no Single Logout service".into())
        })?;
        let answer = logout::logout_response(&self.sp, destination, &request, self.clock.now())
            .map_err(SignInError::Discovery)?;
        Ok((request, answer.into()))
    }

    /// The person the assertion names, as every later layer sees them; refused when the
    /// provider's email-domain rule does not allow them.
    pub fn identity(&self, assertion: &VerifiedAssertion) -> Result<Identity, SignInError> {
        let mut identity = identity::from_assertion(
            self.name.clone(),
            assertion,
            &self.settings,
            &self.sp.acs_url,
            self.clock.unix_seconds(),
        );
        if self.trust_email {
            identity.trust_email();
        }
        identity
            .check_email_domain(&self.allowed_email_domains)
            .map_err(SignInError::NotAllowed)?;
        Ok(identity)
    }
}

/// The issuer a `LogoutRequest` at `url` claims (to choose the provider that verifies it).
pub fn claimed_logout_issuer(url: &url::Url) -> Result<String, SignInError> {
    Ok(logout::claimed_logout_issuer(url)?)
}

/// The issuer a response claims (the Response's, else its assertion's), to choose the
/// provider whose certificates must then verify it. Screened first; nothing here is
/// trusted.
pub fn claimed_issuer(xml: &str) -> Result<String, SignInError> {
    let shape = screen::screen(xml, screen::Root::RESPONSE)?;
    let response = verify::parse_envelope(xml, shape.encrypted_assertions > 0)?;
    response
        .issuer
        .and_then(|i| i.value)
        .or_else(|| response.assertion.and_then(|a| a.issuer.value))
        .map(|issuer| issuer.trim().to_owned())
        .ok_or_else(|| SamlError::Malformed("the response names no Issuer".into()).into())
}

/// `saml:namequalifier` as AWS computes it for the SAML provider `provider_arn`
/// (`arn:aws:iam::<account>:saml-provider/<name>`): base64 of the SHA-1 of the issuer, the
/// account id and `/<name>`, concatenated. `None` for another kind of ARN.
pub fn name_qualifier(issuer: &str, provider_arn: &str) -> Option<String> {
    use base64::Engine as _;
    let rest = provider_arn.strip_prefix("arn:aws:iam::")?;
    let (account, name) = rest.split_once(":saml-provider/")?;
    let digest = openssl::sha::sha1(format!("{issuer}{account}/{name}").as_bytes());
    Some(base64::engine::general_purpose::STANDARD.encode(digest))
}

/// Decodes a base64 SAML message, at most [`MAX_RESPONSE_BYTES`] once decoded.
pub fn decode_message(encoded: &str) -> Result<String, SignInError> {
    use base64::Engine as _;
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if compact.len() / 4 * 3 > MAX_RESPONSE_BYTES + 3 {
        return Err(SignInError::Saml(SamlError::Malformed(format!(
            "larger than {MAX_RESPONSE_BYTES} bytes"
        ))));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| SignInError::Saml(SamlError::Malformed("not base64".into())))?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(SignInError::Saml(SamlError::Malformed(format!(
            "larger than {MAX_RESPONSE_BYTES} bytes"
        ))));
    }
    String::from_utf8(bytes)
        .map_err(|_| SignInError::Saml(SamlError::Malformed("not UTF-8".into())))
}

fn read_certificate(path: &std::path::Path) -> Result<CertificateDer, String> {
    let pem = std::fs::read(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let certificate = openssl::x509::X509::from_pem(&pem)
        .map_err(|e| format!("`{}` is not a PEM certificate: {e}", path.display()))?;
    certificate
        .to_der()
        .map(CertificateDer::from)
        .map_err(|e| format!("`{}`: {e}", path.display()))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Now, in signed Unix seconds (SAML's times are compared as such).
fn now_i64(clock: &dyn Clock) -> i64 {
    i64::try_from(clock.unix_seconds()).unwrap_or(i64::MAX)
}
