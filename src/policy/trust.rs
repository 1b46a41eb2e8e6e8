//! Trust policies: may this principal assume this role, tag the session, set its source
//! identity?

use super::context::{Request, RequestContext};
use super::document::{Effect, Policy};
use super::evaluate::{Decision, Evaluation, PolicyRole, StatementRef, applies};
use super::principal::Principal;

/// The `sts:` action that assumes a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssumeAction {
    /// `sts:AssumeRole`, by a role session or user.
    AssumeRole,
    /// `sts:AssumeRoleWithSAML`, by a SAML provider's principal.
    AssumeRoleWithSaml,
    /// `sts:AssumeRoleWithWebIdentity`, by an OIDC provider's principal.
    AssumeRoleWithWebIdentity,
}

impl AssumeAction {
    /// The action name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssumeAction::AssumeRole => "sts:AssumeRole",
            AssumeAction::AssumeRoleWithSaml => "sts:AssumeRoleWithSAML",
            AssumeAction::AssumeRoleWithWebIdentity => "sts:AssumeRoleWithWebIdentity",
        }
    }
}

/// A request to assume a role.
#[derive(Debug, Clone, Copy)]
pub struct TrustRequest<'a> {
    /// The role being assumed.
    pub role_arn: &'a str,
    /// How.
    pub action: AssumeAction,
    /// Who.
    pub principal: &'a Principal,
    /// Condition keys: claims (`saml:*`, `<issuer-host>:sub`…), `aws:RequestTag/*`,
    /// `aws:TagKeys`, `sts:TransitiveTagKeys`, `sts:SourceIdentity`…
    pub context: &'a RequestContext,
    /// Whether the session will carry tags (needs `sts:TagSession`).
    pub tags_session: bool,
    /// Whether the session sets a source identity (needs `sts:SetSourceIdentity`).
    pub sets_source_identity: bool,
}

/// The trust policy's answer for each action the request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustDecision {
    /// For the assume action itself.
    pub assume: Evaluation,
    /// For `sts:TagSession`, when the session carries tags.
    pub tag_session: Option<Evaluation>,
    /// For `sts:SetSourceIdentity`, when the session sets one.
    pub set_source_identity: Option<Evaluation>,
}

impl TrustDecision {
    /// Whether every needed action is allowed.
    pub fn allowed(&self) -> bool {
        [
            Some(&self.assume),
            self.tag_session.as_ref(),
            self.set_source_identity.as_ref(),
        ]
        .into_iter()
        .flatten()
        .all(|e| e.decision == Decision::Allow)
    }
}

/// Evaluates `request` against the role's trust policy. The trust policy is the whole
/// answer for federated principals; for `sts:AssumeRole` across accounts, the caller's own
/// identity policies must also allow it (checked by the caller of this function).
pub fn evaluate_trust(trust: &Policy, request: &TrustRequest<'_>) -> TrustDecision {
    let one = |action: &str| evaluate_action(trust, request, action);
    TrustDecision {
        assume: one(request.action.as_str()),
        tag_session: request.tags_session.then(|| one("sts:TagSession")),
        set_source_identity: request
            .sets_source_identity
            .then(|| one("sts:SetSourceIdentity")),
    }
}

/// Whether some `Allow` statement of `trust` names `principal` and `action`, conditions
/// aside: when none does, no claim can ever make the role assumable.
pub fn trust_could_allow(trust: &Policy, action: AssumeAction, principal: &Principal) -> bool {
    trust.statements.iter().any(|statement| {
        statement.effect == Effect::Allow
            && super::evaluate::names_principal_and_action(statement, principal, action.as_str())
    })
}

fn evaluate_action(trust: &Policy, request: &TrustRequest<'_>, action: &str) -> Evaluation {
    let mut missing = Vec::new();
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    let policy_request = Request {
        action,
        resource: request.role_arn,
        principal: request.principal,
        context: request.context,
        resource_account: None,
    };
    for statement in &trust.statements {
        if applies(statement, &policy_request, &mut missing).is_none() {
            continue;
        }
        let reference = StatementRef {
            policy: trust.name.clone(),
            role: PolicyRole::Resource,
            sid: statement.sid.clone(),
            index: statement.index,
        };
        match statement.effect {
            Effect::Allow => allows.push(reference),
            Effect::Deny => denies.push(reference),
        }
    }
    missing.sort();
    missing.dedup();
    let (decision, matched) = if !denies.is_empty() {
        (Decision::ExplicitDeny, denies)
    } else if !allows.is_empty() {
        (Decision::Allow, allows)
    } else {
        (Decision::ImplicitDeny, Vec::new())
    };
    Evaluation {
        decision,
        matched,
        missing_context_keys: missing,
        allowed_by_boundary: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyKind;

    const ROLE: &str = "arn:aws:iam::123456789012:role/Admin";
    const SAML: &str = "arn:aws:iam::123456789012:saml-provider/corp";

    fn trust(text: &str) -> Policy {
        Policy::parse(text, PolicyKind::Trust, "trust").unwrap()
    }

    fn saml_trust() -> Policy {
        trust(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
              {{"Sid":"Federate","Effect":"Allow","Principal":{{"Federated":"{SAML}"}},
                "Action":["sts:AssumeRoleWithSAML","sts:TagSession"],
                "Condition":{{"StringEquals":{{"SAML:aud":"https://rolegate.example.com/saml/acs"}}}}}},
              {{"Sid":"NoContractors","Effect":"Deny","Principal":{{"Federated":"{SAML}"}},
                "Action":"sts:AssumeRoleWithSAML",
                "Condition":{{"ForAnyValue:StringLike":{{"saml:eduPersonAffiliation":"contractor*"}}}}}}]}}"#
        ))
    }

    fn request<'a>(
        principal: &'a Principal,
        context: &'a RequestContext,
        tags: bool,
        source: bool,
    ) -> TrustRequest<'a> {
        TrustRequest {
            role_arn: ROLE,
            action: AssumeAction::AssumeRoleWithSaml,
            principal,
            context,
            tags_session: tags,
            sets_source_identity: source,
        }
    }

    fn saml_context(affiliation: &[&str]) -> RequestContext {
        let mut c = RequestContext::default();
        c.insert_one("saml:aud", "https://rolegate.example.com/saml/acs");
        c.insert(
            "saml:edupersonaffiliation",
            affiliation.iter().map(|s| s.to_string()).collect(),
        );
        c
    }

    #[test]
    fn federated_principal_with_matching_claims_may_assume_and_tag() {
        let principal = Principal::from_arn(SAML).unwrap();
        let context = saml_context(&["staff"]);
        let decision = evaluate_trust(&saml_trust(), &request(&principal, &context, true, false));
        assert!(decision.allowed());
        assert_eq!(decision.assume.matched[0].sid.as_deref(), Some("Federate"));
    }

    #[test]
    fn deny_on_a_claim_wins() {
        let principal = Principal::from_arn(SAML).unwrap();
        let context = saml_context(&["staff", "contractor-emea"]);
        let decision = evaluate_trust(&saml_trust(), &request(&principal, &context, false, false));
        assert_eq!(decision.assume.decision, Decision::ExplicitDeny);
        assert_eq!(
            decision.assume.matched[0].sid.as_deref(),
            Some("NoContractors")
        );
    }

    #[test]
    fn missing_audience_claim_is_not_trusted_and_reported() {
        let principal = Principal::from_arn(SAML).unwrap();
        let context = RequestContext::default();
        let decision = evaluate_trust(&saml_trust(), &request(&principal, &context, false, false));
        assert_eq!(decision.assume.decision, Decision::ImplicitDeny);
        assert_eq!(
            decision.assume.missing_context_keys,
            ["SAML:aud", "saml:eduPersonAffiliation"]
        );
    }

    #[test]
    fn source_identity_needs_its_own_permission() {
        let principal = Principal::from_arn(SAML).unwrap();
        let context = saml_context(&["staff"]);
        let decision = evaluate_trust(&saml_trust(), &request(&principal, &context, true, true));
        assert!(!decision.allowed());
        assert_eq!(
            decision.set_source_identity.unwrap().decision,
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn other_provider_is_not_trusted() {
        let principal =
            Principal::from_arn("arn:aws:iam::123456789012:saml-provider/other").unwrap();
        let context = saml_context(&["staff"]);
        assert!(
            !evaluate_trust(&saml_trust(), &request(&principal, &context, false, false)).allowed()
        );
    }

    #[test]
    fn role_session_by_account_principal_and_oidc_claims() {
        let policy = trust(
            r#"{"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"},
              {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.example.com"},
               "Action":"sts:AssumeRoleWithWebIdentity",
               "Condition":{"StringEquals":{"token.example.com:aud":"rolegate"},"StringLike":{"token.example.com:sub":"repo:acme/*"}}}]}"#,
        );
        let session =
            Principal::from_arn("arn:aws:sts::111122223333:assumed-role/Deployer/ci").unwrap();
        let context = RequestContext::default();
        let mut req = request(&session, &context, false, false);
        req.action = AssumeAction::AssumeRole;
        assert!(evaluate_trust(&policy, &req).allowed());

        let oidc = Principal::from_arn("arn:aws:iam::123456789012:oidc-provider/token.example.com")
            .unwrap();
        let mut claims = RequestContext::default();
        claims.insert_one("token.example.com:aud", "rolegate");
        claims.insert_one("token.example.com:sub", "repo:acme/app:ref:main");
        let mut req = request(&oidc, &claims, false, false);
        req.action = AssumeAction::AssumeRoleWithWebIdentity;
        assert!(evaluate_trust(&policy, &req).allowed());
        let mut evil = claims.clone();
        evil.insert_one("token.example.com:sub", "repo:evil/app");
        let req = TrustRequest {
            context: &evil,
            ..req
        };
        assert!(!evaluate_trust(&policy, &req).allowed());
    }
}
