//! Response verification against the attacks of the SAML security considerations and the
//! XML signature wrapping literature: each case is a response that must be refused.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use samael::crypto::{Crypto, CryptoProvider};
use samael::signature::{DigestAlgorithm, SignatureAlgorithm};
use samael::traits::ToXml;

use super::SamlError;
use super::issuer::{ResponseSpec, SamlIssuer};
use super::metadata::IdpMetadata;
use super::verify::{Expectations, verify_response};
use crate::config::SignedElements;

const SP: &str = "http://127.0.0.1:8080/saml/metadata";
const ACS: &str = "http://127.0.0.1:8080/saml/acs";
const IDP: &str = "https://idp.example.com/saml";

fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_428_000)
}

fn issuer() -> SamlIssuer {
    SamlIssuer::generate(IDP).unwrap()
}

fn metadata(issuer: &SamlIssuer) -> IdpMetadata {
    let xml = issuer.metadata_xml("https://idp.example.com/sso");
    IdpMetadata::parse(&xml, None, 0).unwrap()
}

fn spec(sign: SignedElements) -> ResponseSpec<'static> {
    ResponseSpec {
        name_id: "alice@example.com",
        name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        audience: SP,
        acs_url: ACS,
        in_response_to: Some("_request1"),
        attributes: vec![
            ("email".into(), vec!["alice@example.com".into()]),
            ("groups".into(), vec!["developers".into(), "admins".into()]),
        ],
        authn_context: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
        now: at(),
        lifetime: Duration::from_secs(300),
        session_not_on_or_after: None,
        sign,
        encrypt_to: None,
    }
}

fn expect(now: SystemTime, require_signed: SignedElements) -> Expectations<'static> {
    Expectations {
        sp_entity_id: SP,
        acs_url: ACS,
        now: i64::try_from(crate::clock::unix_seconds(now)).unwrap(),
        skew: 60,
        require_signed,
        require_encrypted: false,
        decryption_key: None,
    }
}

fn verify(issuer: &SamlIssuer, xml: &str) -> Result<super::VerifiedAssertion, SamlError> {
    verify_response(
        xml,
        &metadata(issuer),
        &expect(at(), SignedElements::Assertion),
    )
}

fn refusal(issuer: &SamlIssuer, xml: &str) -> String {
    match verify(issuer, xml) {
        Ok(_) => panic!("accepted:\n{xml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_response_with_a_signed_assertion_is_accepted_and_read() {
    let idp = issuer();
    let xml = idp.response(&spec(SignedElements::Assertion)).unwrap();
    let verified = verify(&idp, &xml).unwrap();
    assert_eq!(verified.name_id, "alice@example.com");
    assert_eq!(verified.issuer, IDP);
    assert_eq!(verified.in_response_to.as_deref(), Some("_request1"));
    let groups = verified
        .attributes
        .iter()
        .find(|a| a.name == "groups")
        .unwrap();
    assert_eq!(groups.values, ["developers", "admins"]);
}

#[test]
fn a_changed_signed_value_breaks_the_signature() {
    let idp = issuer();
    let xml = idp.response(&spec(SignedElements::Assertion)).unwrap();
    let tampered = xml.replace(">alice@example.com<", ">mallory@example.com<");
    assert_ne!(tampered, xml);
    assert!(matches!(verify(&idp, &tampered), Err(SamlError::Signature)));
}

#[test]
fn a_signature_by_another_key_is_refused_even_with_its_certificate_in_key_info() {
    let idp = issuer();
    let attacker = SamlIssuer::generate(IDP).unwrap();
    // The attacker's response names the real issuer and carries the attacker's own
    // certificate in KeyInfo (samael's template puts it there).
    let xml = attacker.response(&spec(SignedElements::Assertion)).unwrap();
    assert!(xml.contains("X509Certificate"));
    assert!(matches!(verify(&idp, &xml), Err(SamlError::Signature)));
}

#[test]
fn sha1_signatures_are_refused() {
    let idp = issuer();
    let mut assertion = idp.assertion(&spec(SignedElements::Assertion));
    let mut template = idp.template(&assertion.id);
    template.signed_info.signature_method.algorithm =
        SignatureAlgorithm::Unsupported("http://www.w3.org/2000/09/xmldsig#rsa-sha1".into());
    for reference in &mut template.signed_info.reference {
        reference.digest_method.algorithm = DigestAlgorithm::Sha1;
    }
    assertion.signature = Some(template);
    let key = idp.private_key_der();
    let signed = Crypto::sign_xml(assertion.to_string().unwrap(), &key).unwrap();
    let body = signed.split_once("?>").map_or(signed.as_str(), |(_, b)| b);
    let xml = wrap_in_response(body);
    assert!(xml.contains("rsa-sha1"));
    assert!(matches!(verify(&idp, &xml), Err(SamlError::Signature)));
}

/// An unsigned response around `assertion`.
fn wrap_in_response(assertion: &str) -> String {
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp" Version="2.0" IssueInstant="2026-11-23T10:00:00Z" Destination="{ACS}" InResponseTo="_request1"><saml:Issuer>{IDP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{assertion}</samlp:Response>"#
    )
}

#[test]
fn an_unsigned_assertion_is_refused() {
    let idp = issuer();
    let assertion = idp.assertion(&spec(SignedElements::Assertion));
    let text = assertion.to_string().unwrap();
    let body = text.split_once("?>").map_or(text.as_str(), |(_, b)| b);
    assert!(refusal(&idp, &wrap_in_response(body)).contains("nothing in the response is signed"));
}

#[test]
fn the_configured_signed_elements_are_required() {
    let idp = issuer();
    let response_only = idp.response(&spec(SignedElements::Response)).unwrap();
    assert!(refusal(&idp, &response_only).contains("require_signed = \"assertion\""));
    let metadata = metadata(&idp);
    let response = expect(at(), SignedElements::Response);
    assert!(verify_response(&response_only, &metadata, &response).is_ok());
    let both = expect(at(), SignedElements::Both);
    assert!(verify_response(&response_only, &metadata, &both).is_err());
    let signed_twice = idp.response(&spec(SignedElements::Both)).unwrap();
    let verified = verify_response(&signed_twice, &metadata, &both).unwrap();
    assert_eq!(verified.name_id, "alice@example.com");
}

#[test]
fn a_second_assertion_beside_the_signed_one_is_refused() {
    let idp = issuer();
    let xml = idp.response(&spec(SignedElements::Assertion)).unwrap();
    // Signature wrapping: an unsigned copy with another subject, placed first.
    let start = xml.find("<saml2:Assertion").unwrap();
    let end = xml.rfind("</saml2:Assertion>").unwrap() + "</saml2:Assertion>".len();
    let evil = xml[start..end]
        .replace("alice@example.com", "mallory@example.com")
        .replace("ID=\"_", "ID=\"_evil");
    let wrapped = format!("{}{evil}{}", &xml[..start], &xml[start..]);
    assert!(refusal(&idp, &wrapped).contains("exactly one assertion"));
}

#[test]
fn a_comment_inside_the_name_id_is_refused_not_truncated() {
    let idp = issuer();
    let xml = idp.response(&spec(SignedElements::Assertion)).unwrap();
    // Exclusive canonicalisation drops comments, so the signature still verifies: a parser
    // that read only the text before the comment would see `alice@example.com.evil`'s prefix.
    let commented = xml.replacen(
        ">alice@example.com<",
        ">alice@example.com<!---->.evil.example<",
        1,
    );
    assert!(refusal(&idp, &commented).contains("comment"));
}

#[test]
fn dtds_are_refused_before_anything_reads_the_response() {
    let idp = issuer();
    let xml = idp.response(&spec(SignedElements::Assertion)).unwrap();
    let with_dtd = format!(
        "<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
        xml.split_once("?>").map_or(xml.as_str(), |(_, b)| b)
    );
    assert!(refusal(&idp, &with_dtd).contains("DOCTYPE"));
}

#[test]
fn audience_recipient_destination_and_issuer_must_be_ours() {
    let idp = issuer();
    let make = |change: &dyn Fn(&mut ResponseSpec<'static>)| {
        let mut spec = spec(SignedElements::Assertion);
        change(&mut spec);
        idp.response(&spec).unwrap()
    };
    let other_audience = make(&|s| s.audience = "https://other-sp.example.com");
    assert!(refusal(&idp, &other_audience).contains("audience"));
    let other_acs = make(&|s| s.acs_url = "https://other-sp.example.com/acs");
    assert!(refusal(&idp, &other_acs).contains("Destination"));
    let other = SamlIssuer::generate("https://evil.example.com").unwrap();
    let xml = other.response(&spec(SignedElements::Assertion)).unwrap();
    // Signed by a key we do not pin, and naming another issuer.
    assert!(verify(&idp, &xml).is_err());
}

#[test]
fn time_bounds_hold_with_the_skew() {
    let idp = issuer();
    let xml = idp.response(&spec(SignedElements::Assertion)).unwrap();
    let metadata = metadata(&idp);
    let within_skew = expect(
        at() + Duration::from_secs(300 + 30),
        SignedElements::Assertion,
    );
    assert!(verify_response(&xml, &metadata, &within_skew).is_ok());
    let expired = expect(
        at() + Duration::from_secs(300 + 61),
        SignedElements::Assertion,
    );
    let message = verify_response(&xml, &metadata, &expired)
        .unwrap_err()
        .to_string();
    assert!(message.contains("expired"), "{message}");
    let early = expect(at() - Duration::from_secs(120), SignedElements::Assertion);
    let message = verify_response(&xml, &metadata, &early)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("future") || message.contains("not valid yet"),
        "{message}"
    );
}

#[test]
fn a_failed_status_is_reported() {
    let idp = issuer();
    let xml = idp.response(&spec(SignedElements::Assertion)).unwrap();
    let denied = xml.replace(
        "urn:oasis:names:tc:SAML:2.0:status:Success",
        "urn:oasis:names:tc:SAML:2.0:status:Requester",
    );
    assert!(matches!(verify(&idp, &denied), Err(SamlError::Status(_))));
}

#[test]
fn metadata_without_a_signing_certificate_is_refused() {
    let idp = issuer();
    let xml = idp.metadata_xml("https://idp.example.com/sso");
    let start = xml.find("<md:KeyDescriptor").unwrap();
    let end = xml.find("</md:KeyDescriptor>").unwrap() + "</md:KeyDescriptor>".len();
    let bare = format!("{}{}", &xml[..start], &xml[end..]);
    let message = IdpMetadata::parse(&bare, None, 0).unwrap_err();
    assert!(message.contains("no signing certificate"), "{message}");
}

#[test]
fn an_encrypted_assertion_is_decrypted_with_the_sp_key_and_its_signature_checked() {
    let idp = issuer();
    let (sp_key, sp_certificate) = super::keys::self_signed("sp").unwrap();
    let mut encrypted = spec(SignedElements::Assertion);
    encrypted.encrypt_to = Some(&sp_certificate);
    let xml = idp.response(&encrypted).unwrap();
    assert!(xml.contains("EncryptedAssertion") && !xml.contains("alice@example.com"));
    let metadata = metadata(&idp);
    let mut expected = expect(at(), SignedElements::Assertion);
    expected.require_encrypted = true;
    let without_key = verify_response(&xml, &metadata, &expected).unwrap_err();
    assert!(
        without_key.to_string().contains("no SP key"),
        "{without_key}"
    );
    expected.decryption_key = Some(&sp_key);
    let verified = verify_response(&xml, &metadata, &expected).unwrap();
    assert_eq!(verified.name_id, "alice@example.com");
    // Another SP's key cannot decrypt it.
    let (other_key, _) = super::keys::self_signed("other").unwrap();
    expected.decryption_key = Some(&other_key);
    assert!(verify_response(&xml, &metadata, &expected).is_err());
    // Required encryption refuses a plain assertion.
    expected.decryption_key = Some(&sp_key);
    let plain = idp.response(&spec(SignedElements::Assertion)).unwrap();
    let refused = verify_response(&plain, &metadata, &expected).unwrap_err();
    assert!(refused.to_string().contains("not encrypted"), "{refused}");
}

#[test]
fn an_encrypted_assertion_signed_only_inside_the_signed_response_is_accepted_when_configured() {
    let idp = issuer();
    let (sp_key, sp_certificate) = super::keys::self_signed("sp").unwrap();
    let mut encrypted = spec(SignedElements::Response);
    encrypted.encrypt_to = Some(&sp_certificate);
    let xml = idp.response(&encrypted).unwrap();
    let metadata = metadata(&idp);
    let mut expected = expect(at(), SignedElements::Response);
    expected.decryption_key = Some(&sp_key);
    assert!(verify_response(&xml, &metadata, &expected).is_ok());
    let mut assertion_required = expected;
    assertion_required.require_signed = SignedElements::Assertion;
    let refused = verify_response(&xml, &metadata, &assertion_required).unwrap_err();
    assert!(
        refused.to_string().contains("assertion is not signed"),
        "{refused}"
    );
}

/// `issuer`'s metadata, signed by `signer` (an enveloped RSA-SHA256 signature).
fn signed_metadata(issuer: &SamlIssuer, signer: &SamlIssuer) -> String {
    let xml = issuer.metadata_xml("https://idp.example.com/sso");
    let template = signer.template("_metadata").to_string().unwrap();
    let template = template
        .split_once("?>")
        .map_or(template.as_str(), |(_, b)| b);
    let open_end = xml.find("\">").unwrap() + 2;
    let with_template = format!(
        "{} ID=\"_metadata\">{template}{}",
        &xml[..open_end - 1],
        &xml[open_end..]
    );
    Crypto::sign_xml(with_template, &signer.private_key_der()).unwrap()
}

#[test]
fn metadata_signed_by_the_configured_certificate_is_read_and_other_metadata_is_refused() {
    let idp = issuer();
    let signed = signed_metadata(&idp, &idp);
    let pinned = idp.certificate();
    let metadata = IdpMetadata::parse(&signed, Some(pinned), 0).unwrap();
    assert_eq!(metadata.entity_id, IDP);
    let unsigned = idp.metadata_xml("https://idp.example.com/sso");
    let message = IdpMetadata::parse(&unsigned, Some(pinned), 0).unwrap_err();
    assert!(message.contains("does not verify"), "{message}");
    let forger = SamlIssuer::generate("https://evil.example.com").unwrap();
    let forged = signed_metadata(&idp, &forger);
    assert!(IdpMetadata::parse(&forged, Some(pinned), 0).is_err());
    let tampered = signed.replace(
        "https://idp.example.com/sso",
        "https://evil.example.com/sso",
    );
    assert!(IdpMetadata::parse(&tampered, Some(pinned), 0).is_err());
}

#[test]
fn sp_metadata_shape() {
    let public = crate::config::PublicUrl::parse("https://sso.example.com").unwrap();
    let sp = super::ServiceProvider::generate(&public).unwrap();
    let certificate = samael::crypto::mime_encode_x509_cert(sp.certificate());
    let xml = sp
        .metadata_xml()
        .unwrap()
        .replace(&certificate, "[certificate]");
    assert_eq!(xml.matches("[certificate]").count(), 2, "{xml}");
    insta::assert_snapshot!(xml);
}

/// An assertion as the tests change it.
type Assertion = samael::schema::Assertion;
/// One change to an assertion before it is signed.
type Change = Box<dyn FnOnce(&mut Assertion)>;

/// A response whose signed assertion `change` altered before signing (inside an unsigned
/// response envelope with Destination and InResponseTo as `spec` gives them).
fn with_changed_assertion(idp: &SamlIssuer, change: impl FnOnce(&mut Assertion)) -> String {
    let mut assertion = idp.assertion(&spec(SignedElements::Assertion));
    change(&mut assertion);
    assertion.signature = Some(idp.template(&assertion.id));
    let signed = Crypto::sign_xml(assertion.to_string().unwrap(), &idp.private_key_der()).unwrap();
    let body = signed.split_once("?>").map_or(signed.as_str(), |(_, b)| b);
    wrap_in_response(body)
}

#[test]
fn each_required_part_of_the_assertion_is_required() {
    let idp = issuer();
    let baseline = with_changed_assertion(&idp, |_| {});
    assert!(verify(&idp, &baseline).is_ok(), "the baseline is accepted");
    let cases: [(&str, Change); 7] = [
        (
            "no AudienceRestriction",
            Box::new(|a| {
                a.conditions.as_mut().unwrap().audience_restrictions = None;
            }),
        ),
        ("no AuthnStatement", Box::new(|a| a.authn_statements = None)),
        (
            "no NameID",
            Box::new(|a| a.subject.as_mut().unwrap().name_id = None),
        ),
        (
            "has no NotOnOrAfter",
            Box::new(|a| {
                let confirmations = a.subject.as_mut().unwrap().subject_confirmations.as_mut();
                confirmations.unwrap()[0]
                    .subject_confirmation_data
                    .as_mut()
                    .unwrap()
                    .not_on_or_after = None;
            }),
        ),
        (
            "no bearer SubjectConfirmation",
            Box::new(|a| {
                let confirmations = a.subject.as_mut().unwrap().subject_confirmations.as_mut();
                confirmations.unwrap()[0].method =
                    Some("urn:oasis:names:tc:SAML:2.0:cm:holder-of-key".into());
            }),
        ),
        (
            "session has ended",
            Box::new(|a| {
                let past = chrono::DateTime::<chrono::Utc>::from(at() - Duration::from_secs(120));
                a.authn_statements.as_mut().unwrap()[0].session_not_on_or_after = Some(past);
            }),
        ),
        (
            "Format other than entity",
            Box::new(|a| {
                a.issuer.format =
                    Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into());
            }),
        ),
    ];
    for (expected, change) in cases {
        let xml = with_changed_assertion(&idp, change);
        let message = refusal(&idp, &xml);
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

#[test]
fn the_recipient_and_the_envelope_must_agree_with_the_assertion() {
    let idp = issuer();
    // No Destination on the (unsigned) envelope: the signed Recipient still decides.
    let other = with_changed_assertion(&idp, |a| {
        let confirmations = a.subject.as_mut().unwrap().subject_confirmations.as_mut();
        confirmations.unwrap()[0]
            .subject_confirmation_data
            .as_mut()
            .unwrap()
            .recipient = Some("https://other-sp.example.com/acs".into());
    });
    let without_destination = other.replacen(&format!(" Destination=\"{ACS}\""), "", 1);
    assert!(refusal(&idp, &without_destination).contains("Recipient"));
    // The envelope claims to answer another request than the signed assertion does.
    let baseline = with_changed_assertion(&idp, |_| {});
    let other_request =
        baseline.replacen("InResponseTo=\"_request1\"", "InResponseTo=\"_other\"", 1);
    assert!(refusal(&idp, &other_request).contains("different requests"));
}
