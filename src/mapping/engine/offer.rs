//! What an evaluation returns: the offered roles and the explanation.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::directory::Origin;

/// A role offered to the person, ready for a role session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferedRole {
    /// The account id.
    pub account_id: String,
    /// The account alias.
    pub account_alias: String,
    /// The account's display name.
    pub account_name: String,
    /// The role ARN.
    pub role_arn: String,
    /// The role name.
    pub role_name: String,
    /// Session length, within the role's maximum.
    pub session_duration_seconds: u64,
    /// Session tags (become `aws:PrincipalTag/*`).
    pub session_tags: BTreeMap<String, String>,
    /// Tag keys that survive role chaining.
    pub transitive_tag_keys: Vec<String>,
    /// The session's source identity.
    pub source_identity: Option<String>,
    /// The RoleSessionName.
    pub session_name: String,
    /// The rules that granted it.
    pub granted_by: Vec<String>,
    /// The trust statement that allowed it (`policy#index` or `policy#Sid`).
    pub trusted_by: String,
}

/// What became of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleOutcome {
    /// The rule id.
    pub rule: String,
    /// Where it is written.
    #[serde(serialize_with = "serialize_display")]
    pub origin: Origin,
    /// `matched` or `not matched`.
    pub outcome: &'static str,
    /// Why not, or what it granted.
    pub detail: String,
}

/// Writes an origin as `file:line`.
fn serialize_display<S: serde::Serializer>(
    origin: &Origin,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(origin)
}

/// What became of one candidate grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateOutcome {
    /// The account as granted (id or alias).
    pub account: String,
    /// The role as granted.
    pub role: String,
    /// The rules that granted it.
    pub granted_by: Vec<String>,
    /// `offered` or the reason it was not.
    pub outcome: &'static str,
    /// The trust statement, deny rule or missing piece behind the outcome.
    pub detail: String,
}

/// Why the offer is what it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Each rule (all rules when explaining; otherwise those that matched).
    pub rules: Vec<RuleOutcome>,
    /// Each candidate grant.
    pub candidates: Vec<CandidateOutcome>,
}

/// The roles offered and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Offer {
    /// Offered roles, by account alias then role name.
    pub roles: Vec<OfferedRole>,
    /// The explanation.
    pub explanation: Explanation,
}
