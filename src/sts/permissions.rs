//! What a role session may do: its role's identity policies, narrowed by its session
//! policies and its role's permissions boundary, with the session's global condition keys
//! (`aws:PrincipalArn`, `aws:PrincipalTag/*`, `aws:MultiFactorAuthPresent`,
//! `aws:TokenIssueTime`, `aws:SourceIdentity`…) filled in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::names::role_id;
use super::token::SessionClaims;
use crate::directory::Directory;
use crate::policy::{
    Evaluation, GlobalKeys, Policy, PolicyKind, PolicySet, Principal, PrincipalType, Request,
    RequestContext, evaluate,
};

/// The principal a session's requests come from.
pub fn session_principal(claims: &SessionClaims) -> Principal {
    let role_name = claims.sub.rsplit('/').nth(1).unwrap_or_default().to_owned();
    Principal::AssumedRole {
        session_arn: claims.sub.clone(),
        account: claims.acct.clone(),
        role_name,
    }
}

/// `aws:userid` of a session: `<role id>:<session name>`.
pub fn session_user_id(claims: &SessionClaims) -> String {
    format!("{}:{}", role_id(&claims.role), claims.name)
}

/// The session's global condition keys at `now`, over `extra` (the request's own keys).
pub fn session_context(
    claims: &SessionClaims,
    now: SystemTime,
    extra: RequestContext,
) -> RequestContext {
    let mut context = extra;
    let user_id = session_user_id(claims);
    GlobalKeys {
        principal_arn: Some(&claims.role),
        principal_account: Some(&claims.acct),
        principal_type: Some(PrincipalType::AssumedRole),
        userid: Some(&user_id),
        principal_tags: (!claims.tags.is_empty()).then_some(&claims.tags),
        now: Some(now),
        mfa: Some((claims.mfa, None)),
        token_issue_time: Some(UNIX_EPOCH + Duration::from_secs(claims.iat)),
        source_identity: claims.srcid.as_deref(),
        ..GlobalKeys::default()
    }
    .apply(&mut context);
    context
}

/// Parses session policy texts kept with a session (they were validated when it began).
pub fn parse_session_policies(texts: &[String]) -> Vec<Policy> {
    texts
        .iter()
        .enumerate()
        .filter_map(|(i, text)| {
            Policy::parse(
                text,
                PolicyKind::Session,
                &format!("SessionPolicy.{}", i + 1),
            )
            .ok()
        })
        .collect()
}

/// What a session asks to do.
#[derive(Debug, Clone, Copy)]
pub struct SessionRequest<'a> {
    /// `service:Action`.
    pub action: &'a str,
    /// The resource ARN, or `*`.
    pub resource: &'a str,
    /// The resource's account when its ARN does not say; the session's own account to judge
    /// the session's policies alone (the resource side is judged elsewhere, as a trust
    /// policy judges `sts:AssumeRole`).
    pub resource_account: Option<&'a str>,
}

/// Evaluates `request` for the session: the role's policies ∩ the session policies ∩ the
/// boundary. A role the directory no longer has may do nothing.
pub fn evaluate_session(
    directory: &Directory,
    claims: &SessionClaims,
    session_policies: &[Policy],
    request: SessionRequest<'_>,
    context: &RequestContext,
) -> Evaluation {
    BoundPolicies::new(directory, claims, session_policies).evaluate(request, context)
}

/// The policies that bind one session, gathered once to decide several requests.
pub(super) struct BoundPolicies<'a> {
    principal: Principal,
    /// `None` when the directory no longer has the role: nothing is allowed.
    identity: Option<Vec<Policy>>,
    boundary: Option<&'a Policy>,
    session: &'a [Policy],
}

impl<'a> BoundPolicies<'a> {
    pub(super) fn new(
        directory: &'a Directory,
        claims: &SessionClaims,
        session_policies: &'a [Policy],
    ) -> Self {
        let role = directory.role_by_arn(&claims.role).map(|(_, role)| role);
        let identity = role.map(|role| {
            role.managed_policy_arns
                .iter()
                .filter_map(|arn| directory.policy(arn).cloned())
                .chain(role.inline_policies.iter().cloned())
                .collect()
        });
        let boundary = role
            .and_then(|role| role.permissions_boundary.as_deref())
            .and_then(|arn| directory.policy(arn));
        Self {
            principal: session_principal(claims),
            identity,
            boundary,
            session: session_policies,
        }
    }

    /// The decision for `request` in `context`.
    pub(super) fn evaluate(
        &self,
        request: SessionRequest<'_>,
        context: &RequestContext,
    ) -> Evaluation {
        let SessionRequest {
            action,
            resource,
            resource_account,
        } = request;
        let request = Request {
            action,
            resource,
            principal: &self.principal,
            context,
            resource_account,
        };
        match &self.identity {
            None => evaluate(
                &PolicySet::default(),
                &Request {
                    resource_account: None,
                    ..request
                },
            ),
            Some(identity) => evaluate(
                &PolicySet {
                    identity,
                    resource: None,
                    boundary: self.boundary,
                    session: self.session,
                },
                &request,
            ),
        }
    }
}
