//! AWS's SAML attribute convention: `https://aws.amazon.com/SAML/Attributes/Role` values
//! (`role-arn,provider-arn`, either order) and their session attributes become candidates.

use std::collections::BTreeMap;

use super::Candidate;
use crate::idp::Identity;

/// The SAML attributes of AWS's federation convention.
/// AWS's SAML attribute that lists `role-arn,provider-arn` pairs.
pub const SAML_ROLE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
const SAML_SESSION_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const SAML_SESSION_DURATION: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";
const SAML_PRINCIPAL_TAG: &str = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:";
const SAML_TRANSITIVE_TAG_KEYS: &str = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys";
const SAML_SOURCE_IDENTITY: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";
/// The rule id under which IdP-asserted roles appear.
const IDP_ASSERTED: &str = "idp-asserted-role";
/// Candidates from AWS's SAML `Role` attribute: `role-arn,provider-arn` in either order.
pub(super) fn idp_asserted(identity: &Identity) -> Vec<Candidate> {
    let first = |name: &str| identity.claim_strings(name).into_iter().next();
    let session_tags: BTreeMap<String, String> = identity
        .claims
        .iter()
        .filter_map(|(name, value)| {
            Some((
                name.strip_prefix(SAML_PRINCIPAL_TAG)?.to_owned(),
                value.as_str()?.to_owned(),
            ))
        })
        .filter(|(k, v)| crate::directory::validate_tag(k, v).is_ok())
        .collect();
    let transitive: Vec<String> = identity
        .claim_strings(SAML_TRANSITIVE_TAG_KEYS)
        .into_iter()
        .filter(|k| session_tags.contains_key(k))
        .collect();
    identity
        .claim_strings(SAML_ROLE)
        .iter()
        .filter_map(|value| {
            let (a, b) = value.split_once(',')?;
            let (a, b) = (a.trim(), b.trim());
            let (role, provider) = if a.contains(":role/") { (a, b) } else { (b, a) };
            let arn = crate::policy::Arn::parse(role)?;
            let name = arn.resource.rsplit('/').next()?;
            Some(Candidate {
                account: arn.account.to_owned(),
                role: name.to_owned(),
                granted_by: vec![IDP_ASSERTED.to_owned()],
                session_duration: first(SAML_SESSION_DURATION).and_then(|d| d.trim().parse().ok()),
                session_tags: session_tags.clone(),
                transitive_tag_keys: transitive.clone(),
                source_identity: first(SAML_SOURCE_IDENTITY),
                session_name: first(SAML_SESSION_NAME),
                asserted_provider: Some(provider.to_owned()),
                notes: Vec::new(),
            })
        })
        .collect()
}
