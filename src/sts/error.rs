//! STS errors, with AWS's codes, HTTP statuses and sender/receiver types.

/// The key material is not usable.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The PEM text holds no `BEGIN … PRIVATE KEY` block.
    #[error("no private key block in the PEM text")]
    NoKey,
    /// A block is not an EC P-256 PKCS#8 private key.
    #[error("key {index}: not an EC P-256 PKCS#8 private key ({reason})")]
    NotP256 {
        /// Which block (0-based).
        index: usize,
        /// The parser's words.
        reason: String,
    },
    /// The key could not be re-encoded for signing.
    #[error("key encoding: {0}")]
    Encoding(String),
}

/// AWS's error codes that rolegate's STS answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsErrorCode {
    /// 403: the trust policy or a rule refuses, or the caller may not.
    AccessDenied,
    /// 400: a parameter is out of range or malformed.
    ValidationError,
    /// 400: a parameter's value is not acceptable.
    InvalidParameterValue,
    /// 400: a required parameter is missing.
    MissingParameter,
    /// 400: unknown `Action` or `Version`.
    InvalidAction,
    /// 400: a session policy is not a valid policy.
    MalformedPolicyDocument,
    /// 400: session policies and tags together are too large.
    PackedPolicyTooLarge,
    /// 400: the web identity token is not valid.
    InvalidIdentityToken,
    /// 400: the web identity token has expired.
    ExpiredTokenException,
    /// 400: the identity provider could not be reached (clients retry).
    IdpCommunicationError,
    /// 403: the identity provider's token was refused by a rule.
    IdpRejectedClaim,
    /// 400: the session token of a signed request has expired.
    ExpiredToken,
    /// 403: the access key id or session token is unknown, revoked or malformed.
    InvalidClientTokenId,
    /// 403: the signature does not match, or the request is too old.
    SignatureDoesNotMatch,
    /// 400: the Authorization header or presigned query is incomplete.
    IncompleteSignature,
    /// 403: the request is not signed.
    MissingAuthenticationToken,
    /// 413: the request body is too large.
    RequestEntityTooLarge,
    /// 503: the store cannot be reached.
    ServiceUnavailable,
    /// 500: something broke on our side.
    InternalFailure,
}

impl StsErrorCode {
    /// The code as AWS writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "AccessDenied",
            Self::ValidationError => "ValidationError",
            Self::InvalidParameterValue => "InvalidParameterValue",
            Self::MissingParameter => "MissingParameter",
            Self::InvalidAction => "InvalidAction",
            Self::MalformedPolicyDocument => "MalformedPolicyDocument",
            Self::PackedPolicyTooLarge => "PackedPolicyTooLarge",
            Self::InvalidIdentityToken => "InvalidIdentityToken",
            Self::ExpiredTokenException => "ExpiredTokenException",
            Self::IdpCommunicationError => "IDPCommunicationError",
            Self::IdpRejectedClaim => "IDPRejectedClaim",
            Self::ExpiredToken => "ExpiredToken",
            Self::InvalidClientTokenId => "InvalidClientTokenId",
            Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Self::IncompleteSignature => "IncompleteSignature",
            Self::MissingAuthenticationToken => "MissingAuthenticationToken",
            Self::RequestEntityTooLarge => "RequestEntityTooLarge",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::InternalFailure => "InternalFailure",
        }
    }

    /// The HTTP status AWS answers it with.
    pub fn status(self) -> u16 {
        match self {
            Self::AccessDenied
            | Self::IdpRejectedClaim
            | Self::InvalidClientTokenId
            | Self::SignatureDoesNotMatch
            | Self::MissingAuthenticationToken => 403,
            Self::RequestEntityTooLarge => 413,
            Self::ServiceUnavailable => 503,
            Self::InternalFailure => 500,
            _ => 400,
        }
    }

    /// `Sender` (the request's fault) or `Receiver` (ours).
    pub fn fault(self) -> &'static str {
        match self {
            Self::ServiceUnavailable | Self::InternalFailure => "Receiver",
            _ => "Sender",
        }
    }
}

/// A refused STS request: AWS's code and a message safe to show the caller. `detail` is for
/// the log only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct StsError {
    /// The code.
    pub code: StsErrorCode,
    /// What the caller is told.
    pub message: String,
    /// What only the log gets (which check failed, which statement decided).
    pub detail: String,
}

impl StsError {
    /// An error whose message is also its detail.
    pub fn new(code: StsErrorCode, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            code,
            detail: message.clone(),
            message,
        }
    }

    /// An error with a public `message` and a private `detail`.
    pub fn with_detail(
        code: StsErrorCode,
        message: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            code,
            message: message.into(),
            detail: detail.into(),
        }
    }
}

impl From<crate::store::StoreError> for StsError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::with_detail(
            StsErrorCode::ServiceUnavailable,
            "The service is unavailable. Please try again later.",
            error.to_string(),
        )
    }
}
