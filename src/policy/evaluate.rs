//! Evaluation in AWS's order: an explicit `Deny` anywhere wins; otherwise identity or
//! resource policies must allow, inside the permissions boundary and the session policies
//! when those exist; across accounts, both sides must allow.

use super::arn::Arn;
use super::context::Request;
use super::document::{Effect, Element, Policy, ResourcePattern, Statement};
use super::principal::PrincipalMatch;

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// A `Deny` statement matched.
    ExplicitDeny,
    /// Nothing allowed it (or a boundary or session policy did not).
    ImplicitDeny,
}

impl Decision {
    /// AWS's spelling in simulation results: `allowed`, `explicitDeny`, `implicitDeny`.
    pub fn as_aws_str(self) -> &'static str {
        match self {
            Decision::Allow => "allowed",
            Decision::ExplicitDeny => "explicitDeny",
            Decision::ImplicitDeny => "implicitDeny",
        }
    }
}

/// The part a policy plays in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRole {
    /// Attached to the caller (managed or inline).
    Identity,
    /// Attached to the resource (including a role's trust policy).
    Resource,
    /// The caller's permissions boundary.
    PermissionsBoundary,
    /// Passed when the session was created.
    Session,
}

/// A statement that decided a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    /// The policy's name.
    pub policy: String,
    /// The part the policy played.
    pub role: PolicyRole,
    /// The statement's `Sid`.
    pub sid: Option<String>,
    /// The statement's position in its policy.
    pub index: usize,
}

impl StatementRef {
    /// `policy#Sid`, or `policy#index` for a statement without a Sid: how explanations,
    /// offers and audit events name a deciding statement.
    pub fn name(&self) -> String {
        let mut name = String::with_capacity(self.policy.len() + 8);
        name.push_str(&self.policy);
        name.push('#');
        match &self.sid {
            Some(sid) => name.push_str(sid),
            None => {
                use std::fmt::Write as _;
                // Writing to a String cannot fail.
                let _ = write!(name, "{}", self.index);
            }
        }
        name
    }
}

/// A decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// The statements that decided it: the matching `Deny`s for an explicit deny, the
    /// `Allow`s that granted it otherwise.
    pub matched: Vec<StatementRef>,
    /// Condition keys the policies asked for that the request did not carry (sorted).
    pub missing_context_keys: Vec<String>,
    /// Whether the permissions boundary allowed the request (when there is one).
    pub allowed_by_boundary: Option<bool>,
}

/// The policies that apply to a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySet<'a> {
    /// The caller's identity-based policies.
    pub identity: &'a [Policy],
    /// The resource's policy.
    pub resource: Option<&'a Policy>,
    /// The caller's permissions boundary.
    pub boundary: Option<&'a Policy>,
    /// The session's policies.
    pub session: &'a [Policy],
}

/// What one policy said about a request.
#[derive(Default)]
struct Verdicts {
    allows: Vec<(StatementRef, PrincipalMatch)>,
    denies: Vec<StatementRef>,
}

/// Evaluates `request` against `policies`.
pub fn evaluate(policies: &PolicySet<'_>, request: &Request<'_>) -> Evaluation {
    let mut missing = Vec::new();
    // Actions are `service:name`; statements are indexed by (lowercase) service.
    let service = request
        .action
        .split_once(':')
        .map_or("", |(s, _)| s)
        .to_ascii_lowercase();
    let identity = scan(
        policies.identity,
        PolicyRole::Identity,
        request,
        &service,
        &mut missing,
    );
    let resource = scan(
        policies
            .resource
            .map(std::slice::from_ref)
            .unwrap_or_default(),
        PolicyRole::Resource,
        request,
        &service,
        &mut missing,
    );
    let boundary = scan(
        policies
            .boundary
            .map(std::slice::from_ref)
            .unwrap_or_default(),
        PolicyRole::PermissionsBoundary,
        request,
        &service,
        &mut missing,
    );
    let session = scan(
        policies.session,
        PolicyRole::Session,
        request,
        &service,
        &mut missing,
    );
    missing.sort();
    missing.dedup();

    let allowed_by_boundary = policies.boundary.map(|_| !boundary.allows.is_empty());
    let denies: Vec<StatementRef> = [&identity, &resource, &boundary, &session]
        .into_iter()
        .flat_map(|v| v.denies.iter().cloned())
        .collect();
    if !denies.is_empty() {
        return Evaluation {
            decision: Decision::ExplicitDeny,
            matched: denies,
            missing_context_keys: missing,
            allowed_by_boundary,
        };
    }

    let within_boundary = allowed_by_boundary.unwrap_or(true);
    let within_session = policies.session.is_empty() || !session.allows.is_empty();
    let identity_allows = !identity.allows.is_empty();
    let strongest_resource_grant = resource.allows.iter().map(|(_, how)| *how).max();
    let allowed = if is_cross_account(request) {
        // Both sides must allow; the resource side may name the account (delegation).
        identity_allows && within_boundary && within_session && strongest_resource_grant.is_some()
    } else {
        match strongest_resource_grant {
            // A grant to the session (or user) ARN itself is not limited by the
            // boundary or session policies' implicit deny.
            Some(PrincipalMatch::Direct) => true,
            // A grant to the role ARN is.
            Some(PrincipalMatch::Role) => within_boundary && within_session,
            // Naming the account delegates to its identity policies.
            Some(PrincipalMatch::Account) | None => {
                identity_allows && within_boundary && within_session
            }
        }
    };
    let matched = if allowed {
        [identity, resource, boundary, session]
            .into_iter()
            .flat_map(|v| v.allows.into_iter().map(|(s, _)| s))
            .collect()
    } else {
        Vec::new()
    };
    Evaluation {
        decision: if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        },
        matched,
        missing_context_keys: missing,
        allowed_by_boundary,
    }
}

/// Whether the caller and the resource are in different (known) accounts.
fn is_cross_account(request: &Request<'_>) -> bool {
    let resource_account = request
        .resource_account
        .or_else(|| Arn::parse(request.resource).map(|a| a.account))
        .filter(|a| !a.is_empty());
    match (request.principal.account(), resource_account) {
        (Some(caller), Some(owner)) => caller != owner,
        _ => false,
    }
}

fn scan(
    policies: &[Policy],
    role: PolicyRole,
    request: &Request<'_>,
    service: &str,
    missing: &mut Vec<String>,
) -> Verdicts {
    let mut verdicts = Verdicts::default();
    for policy in policies {
        let candidates = policy.index.candidates(service);
        for statement in candidates.filter_map(|i| policy.statements.get(i)) {
            let Some(how) = applies(statement, request, missing) else {
                continue;
            };
            let reference = StatementRef {
                policy: policy.name.clone(),
                role,
                sid: statement.sid.clone(),
                index: statement.index,
            };
            match statement.effect {
                Effect::Allow => verdicts.allows.push((reference, how)),
                Effect::Deny => verdicts.denies.push(reference),
            }
        }
    }
    verdicts
}

/// Whether `statement` applies to `request`, and how its principal matched.
pub(super) fn applies(
    statement: &Statement,
    request: &Request<'_>,
    missing: &mut Vec<String>,
) -> Option<PrincipalMatch> {
    let how = principal_matches(statement.principals.as_ref(), request)?;
    if !action_matches(&statement.actions, request.action) {
        return None;
    }
    let resource = resource_matches(statement.resources.as_ref(), request, missing);
    if resource == ResourceMatch::No {
        return None;
    }
    // Every condition must hold; each is evaluated so that every missing key is reported,
    // also when the resource could not be resolved for want of a variable.
    let mut all_hold = true;
    for condition in &statement.conditions {
        all_hold &= condition.evaluate(request.context, missing);
    }
    (all_hold && resource == ResourceMatch::Yes).then_some(how)
}

/// Whether `statement` names `principal` and `action`, ignoring resources and conditions.
pub(super) fn names_principal_and_action(
    statement: &Statement,
    principal: &super::principal::Principal,
    action: &str,
) -> bool {
    let context = super::context::RequestContext::default();
    let request = Request {
        action,
        resource: "*",
        principal,
        context: &context,
        resource_account: None,
    };
    principal_matches(statement.principals.as_ref(), &request).is_some()
        && action_matches(&statement.actions, action)
}

fn principal_matches(
    element: Option<&Element<super::principal::PrincipalSet>>,
    request: &Request<'_>,
) -> Option<PrincipalMatch> {
    let Some(element) = element else {
        return Some(PrincipalMatch::Direct);
    };
    match (element.negated, element.items.matches(request.principal)) {
        (false, found) => found,
        (true, Some(_)) => None,
        (true, None) => Some(PrincipalMatch::Direct),
    }
}

fn action_matches(element: &Element<Vec<super::glob::Glob>>, action: &str) -> bool {
    element.items.iter().any(|g| g.matches(action)) != element.negated
}

/// Whether a statement's resource element matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResourceMatch {
    Yes,
    No,
    /// No pattern matched and at least one needed a variable the request lacks.
    Unresolved,
}

fn resource_matches(
    element: Option<&Element<Vec<ResourcePattern>>>,
    request: &Request<'_>,
    missing: &mut Vec<String>,
) -> ResourceMatch {
    let Some(element) = element else {
        return ResourceMatch::Yes;
    };
    // A simulation against `*` asks about every resource: any pattern could match it, and a
    // `NotResource` applies unless it excludes everything.
    if request.resource == "*" {
        let excludes_everything = element
            .items
            .iter()
            .any(|p| matches!(p, ResourcePattern::Any));
        return if element.negated && excludes_everything {
            ResourceMatch::No
        } else {
            ResourceMatch::Yes
        };
    }
    let arn = Arn::parse(request.resource);
    let mut unresolved = false;
    let any = element.items.iter().any(|pattern| match pattern {
        ResourcePattern::Any => true,
        ResourcePattern::Arn(p) => arn.is_some_and(|a| p.matches(&a)),
        ResourcePattern::Template(template) => match template.arn_pattern(request.context) {
            Ok(Some(p)) => arn.is_some_and(|a| p.matches(&a)),
            Ok(None) => false,
            Err(missing_variable) => {
                missing.push(missing_variable.0);
                unresolved = true;
                false
            }
        },
    });
    match (element.negated, any, unresolved) {
        // A listed resource matched: decided, whatever else could not be resolved.
        (false, true, _) => ResourceMatch::Yes,
        (true, true, _) => ResourceMatch::No,
        (_, false, true) => ResourceMatch::Unresolved,
        (false, false, false) => ResourceMatch::No,
        (true, false, false) => ResourceMatch::Yes,
    }
}
