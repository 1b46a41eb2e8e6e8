//! Verifying AWS Signature Version 4 on requests signed with rolegate's temporary
//! credentials, in both forms: the `Authorization` header and the presigned query.
//!
//! The expected signature is computed by AWS's own `aws-sigv4` crate from a request rebuilt
//! of exactly what the client signed (method, path, query, the headers it lists, the body),
//! with the secret derived from the access key id, and compared in constant time. No
//! canonicalisation or key chain is written here.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    SessionTokenMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use super::error::{StsError, StsErrorCode};
use super::keys::SessionKeys;
use super::names::AccessKeyId;
use super::token::{SessionClaims, TokenRejection, verify};
use crate::clock::unix_seconds;

/// How far a signing time may be from ours (AWS's 15 minutes).
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// The longest a presigned request may be valid (AWS's 7 days).
const MAX_EXPIRES: u64 = 7 * 24 * 3600;
/// The query parameters a presigned request's signature is made of, not signed over.
const AUTH_PARAMETERS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// A request as received, for checking its signature.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `GET`, `POST`…
    pub method: &'a str,
    /// The path as sent (still percent-encoded).
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// Every header (names in lowercase), in order.
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

/// What a verified signature proves: the caller holds this session's credentials.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The session's claims, from its token.
    pub claims: SessionClaims,
    /// The region the client signed for.
    pub region: String,
}

/// The pieces of a signature, from either form.
struct Signature {
    access_key_id: String,
    scope_date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
    time: SystemTime,
    amz_date: String,
    session_token: Option<String>,
    /// `Some(expires)` for the presigned form.
    presigned: Option<u64>,
}

/// Whether `request` carries a SigV4 signature at all.
pub fn is_signed(request: &SignedRequest<'_>) -> bool {
    header(request, "authorization").is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256"))
        || query_value(request.query, "X-Amz-Algorithm").is_some()
}

/// Checks `request`'s signature, scoped to `service` (`sts`, or `rolegate` for rolegate's
/// own API), against a session `keys` issued for `issuer`, at `now`.
pub fn verify_signature(
    request: &SignedRequest<'_>,
    keys: &SessionKeys,
    (issuer, service): (&str, &str),
    now: SystemTime,
) -> Result<Verified, StsError> {
    let signature = parse(request)?;
    check_scope(&signature, service)?;
    check_time(&signature, now)?;
    let access_key_id = AccessKeyId::parse(&signature.access_key_id)
        .map_err(|m| StsError::new(StsErrorCode::InvalidClientTokenId, m))?;
    let token = signature
        .session_token
        .as_deref()
        .ok_or_else(invalid_token)?;
    let (claims, kid) = match verify(keys, token, issuer, unix_seconds(now)) {
        Ok(verified) => verified,
        Err(TokenRejection::Expired) => {
            return Err(StsError::new(
                StsErrorCode::ExpiredToken,
                "The security token included in the request is expired",
            ));
        }
        Err(TokenRejection::Invalid) => return Err(invalid_token()),
    };
    if claims.akid != access_key_id.as_str() {
        return Err(invalid_token().with_log_detail("the token belongs to another access key id"));
    }
    let secret = keys
        .secret_for(&kid, access_key_id.as_str())
        .ok_or_else(invalid_token)?;
    // A presigned URL's payload is the empty body's hash for botocore and
    // `UNSIGNED-PAYLOAD` for some other SDKs; with no body to protect, both are accepted.
    let bodies: &[SignableBody<'_>] = match signature.presigned {
        Some(_) if request.body.is_empty() => &[
            SignableBody::Bytes(request.body),
            SignableBody::UnsignedPayload,
        ],
        _ => &[SignableBody::Bytes(request.body)],
    };
    let mut matches = false;
    for body in bodies {
        let expected = expected_signature(
            request,
            &signature,
            secret.expose_secret(),
            token,
            body.clone(),
        )?;
        matches |= bool::from(expected.as_bytes().ct_eq(signature.signature.as_bytes()));
    }
    if !matches {
        return Err(StsError::new(
            StsErrorCode::SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        ));
    }
    Ok(Verified {
        claims,
        region: signature.region,
    })
}

impl StsError {
    fn with_log_detail(mut self, detail: &str) -> Self {
        self.detail = detail.to_owned();
        self
    }
}

fn invalid_token() -> StsError {
    StsError::new(
        StsErrorCode::InvalidClientTokenId,
        "The security token included in the request is invalid.",
    )
}

fn incomplete(message: &str) -> StsError {
    StsError::new(StsErrorCode::IncompleteSignature, message)
}

fn header<'r>(request: &'r SignedRequest<'_>, name: &str) -> Option<&'r str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The decoded value of query parameter `name` (the first one).
fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn parse(request: &SignedRequest<'_>) -> Result<Signature, StsError> {
    if let Some(authorization) = header(request, "authorization") {
        return parse_header(request, authorization);
    }
    if query_value(request.query, "X-Amz-Algorithm").is_some() {
        return parse_presigned(request);
    }
    Err(StsError::new(
        StsErrorCode::MissingAuthenticationToken,
        "Request is missing Authentication Token",
    ))
}

/// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
fn parse_header(request: &SignedRequest<'_>, authorization: &str) -> Result<Signature, StsError> {
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| {
            incomplete("Unsupported AWS 'algorithm': only AWS4-HMAC-SHA256 is supported")
        })?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(incomplete(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
        ));
    };
    let amz_date = header(request, "x-amz-date")
        .ok_or_else(|| incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."))?
        .to_owned();
    signature_parts(
        credential,
        signed_headers,
        signature,
        amz_date,
        header(request, "x-amz-security-token").map(str::to_owned),
        None,
    )
}

fn parse_presigned(request: &SignedRequest<'_>) -> Result<Signature, StsError> {
    let value = |name: &str| query_value(request.query, name);
    if value("X-Amz-Algorithm").as_deref() != Some("AWS4-HMAC-SHA256") {
        return Err(incomplete(
            "Unsupported AWS 'algorithm': only AWS4-HMAC-SHA256 is supported",
        ));
    }
    let missing = || {
        incomplete(
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date' and 'X-Amz-Expires'.",
        )
    };
    let credential = value("X-Amz-Credential").ok_or_else(missing)?;
    let signed_headers = value("X-Amz-SignedHeaders").ok_or_else(missing)?;
    let signature = value("X-Amz-Signature").ok_or_else(missing)?;
    let amz_date = value("X-Amz-Date").ok_or_else(missing)?;
    let expires = value("X-Amz-Expires")
        .ok_or_else(missing)?
        .parse::<u64>()
        .ok()
        .filter(|e| (1..=MAX_EXPIRES).contains(e))
        .ok_or_else(|| {
            StsError::new(
                StsErrorCode::ValidationError,
                "X-Amz-Expires must be a whole number of seconds from 1 to 604800",
            )
        })?;
    signature_parts(
        &credential,
        &signed_headers,
        &signature,
        amz_date,
        value("X-Amz-Security-Token"),
        Some(expires),
    )
}

fn signature_parts(
    credential: &str,
    signed_headers: &str,
    signature: &str,
    amz_date: String,
    session_token: Option<String>,
    presigned: Option<u64>,
) -> Result<Signature, StsError> {
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term",
        ));
    };
    if *terminator != "aws4_request" {
        return Err(StsError::new(
            StsErrorCode::SignatureDoesNotMatch,
            format!(
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
            ),
        ));
    }
    let time = parse_amz_date(&amz_date).ok_or_else(|| {
        incomplete("X-Amz-Date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'")
    })?;
    Ok(Signature {
        access_key_id: (*access_key_id).to_owned(),
        scope_date: (*scope_date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers: signed_headers.split(';').map(str::to_owned).collect(),
        signature: signature.to_owned(),
        time,
        amz_date,
        session_token,
        presigned,
    })
}

/// SigV4's `X-Amz-Date` format: ISO 8601 basic, UTC.
const AMZ_DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

fn parse_amz_date(text: &str) -> Option<SystemTime> {
    time::PrimitiveDateTime::parse(text, AMZ_DATE)
        .ok()
        .map(|t| SystemTime::from(t.assume_utc()))
}

fn format_amz_date(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(AMZ_DATE)
        .unwrap_or_default()
}

fn check_scope(signature: &Signature, service: &str) -> Result<(), StsError> {
    if signature.service != service {
        return Err(StsError::new(
            StsErrorCode::SignatureDoesNotMatch,
            format!(
                "Credential should be scoped to correct service: '{service}'. ({})",
                signature.service
            ),
        ));
    }
    if !signature.amz_date.starts_with(&signature.scope_date) {
        return Err(StsError::new(
            StsErrorCode::SignatureDoesNotMatch,
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
                signature.scope_date,
                signature.amz_date.get(..8).unwrap_or_default()
            ),
        ));
    }
    if !signature
        .region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || signature.region.is_empty()
    {
        return Err(StsError::new(
            StsErrorCode::SignatureDoesNotMatch,
            "Credential should be scoped to a valid region.",
        ));
    }
    Ok(())
}

/// AWS's clock rules: a signature is good from 15 minutes before its time; a header
/// signature until 15 minutes after it, a presigned one until it expires.
fn check_time(signature: &Signature, now: SystemTime) -> Result<(), StsError> {
    let format = format_amz_date;
    if signature.time > now + MAX_SKEW {
        return Err(StsError::new(
            StsErrorCode::SignatureDoesNotMatch,
            format!(
                "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                signature.amz_date,
                format(now + MAX_SKEW),
                format(now)
            ),
        ));
    }
    let valid_for = signature.presigned.map_or(MAX_SKEW, Duration::from_secs);
    if signature.time + valid_for < now {
        let message = match signature.presigned {
            None => format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                signature.amz_date,
                format(now - MAX_SKEW),
                format(now)
            ),
            Some(expires) => format!(
                "Signature expired: the presigned request was valid for {expires} s from {}",
                signature.amz_date
            ),
        };
        return Err(StsError::new(StsErrorCode::SignatureDoesNotMatch, message));
    }
    Ok(())
}

/// The signature `aws-sigv4` computes for what the client signed.
fn expected_signature(
    request: &SignedRequest<'_>,
    signature: &Signature,
    secret: &str,
    token: &str,
    body: SignableBody<'_>,
) -> Result<String, StsError> {
    let mismatch = |detail: String| {
        StsError::with_detail(
            StsErrorCode::SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
            detail,
        )
    };
    let mut headers: Vec<(&str, String)> = Vec::with_capacity(signature.signed_headers.len());
    for name in &signature.signed_headers {
        let values: Vec<&str> = request
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        if values.is_empty() {
            return Err(mismatch(format!(
                "signed header `{name}` is not in the request"
            )));
        }
        headers.push((name.as_str(), values.join(",")));
    }
    let uri = match (signature.presigned, request.query) {
        (Some(_), Some(query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| {
                    let name = pair.split('=').next().unwrap_or_default();
                    !AUTH_PARAMETERS.contains(&name)
                })
                .collect();
            if kept.is_empty() {
                request.path.to_owned()
            } else {
                format!("{}?{}", request.path, kept.join("&"))
            }
        }
        (None, Some(query)) if !query.is_empty() => format!("{}?{query}", request.path),
        _ => request.path.to_owned(),
    };
    let mut settings = SigningSettings::default();
    // Sign over exactly the headers the client listed, whatever they are.
    settings.excluded_headers = Some(Vec::new());
    if !signature
        .signed_headers
        .iter()
        .any(|h| h == "x-amz-security-token")
        && signature.presigned.is_none()
    {
        settings.session_token_mode = SessionTokenMode::Exclude;
    }
    if let Some(expires) = signature.presigned {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
    }
    let identity = aws_credential_types::Credentials::new(
        signature.access_key_id.as_str(),
        secret,
        Some(token.to_owned()),
        None,
        "rolegate",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&signature.region)
        .name(&signature.service)
        .time(signature.time)
        .settings(settings)
        .build()
        .map_err(|e| mismatch(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        request.method,
        uri,
        headers.iter().map(|(n, v)| (*n, v.as_str())),
        body,
    )
    .map_err(|e| mismatch(e.to_string()))?;
    let output = sign(signable, &params).map_err(|e| mismatch(e.to_string()))?;
    Ok(output.signature().to_owned())
}
