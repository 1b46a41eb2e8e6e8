//! Verifying a `<samlp:Response>` as the SAML profiles and their security considerations
//! require: the required signatures verify against the provider's pinned certificates with
//! a strong algorithm, values are read only from what the signatures cover, and every
//! condition of the one assertion holds.

use chrono::{DateTime, Utc};
use openssl::pkey::{PKey, Private};
use samael::crypto::{AllowedSignatureAlgorithm, Crypto, CryptoProvider, ReduceMode};
use samael::schema::{Assertion, Response, SubjectConfirmation};

use super::SamlError;
use super::metadata::IdpMetadata;
use super::screen::{Root, Shape, screen};
use crate::config::SignedElements;

/// The signature algorithms accepted: RSA and ECDSA with SHA-256 or stronger. Never SHA-1,
/// MD5, HMAC (a key anyone with the certificate could use) or DSA.
pub(super) const STRONG_ALGORITHMS: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const ENTITY_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";

/// What a response must match to be accepted.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// rolegate's entity id, which the audience restriction must name.
    pub sp_entity_id: &'a str,
    /// Where the response was posted: `Destination` and `Recipient` must equal it.
    pub acs_url: &'a str,
    /// Now, in Unix seconds.
    pub now: i64,
    /// Leeway on every time bound, in seconds.
    pub skew: i64,
    /// Which elements must be signed.
    pub require_signed: SignedElements,
    /// Whether the assertion must arrive encrypted.
    pub require_encrypted: bool,
    /// The SP key that decrypts encrypted assertions.
    pub decryption_key: Option<&'a PKey<Private>>,
}

/// One attribute of a verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlAttribute {
    /// Its `Name`.
    pub name: String,
    /// Its `FriendlyName`, when given.
    pub friendly_name: Option<String>,
    /// Its values' text, in order.
    pub values: Vec<String>,
}

/// The facts of an assertion that passed every check, read from signed content only.
#[derive(Debug, Clone)]
pub struct VerifiedAssertion {
    /// The assertion's `ID`, consumed once.
    pub id: String,
    /// The provider's entity id.
    pub issuer: String,
    /// The subject's `NameID`.
    pub name_id: String,
    /// Its `Format`, when given.
    pub name_id_format: Option<String>,
    /// The request it answers (`SubjectConfirmationData/@InResponseTo`), if any.
    pub in_response_to: Option<String>,
    /// The end of its validity (the earliest `NotOnOrAfter`), Unix seconds.
    pub not_on_or_after: i64,
    /// `AuthnStatement/@AuthnInstant`, Unix seconds.
    pub authn_instant: Option<i64>,
    /// `AuthnContextClassRef`.
    pub authn_context: Option<String>,
    /// `AuthnStatement/@SessionNotOnOrAfter`, Unix seconds.
    pub session_not_on_or_after: Option<i64>,
    /// `AuthnStatement/@SessionIndex`, for Single Logout.
    pub session_index: Option<String>,
    /// Every attribute.
    pub attributes: Vec<SamlAttribute>,
}

/// Verifies the response `xml` from the provider described by `idp`.
pub(super) fn verify_response(
    xml: &str,
    idp: &IdpMetadata,
    expect: &Expectations<'_>,
) -> Result<VerifiedAssertion, SamlError> {
    let shape = screen(xml, Root::RESPONSE)?;
    let held = shape.assertions + shape.encrypted_assertions;
    if held != 1 {
        return Err(refused(format!(
            "a response must hold exactly one assertion; this one holds {held}"
        )));
    }
    if expect.require_encrypted && shape.encrypted_assertions == 0 {
        return Err(refused(
            "the assertion is not encrypted (this provider is configured with \
             require_encrypted_assertions)"
                .into(),
        ));
    }
    let response_signed = shape.signs_itself(shape.root_id.as_deref());
    // The envelope is read for refusals only (unless it is signed): its status, where it
    // says it is going, and who it says sent it.
    let envelope = parse_envelope(xml, shape.encrypted_assertions > 0)?;
    check_envelope(&envelope, idp, expect, response_signed)?;
    let (assertion, expected_id) = if shape.encrypted_assertions == 1 {
        encrypted_assertion(xml, &shape, idp, expect)?
    } else {
        let assertion_signed = shape.signs_itself(shape.assertion_id.as_deref());
        required_signatures(response_signed, assertion_signed, expect.require_signed)?;
        let reduced = reduce(xml, idp)?;
        let assertion = if response_signed {
            let signed: Response = reduced
                .parse()
                .map_err(|e| SamlError::Malformed(format!("the signed response: {e}")))?;
            signed
                .assertion
                .ok_or_else(|| refused("the signed response holds no assertion".into()))?
        } else {
            parse_assertion(&reduced)?
        };
        (assertion, shape.assertion_id.clone())
    };
    if Some(assertion.id.as_str()) != expected_id.as_deref() {
        return Err(refused(
            "the signed assertion is not the one in the response".into(),
        ));
    }
    let verified = check_assertion(&assertion, idp, expect)?;
    if let (Some(asked), Some(answered)) = (&envelope.in_response_to, &verified.in_response_to)
        && asked != answered
    {
        return Err(refused(
            "the response and its assertion answer different requests".into(),
        ));
    }
    Ok(verified)
}

/// The response's envelope (its own attributes, Issuer and Status), read without its
/// encrypted assertion (which is decrypted and read apart).
pub(super) fn parse_envelope(xml: &str, encrypted: bool) -> Result<Response, SamlError> {
    let without;
    let envelope = if encrypted {
        let span = super::decrypt::find_encrypted(xml)?.span;
        let (Some(before), Some(after)) = (xml.get(..span.start), xml.get(span.end..)) else {
            return Err(SamlError::Malformed(
                "the encrypted assertion's bounds".into(),
            ));
        };
        without = format!("{before}{after}");
        without.as_str()
    } else {
        xml
    };
    envelope
        .parse()
        .map_err(|e| SamlError::Malformed(format!("not a SAML response: {e}")))
}

/// The document with only what its signatures cover, every signature verified against the
/// provider's certificates with a strong algorithm.
fn reduce(xml: &str, idp: &IdpMetadata) -> Result<String, SamlError> {
    Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &idp.signing_certificates,
        ReduceMode::ValidateAndMarkNoAncestors,
        Some(&STRONG_ALGORITHMS),
    )
    .map_err(|_| SamlError::Signature)
}

fn parse_assertion(xml: &str) -> Result<Assertion, SamlError> {
    xml.parse::<Assertion>()
        .map_err(|e| SamlError::Malformed(format!("the signed assertion: {e}")))
}

/// The assertion inside the response's `EncryptedAssertion`, decrypted with the SP key;
/// signed by the response's signature (over the ciphertext), its own (checked after
/// decryption), or both, as required. Its expected `ID` beside it.
fn encrypted_assertion(
    xml: &str,
    shape: &Shape,
    idp: &IdpMetadata,
    expect: &Expectations<'_>,
) -> Result<(Assertion, Option<String>), SamlError> {
    let key = expect.decryption_key.ok_or_else(|| {
        refused("the assertion is encrypted, and no SP key is configured to decrypt it".into())
    })?;
    let response_signed = shape.signs_itself(shape.root_id.as_deref());
    let signed_response = if response_signed {
        Some(reduce(xml, idp)?)
    } else {
        None
    };
    let container = signed_response.as_deref().unwrap_or(xml);
    let encrypted = super::decrypt::find_encrypted(container)?;
    let plain = super::decrypt::decrypt_assertion(&encrypted, key, &shape.encrypted_namespaces)?;
    let inner = screen(&plain, Root::ASSERTION)?;
    if inner.assertions != 1 || inner.encrypted_assertions != 0 {
        return Err(refused(
            "the encrypted assertion holds further assertions".into(),
        ));
    }
    let assertion_signed = inner.signs_itself(inner.root_id.as_deref());
    required_signatures(response_signed, assertion_signed, expect.require_signed)?;
    let readable = if assertion_signed {
        reduce(&plain, idp)?
    } else {
        plain
    };
    Ok((parse_assertion(&readable)?, inner.root_id))
}

/// Checks that the elements `required` carry signatures (xmlsec then verifies every one).
fn required_signatures(
    response: bool,
    assertion: bool,
    required: SignedElements,
) -> Result<(), SamlError> {
    if !(response || assertion) {
        return Err(refused("nothing in the response is signed".into()));
    }
    let missing = match required {
        SignedElements::Assertion if !assertion => Some("the assertion is not signed"),
        SignedElements::Response if !response => Some("the response is not signed"),
        SignedElements::Both if !(assertion && response) => {
            Some("the response and its assertion must both be signed")
        }
        _ => None,
    };
    match missing {
        Some(reason) => Err(refused(format!(
            "{reason} (this provider is configured with require_signed = \"{}\")",
            match required {
                SignedElements::Assertion => "assertion",
                SignedElements::Response => "response",
                SignedElements::Both => "both",
            }
        ))),
        None => Ok(()),
    }
}

fn check_envelope(
    response: &Response,
    idp: &IdpMetadata,
    expect: &Expectations<'_>,
    signed: bool,
) -> Result<(), SamlError> {
    let status = response
        .status
        .as_ref()
        .and_then(|s| s.status_code.value.as_deref());
    if status != Some(SUCCESS) {
        return Err(SamlError::Status(status.unwrap_or("no status").to_owned()));
    }
    if response.version != "2.0" {
        return Err(refused(format!(
            "version `{}` is not 2.0",
            response.version
        )));
    }
    match response.destination.as_deref() {
        Some(destination) if destination != expect.acs_url => {
            return Err(refused(format!(
                "its Destination `{destination}` is not this service's ACS URL `{}`",
                expect.acs_url
            )));
        }
        None if signed => {
            return Err(refused(
                "a signed response must name its Destination".into(),
            ));
        }
        _ => {}
    }
    if let Some(issuer) = &response.issuer {
        check_issuer(issuer, idp, "response")?;
    }
    Ok(())
}

fn check_issuer(
    issuer: &samael::schema::Issuer,
    idp: &IdpMetadata,
    whose: &str,
) -> Result<(), SamlError> {
    if issuer.value.as_deref().map(str::trim) != Some(idp.entity_id.as_str()) {
        return Err(refused(format!(
            "the {whose}'s Issuer `{}` is not the provider's entity id `{}`",
            issuer.value.as_deref().unwrap_or_default(),
            idp.entity_id
        )));
    }
    if issuer.format.as_deref().is_some_and(|f| f != ENTITY_FORMAT) {
        return Err(refused(format!(
            "the {whose}'s Issuer has a Format other than entity"
        )));
    }
    Ok(())
}

fn unix(time: DateTime<Utc>) -> i64 {
    time.timestamp()
}

fn check_assertion(
    assertion: &Assertion,
    idp: &IdpMetadata,
    expect: &Expectations<'_>,
) -> Result<VerifiedAssertion, SamlError> {
    if assertion.version != "2.0" {
        return Err(refused(format!(
            "assertion version `{}` is not 2.0",
            assertion.version
        )));
    }
    check_issuer(&assertion.issuer, idp, "assertion")?;
    if unix(assertion.issue_instant) > expect.now + expect.skew {
        return Err(refused("the assertion was issued in the future".into()));
    }
    let subject = assertion
        .subject
        .as_ref()
        .ok_or_else(|| refused("the assertion has no Subject".into()))?;
    let name_id = subject
        .name_id
        .as_ref()
        .filter(|n| !n.value.trim().is_empty())
        .ok_or_else(|| refused("the assertion's Subject has no NameID".into()))?;
    let confirmation = bearer_confirmation(subject.subject_confirmations.as_deref(), expect)?;
    let mut not_on_or_after = confirmation.1;
    let conditions = assertion
        .conditions
        .as_ref()
        .ok_or_else(|| refused("the assertion has no Conditions".into()))?;
    if let Some(before) = conditions.not_before
        && expect.now + expect.skew < unix(before)
    {
        return Err(refused(
            "the assertion is not valid yet (Conditions NotBefore)".into(),
        ));
    }
    if let Some(after) = conditions.not_on_or_after {
        if unix(after) + expect.skew <= expect.now {
            return Err(refused(
                "the assertion has expired (Conditions NotOnOrAfter)".into(),
            ));
        }
        not_on_or_after = not_on_or_after.min(unix(after));
    }
    let restrictions = conditions
        .audience_restrictions
        .as_deref()
        .unwrap_or_default();
    if restrictions.is_empty() {
        return Err(refused("the assertion has no AudienceRestriction".into()));
    }
    // SAML core 2.5.1.4: every restriction must be met; within one, any audience will do.
    if !restrictions
        .iter()
        .all(|r| r.audience.iter().any(|a| a.trim() == expect.sp_entity_id))
    {
        return Err(refused(format!(
            "its audience does not include this service's entity id `{}`",
            expect.sp_entity_id
        )));
    }
    let statement = assertion
        .authn_statements
        .as_deref()
        .and_then(<[_]>::first)
        .ok_or_else(|| refused("the assertion has no AuthnStatement".into()))?;
    if let Some(session_end) = statement.session_not_on_or_after
        && unix(session_end) + expect.skew <= expect.now
    {
        return Err(refused(
            "the provider's session has ended (SessionNotOnOrAfter)".into(),
        ));
    }
    let attributes = assertion
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| s.attributes.iter())
        .filter_map(|a| {
            Some(SamlAttribute {
                name: a.name.clone()?,
                friendly_name: a.friendly_name.clone(),
                values: a.values.iter().filter_map(|v| v.value.clone()).collect(),
            })
        })
        .collect();
    Ok(VerifiedAssertion {
        id: assertion.id.clone(),
        issuer: idp.entity_id.clone(),
        name_id: name_id.value.trim().to_owned(),
        name_id_format: name_id.format.clone(),
        in_response_to: confirmation.0,
        not_on_or_after,
        authn_instant: statement.authn_instant.map(unix),
        authn_context: statement
            .authn_context
            .as_ref()
            .and_then(|c| c.value.as_ref())
            .and_then(|c| c.value.clone()),
        session_not_on_or_after: statement.session_not_on_or_after.map(unix),
        session_index: statement.session_index.clone(),
        attributes,
    })
}

/// The first bearer confirmation that holds now for our ACS URL: its `InResponseTo` and
/// `NotOnOrAfter`. The error names the check the last candidate failed.
fn bearer_confirmation(
    confirmations: Option<&[SubjectConfirmation]>,
    expect: &Expectations<'_>,
) -> Result<(Option<String>, i64), SamlError> {
    let mut why = "the assertion has no bearer SubjectConfirmation".to_owned();
    for confirmation in confirmations.unwrap_or_default() {
        if confirmation.method.as_deref() != Some(BEARER) {
            continue;
        }
        let Some(data) = &confirmation.subject_confirmation_data else {
            why = "its bearer SubjectConfirmation has no SubjectConfirmationData".into();
            continue;
        };
        if data.recipient.as_deref() != Some(expect.acs_url) {
            why = format!(
                "its Recipient `{}` is not this service's ACS URL `{}`",
                data.recipient.as_deref().unwrap_or_default(),
                expect.acs_url
            );
            continue;
        }
        let Some(after) = data.not_on_or_after.map(unix) else {
            why = "its SubjectConfirmationData has no NotOnOrAfter".into();
            continue;
        };
        if after + expect.skew <= expect.now {
            why = "the assertion has expired (SubjectConfirmationData NotOnOrAfter)".into();
            continue;
        }
        if data
            .not_before
            .is_some_and(|before| expect.now + expect.skew < unix(before))
        {
            why = "the assertion is not valid yet (SubjectConfirmationData NotBefore)".into();
            continue;
        }
        return Ok((data.in_response_to.clone(), after));
    }
    Err(refused(why))
}

fn refused(reason: String) -> SamlError {
    SamlError::Refused(reason)
}
