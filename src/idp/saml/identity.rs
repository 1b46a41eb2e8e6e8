//! A verified assertion as the protocol-neutral [`Identity`]: the NameID as the subject,
//! email, name and groups from the configured attributes, every attribute for the rules,
//! and the multi-factor flag from the authentication context.

use serde_json::{Map, Value};

use super::verify::VerifiedAssertion;
use crate::config::{IdpName, SamlSettings};
use crate::idp::{Identity, Protocol};

/// NameID formats AWS names by their short form in `saml:sub_type`.
const PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
const TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";

/// `saml:sub_type` as AWS gives it: `persistent`, `transient`, or the format's URI.
pub(super) fn sub_type(format: Option<&str>) -> String {
    match format {
        Some(PERSISTENT) => "persistent".into(),
        Some(TRANSIENT) => "transient".into(),
        Some(other) => other.into(),
        None => "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified".into(),
    }
}

/// The identity `assertion` describes, from provider `idp` configured with `settings`;
/// `acs_url` is the audience AWS calls `saml:aud`.
pub(super) fn from_assertion(
    idp: IdpName,
    assertion: &VerifiedAssertion,
    settings: &SamlSettings,
    acs_url: &str,
    now: u64,
) -> Identity {
    let mut claims = Map::new();
    for attribute in &assertion.attributes {
        let value = match attribute.values.as_slice() {
            [one] => Value::String(one.clone()),
            many => Value::Array(many.iter().cloned().map(Value::String).collect()),
        };
        if let Some(friendly) = &attribute.friendly_name {
            claims
                .entry(friendly.clone())
                .or_insert_with(|| value.clone());
        }
        claims.insert(attribute.name.clone(), value);
    }
    let first = |names: &[String]| {
        names.iter().find_map(|name| {
            assertion
                .attributes
                .iter()
                .find(|a| &a.name == name || a.friendly_name.as_ref() == Some(name))
                .and_then(|a| a.values.first().cloned())
        })
    };
    let groups: Vec<String> = settings
        .attributes
        .groups
        .iter()
        .find_map(|name| {
            assertion
                .attributes
                .iter()
                .find(|a| &a.name == name || a.friendly_name.as_ref() == Some(name))
        })
        .map(|a| a.values.clone())
        .unwrap_or_default();
    let mfa = assertion
        .authn_context
        .as_ref()
        .is_some_and(|class| settings.mfa_authn_contexts.contains(class));
    // The keys AWS gives trust policies of SAML federation (`saml:sub`, …).
    let facts = [
        ("sub", assertion.name_id.clone()),
        ("sub_type", sub_type(assertion.name_id_format.as_deref())),
        ("iss", assertion.issuer.clone()),
        ("aud", acs_url.to_owned()),
    ];
    for (key, value) in facts {
        claims.insert(key.into(), Value::String(value));
    }
    // What Single Logout names the session by.
    let session = [
        ("authn_context", &assertion.authn_context),
        ("name_id_format", &assertion.name_id_format),
        ("session_index", &assertion.session_index),
    ];
    for (key, value) in session {
        if let Some(value) = value {
            claims.insert(key.into(), Value::String(value.clone()));
        }
    }
    Identity {
        idp,
        protocol: Protocol::Saml,
        issuer: assertion.issuer.clone(),
        subject: assertion.name_id.clone(),
        email: first(&settings.attributes.email),
        email_verified: false,
        name: first(&settings.attributes.name),
        groups,
        mfa,
        amr: if mfa { vec!["mfa".into()] } else { Vec::new() },
        auth_time: assertion
            .authn_instant
            .and_then(|at| u64::try_from(at).ok()),
        signed_in_at: now,
        session_ends_at: assertion
            .session_not_on_or_after
            .and_then(|at| u64::try_from(at).ok()),
        claims,
    }
}
