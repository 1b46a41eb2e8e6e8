//! Why a sign-in failed.

/// A sign-in that did not complete. The message is safe to show; details are not.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// `/login/{idp}` names no configured provider.
    #[error("unknown identity provider `{0}`")]
    UnknownIdp(String),
    /// Discovery or the JWKS could not be fetched or parsed.
    #[error("the identity provider's configuration could not be loaded: {0}")]
    Discovery(String),
    /// The callback came without a sign-in this browser started, or after it expired.
    #[error("no sign-in in progress for this browser, or it expired")]
    NoPendingSignIn,
    /// The callback's `state` is not the one this browser was given.
    #[error("the sign-in response does not belong to this browser (state mismatch)")]
    StateMismatch,
    /// RFC 9207: the callback's `iss` is not the provider's issuer.
    #[error("the sign-in response names another issuer")]
    IssuerMismatch,
    /// The provider answered the authorization request with an error.
    #[error("the identity provider refused the sign-in (`{0}`)")]
    ProviderRefused(String),
    /// The callback is missing a required parameter.
    #[error("the sign-in response is missing `{0}`")]
    MissingParameter(&'static str),
    /// The token endpoint refused the code or could not be reached.
    #[error("the identity provider did not accept the authorization code: {0}")]
    TokenExchange(String),
    /// `/login/{idp}` was given a `prompt` or `max_age` that is not valid.
    #[error("`{0}` is not valid")]
    BadOption(&'static str),
    /// The person signed in at the provider but may not use rolegate through it (an email
    /// domain that is not allowed, say).
    #[error("not allowed: {0}")]
    NotAllowed(String),
    /// The ID token failed validation.
    #[error("the identity token is not valid: {0}")]
    InvalidIdToken(String),
    /// The SAML response failed verification.
    #[error("the SAML response is not valid: {0}")]
    Saml(#[from] super::saml::SamlError),
    /// The ID token is past its expiry.
    #[error("the identity token has expired: {0}")]
    ExpiredIdToken(String),
}

impl SignInError {
    /// Whether the fault lies with the identity provider being unreachable or broken
    /// (a gateway error) rather than with the request.
    pub fn is_upstream(&self) -> bool {
        matches!(self, SignInError::Discovery(_))
    }

    /// Words for the person at the browser: no token, code, or provider detail.
    pub fn public_message(&self) -> &'static str {
        match self {
            SignInError::UnknownIdp(_) => "There is no identity provider by that name.",
            SignInError::Discovery(_) => {
                "The identity provider could not be reached. Try again in a moment."
            }
            SignInError::NoPendingSignIn => {
                "This sign-in was not started in this browser, or it took too long."
            }
            SignInError::StateMismatch | SignInError::IssuerMismatch => {
                "The sign-in response does not match the sign-in this browser started."
            }
            SignInError::ProviderRefused(_) => "The identity provider did not sign you in.",
            SignInError::MissingParameter(_) => "The sign-in response was incomplete.",
            SignInError::NotAllowed(_) => {
                "Your account at this identity provider may not sign in to rolegate."
            }
            SignInError::BadOption(_) => {
                "The sign-in link asks for a prompt or max_age that is not valid."
            }
            SignInError::TokenExchange(_) => "The identity provider did not complete the sign-in.",
            SignInError::InvalidIdToken(_)
            | SignInError::ExpiredIdToken(_)
            | SignInError::Saml(_) => "The identity provider's answer could not be verified.",
        }
    }
}
