//! "What can I do": a role session's access by service, for the console. The services are
//! those the session's identity policies name; each is probed through the policy engine
//! with exactly the policies that bind the session (identity ∩ session policies ∩ boundary,
//! explicit denies winning), so the summary never claims more than a request would get.

use std::collections::BTreeMap;

use super::permissions::{BoundPolicies, SessionRequest};
use super::token::SessionClaims;
use crate::directory::Directory;
use crate::policy::{Decision, Effect, Policy, RequestContext};

/// How much of a service a session may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccessLevel {
    /// Every action (`service:*` is allowed).
    Full,
    /// Some actions, all of them reads (`Get`, `List`, `Describe`…).
    Read,
    /// Some actions, not only reads.
    Partial,
    /// Named by a policy, but nothing is allowed (a boundary or a deny takes it away).
    None,
}

impl AccessLevel {
    /// The word the console shows.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Full => "full access",
            AccessLevel::Read => "read",
            AccessLevel::Partial => "partial",
            AccessLevel::None => "no access",
        }
    }
}

/// One service's line in the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccess {
    /// The service prefix (`s3`), or `*` for "every service" (an `Action: "*"` or a
    /// `NotAction` allow).
    pub service: String,
    /// What is allowed.
    pub level: AccessLevel,
    /// The allowed action patterns, as written.
    pub allowed: Vec<String>,
    /// The action patterns an explicit `Deny` names for the service.
    pub denied: Vec<String>,
}

/// The session's access by service, `*` first, then by service name.
pub fn service_access(
    directory: &Directory,
    claims: &SessionClaims,
    session_policies: &[Policy],
    context: &RequestContext,
) -> Vec<ServiceAccess> {
    let Some((_, role)) = directory.role_by_arn(&claims.role) else {
        return Vec::new();
    };
    let identity: Vec<&Policy> = role
        .managed_policy_arns
        .iter()
        .filter_map(|arn| directory.policy(arn))
        .chain(role.inline_policies.iter())
        .collect();
    let mut patterns: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for statement in identity.iter().flat_map(|p| p.statements.iter()) {
        let (actions, negated) = statement.action_patterns();
        for action in actions {
            let service = if negated || action == "*" {
                "*".to_owned()
            } else {
                action
                    .split(':')
                    .next()
                    .unwrap_or(action)
                    .to_ascii_lowercase()
            };
            let entry = patterns.entry(service).or_default();
            let written = if negated {
                format!("all but {action}")
            } else {
                action.to_owned()
            };
            match statement.effect {
                Effect::Allow => entry.0.push(written),
                Effect::Deny => entry.1.push(written),
            }
        }
    }
    let bound = BoundPolicies::new(directory, claims, session_policies);
    let allows = |action: &str| {
        let request = SessionRequest {
            action,
            resource: "*",
            resource_account: None,
        };
        bound.evaluate(request, context).decision == Decision::Allow
    };
    patterns
        .into_iter()
        .filter(|(_, (allowed, _))| !allowed.is_empty())
        .map(|(service, (mut allowed, mut denied))| {
            allowed.sort();
            allowed.dedup();
            denied.sort();
            denied.dedup();
            let level = level(&service, &allowed, &allows);
            ServiceAccess {
                service,
                level,
                allowed,
                denied,
            }
        })
        .collect()
}

/// Probes `service`: `service:*` allowed is full access; else each allowed pattern, made a
/// concrete action, decides between read, partial and none.
fn level(service: &str, allowed: &[String], allows: &impl Fn(&str) -> bool) -> AccessLevel {
    if service == "*" {
        // A probe in a service no policy names: what "every service" really grants.
        return if allows("rolegate-probe:AnyAction") {
            AccessLevel::Full
        } else {
            AccessLevel::Partial
        };
    }
    if allows(&format!("{service}:*")) {
        return AccessLevel::Full;
    }
    let granted: Vec<&String> = allowed
        .iter()
        .filter(|pattern| allows(&pattern.replace('*', "Any")))
        .collect();
    if granted.is_empty() {
        AccessLevel::None
    } else if granted.iter().all(|p| is_read(p)) {
        AccessLevel::Read
    } else {
        AccessLevel::Partial
    }
}

/// Whether an action pattern only reads, by IAM's naming conventions.
fn is_read(pattern: &str) -> bool {
    const READS: [&str; 10] = [
        "Get", "List", "Describe", "View", "Read", "Lookup", "Search", "Query", "Scan", "BatchGet",
    ];
    let name = pattern.split_once(':').map_or(pattern, |(_, name)| name);
    READS.iter().any(|verb| name.starts_with(verb))
}
