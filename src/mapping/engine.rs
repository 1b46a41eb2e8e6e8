//! Evaluation: rules → candidate grants → deny rules → existing roles → trust policies.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use super::matcher::{Bindings, Subject};
use super::{GrantTemplate, Rule, RuleSet};
use crate::directory::{Account, Directory, Origin, Role, is_iam_name_char};
use crate::idp::{Identity, Protocol};
use crate::policy::{
    AssumeAction, Decision, GlobalKeys, Principal, RequestContext, StatementRef, TrustRequest,
    add_claims_where, evaluate_trust,
};

/// The SAML attributes of AWS's federation convention.
const SAML_ROLE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
const SAML_SESSION_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const SAML_SESSION_DURATION: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";
const SAML_PRINCIPAL_TAG: &str = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:";
const SAML_TRANSITIVE_TAG_KEYS: &str = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys";
const SAML_SOURCE_IDENTITY: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";
/// The rule id under which IdP-asserted roles appear.
const IDP_ASSERTED: &str = "idp-asserted-role";
/// AWS's default session length.
const DEFAULT_SESSION: u64 = 3_600;

/// What the engine needs besides the rules and the directory.
#[derive(Debug, Clone, Copy)]
pub struct MappingInput<'a> {
    /// Who signed in.
    pub identity: &'a Identity,
    /// Now (time windows, `aws:CurrentTime`).
    pub now: SystemTime,
    /// Whether this IdP's `https://aws.amazon.com/SAML/Attributes/Role` values count.
    pub honour_idp_roles: bool,
    /// Evaluate every rule and say why each did or did not match (slower).
    pub explain: bool,
}

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

/// A grant before it is checked.
#[derive(Debug, Clone)]
struct Candidate {
    account: String,
    role: String,
    granted_by: Vec<String>,
    session_duration: Option<u64>,
    session_tags: BTreeMap<String, String>,
    transitive_tag_keys: Vec<String>,
    source_identity: Option<String>,
    session_name: Option<String>,
    /// For IdP-asserted roles: the provider ARN the IdP named.
    asserted_provider: Option<String>,
    notes: Vec<String>,
}

/// Evaluates the rules for one identity.
pub fn evaluate(rules: &RuleSet, directory: &Directory, input: &MappingInput<'_>) -> Offer {
    let (positions, hits) = if input.explain {
        ((0..rules.rules.len()).collect(), None)
    } else {
        let (positions, hits) = rules.candidates(&input.identity.groups);
        (positions, Some(hits))
    };
    let subject = Subject {
        identity: input.identity,
        now: input.now,
        grant: None,
        pattern_hits: hits.as_ref(),
    };
    let mut explanation = Explanation {
        rules: Vec::with_capacity(positions.len()),
        candidates: Vec::new(),
    };
    let mut candidates: Vec<Candidate> = Vec::with_capacity(positions.len());
    for rule in positions.iter().filter_map(|p| rules.rules.get(*p)) {
        if rule.deny {
            continue;
        }
        let Some(grant) = &rule.grant else { continue };
        match rule.when.evaluate(&subject) {
            Ok(bindings) if !bindings.is_empty() => {
                for binding in &bindings {
                    add_candidate(
                        &mut candidates,
                        render(rule, grant, input.identity, binding),
                    );
                }
                explanation.rules.push(outcome(
                    rule,
                    "matched",
                    format!("{} binding(s)", bindings.len()),
                ));
            }
            Ok(_) => explanation
                .rules
                .push(outcome(rule, "not matched", "no binding".into())),
            Err(reason) if input.explain => {
                explanation.rules.push(outcome(rule, "not matched", reason))
            }
            Err(_) => {}
        }
    }
    if input.honour_idp_roles {
        for candidate in idp_asserted(input.identity) {
            add_candidate(&mut candidates, candidate);
        }
    }
    // Sized up front: these vectors of large items would otherwise regrow mid-evaluation.
    let mut roles = Vec::with_capacity(candidates.len());
    explanation.candidates.reserve_exact(candidates.len());
    let mut claims = ClaimContexts::new(input, directory);
    for candidate in candidates {
        let (result, outcome) = check(rules, directory, input, &mut claims, candidate);
        explanation.candidates.push(outcome);
        if let Some(role) = result {
            merge_offer(&mut roles, role);
        }
    }
    roles.sort_by(|a, b| (&a.account_alias, &a.role_name).cmp(&(&b.account_alias, &b.role_name)));
    Offer { roles, explanation }
}

/// Adds `role`, or merges its granting rules into an earlier offer of the same role (granted
/// once by account id and once by alias, say). The first grant's settings stand.
fn merge_offer(roles: &mut Vec<OfferedRole>, role: OfferedRole) {
    match roles.iter_mut().find(|r| r.role_arn == role.role_arn) {
        Some(existing) => {
            for rule in role.granted_by {
                if !existing.granted_by.contains(&rule) {
                    existing.granted_by.push(rule);
                }
            }
        }
        None => roles.push(role),
    }
}

fn outcome(rule: &Rule, outcome: &'static str, detail: String) -> RuleOutcome {
    RuleOutcome {
        rule: rule.id.clone(),
        origin: rule.origin.clone(),
        outcome,
        detail,
    }
}

/// Adds `candidate`, merging it into an earlier grant of the same account and role.
fn add_candidate(candidates: &mut Vec<Candidate>, candidate: Candidate) {
    match candidates
        .iter_mut()
        .find(|c| c.account == candidate.account && c.role == candidate.role)
    {
        Some(existing) => {
            for rule in candidate.granted_by {
                if !existing.granted_by.contains(&rule) {
                    existing.granted_by.push(rule);
                }
            }
        }
        None => candidates.push(candidate),
    }
}

fn render(
    rule: &Rule,
    grant: &GrantTemplate,
    identity: &Identity,
    bindings: &Bindings,
) -> Candidate {
    let mut notes = Vec::new();
    let account =
        render_text(&grant.account, &"account", identity, bindings, &mut notes).unwrap_or_default();
    let role =
        render_text(&grant.role, &"role", identity, bindings, &mut notes).unwrap_or_default();
    let mut session_tags = BTreeMap::new();
    for (key, template) in &grant.session_tags {
        let Some(value) = render_text(
            template,
            &format_args!("session tag `{key}`"),
            identity,
            bindings,
            &mut notes,
        ) else {
            continue;
        };
        match crate::directory::validate_tag(key, &value) {
            Ok(()) => {
                session_tags.insert(key.clone(), value);
            }
            Err(e) => notes.push(format!("session tag dropped: {e}")),
        }
    }
    let source_identity = grant
        .source_identity
        .as_ref()
        .and_then(|t| render_text(t, &"source identity", identity, bindings, &mut notes));
    let session_name = grant
        .session_name
        .as_ref()
        .and_then(|t| render_text(t, &"session name", identity, bindings, &mut notes));
    Candidate {
        account,
        role,
        granted_by: vec![rule.id.clone()],
        session_duration: grant.session_duration,
        transitive_tag_keys: grant
            .transitive_tag_keys
            .iter()
            .filter(|k| session_tags.contains_key(*k))
            .cloned()
            .collect(),
        session_tags,
        source_identity,
        session_name,
        asserted_provider: None,
        notes,
    }
}

/// A template's text, or `None` with the reason added to `notes`.
fn render_text(
    template: &super::template::Template,
    what: &dyn std::fmt::Display,
    identity: &Identity,
    bindings: &Bindings,
    notes: &mut Vec<String>,
) -> Option<String> {
    template
        .render(identity, bindings)
        .map_err(|e| notes.push(format!("{what}: {e}")))
        .ok()
}

/// Strings of a claim that may be one string or a list.
fn claim_strings(identity: &Identity, name: &str) -> Vec<String> {
    match identity.claims.get(name) {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Candidates from AWS's SAML `Role` attribute: `role-arn,provider-arn` in either order.
fn idp_asserted(identity: &Identity) -> Vec<Candidate> {
    let first = |name: &str| claim_strings(identity, name).into_iter().next();
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
    let transitive: Vec<String> = claim_strings(identity, SAML_TRANSITIVE_TAG_KEYS)
        .into_iter()
        .filter(|k| session_tags.contains_key(k))
        .collect();
    claim_strings(identity, SAML_ROLE)
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

/// Checks a candidate: renders, role exists, deny rules, provider, trust. Returns the offered
/// role, if any, and what became of the candidate.
fn check(
    rules: &RuleSet,
    directory: &Directory,
    input: &MappingInput<'_>,
    claims: &mut ClaimContexts<'_>,
    candidate: Candidate,
) -> (Option<OfferedRole>, CandidateOutcome) {
    let (offered, outcome, detail) = offer(rules, directory, input, claims, &candidate);
    let offered = offered.map(|passed| OfferedRole {
        account_id: passed.account.id.as_str().to_owned(),
        account_alias: passed.account.alias.clone(),
        account_name: passed.account.display_name.clone(),
        role_arn: passed.role.arn.clone(),
        role_name: passed.role.name.as_str().to_owned(),
        session_duration_seconds: candidate
            .session_duration
            .unwrap_or(DEFAULT_SESSION)
            .min(passed.role.max_session_duration.as_secs()),
        session_tags: candidate.session_tags,
        transitive_tag_keys: candidate.transitive_tag_keys,
        source_identity: candidate.source_identity,
        session_name: passed.session_name,
        granted_by: candidate.granted_by.clone(),
        trusted_by: passed.trusted_by,
    });
    let outcome = CandidateOutcome {
        account: candidate.account,
        role: candidate.role,
        granted_by: candidate.granted_by,
        outcome,
        detail,
    };
    (offered, outcome)
}

/// A candidate that passed every check.
struct Passed<'d> {
    account: &'d Account,
    role: &'d Role,
    /// The trust statement that allowed it.
    trusted_by: String,
    session_name: String,
}

/// The candidate's fate: passed or not, the outcome and its detail.
type Verdict<'d> = (Option<Passed<'d>>, &'static str, String);

fn offer<'d>(
    rules: &RuleSet,
    directory: &'d Directory,
    input: &MappingInput<'_>,
    claims: &mut ClaimContexts<'_>,
    candidate: &Candidate,
) -> Verdict<'d> {
    let fail = |outcome: &'static str, detail: String| (None, outcome, detail);
    if candidate.account.is_empty() || candidate.role.is_empty() {
        return fail("incomplete grant", candidate.notes.join("; "));
    }
    let Some((account, role)) = directory.role(&candidate.account, &candidate.role) else {
        return match directory.account(&candidate.account) {
            Some(_) => fail(
                "no such role",
                format!(
                    "account `{}` has no role `{}`",
                    candidate.account, candidate.role
                ),
            ),
            None => fail(
                "no such account",
                format!("`{}` is not an account id or alias", candidate.account),
            ),
        };
    };
    let subject = Subject {
        identity: input.identity,
        now: input.now,
        grant: Some((account.id.as_str(), &account.alias, role.name.as_str())),
        pattern_hits: None,
    };
    for deny in rules.deny_rules() {
        if deny.when.evaluate(&subject).is_ok_and(|b| !b.is_empty()) {
            return fail(
                "denied",
                format!("deny rule `{}` ({})", deny.id, deny.origin),
            );
        }
    }
    let Some(provider) = account.identity_providers.get(input.identity.idp.as_str()) else {
        return fail(
            "no identity provider in account",
            format!(
                "account `{}` links no provider to idp `{}`",
                account.alias, input.identity.idp
            ),
        );
    };
    if let Some(asserted) = &candidate.asserted_provider
        && asserted != provider
    {
        return fail(
            "provider mismatch",
            format!("the IdP named `{asserted}`, the account links `{provider}`"),
        );
    }
    let session_name = session_name(candidate.session_name.as_deref(), input.identity);
    let trust = trust(role, provider, claims, candidate, &session_name);
    if !trust.allowed() {
        let evaluation = [
            Some(&trust.assume),
            trust.tag_session.as_ref(),
            trust.set_source_identity.as_ref(),
        ]
        .into_iter()
        .flatten()
        .find(|e| e.decision != Decision::Allow);
        let detail = evaluation.map_or_else(String::new, |e| {
            let statements: Vec<String> = e.matched.iter().map(statement_name).collect();
            let mut detail = format!("{:?}", e.decision);
            if !statements.is_empty() {
                detail.push_str(&format!(" by {}", statements.join(", ")));
            }
            if !e.missing_context_keys.is_empty() {
                detail.push_str(&format!(
                    "; missing keys: {}",
                    e.missing_context_keys.join(", ")
                ));
            }
            detail
        });
        return fail("trust policy refuses", detail);
    }
    let trusted_by = trust
        .assume
        .matched
        .first()
        .map(statement_name)
        .unwrap_or_default();
    let detail = ["trusted by ", &trusted_by].concat();
    let passed = Passed {
        account,
        role,
        trusted_by,
        session_name,
    };
    (Some(passed), "offered", detail)
}

/// `policy#Sid`, or `policy#index` for a statement without a Sid.
fn statement_name(statement: &StatementRef) -> String {
    let mut name = String::with_capacity(statement.policy.len() + 8);
    name.push_str(&statement.policy);
    name.push('#');
    match &statement.sid {
        Some(sid) => name.push_str(sid),
        None => {
            use std::fmt::Write as _;
            // Writing to a String cannot fail.
            let _ = write!(name, "{}", statement.index);
        }
    }
    name
}

/// The RoleSessionName: the grant's, else the email, else the subject, made to fit STS's
/// rules (2–64 characters of `[\w+=,.@-]`).
fn session_name(granted: Option<&str>, identity: &Identity) -> String {
    let wanted = granted
        .or(identity.email.as_deref())
        .unwrap_or(&identity.subject);
    let mut name = String::with_capacity(wanted.len().clamp(2, 64));
    name.extend(
        wanted
            .chars()
            .map(|c| if is_iam_name_char(c) { c } else { '-' })
            .take(64),
    );
    while name.len() < 2 {
        name.push('-');
    }
    name
}

/// A person's claims as condition keys, built once per key prefix (`saml`, or the OIDC
/// provider's host) during one evaluation and shared, as a context base, by every candidate;
/// over them, the keys shared by every candidate of one provider and session name.
struct ClaimContexts<'a> {
    input: &'a MappingInput<'a>,
    directory: &'a Directory,
    built: HashMap<String, Arc<RequestContext>>,
    /// (provider, session name, context): a handful, so searched in order.
    sessions: Vec<(String, String, Arc<RequestContext>)>,
}

impl<'a> ClaimContexts<'a> {
    fn new(input: &'a MappingInput<'a>, directory: &'a Directory) -> Self {
        Self {
            input,
            directory,
            built: HashMap::new(),
            sessions: Vec::new(),
        }
    }

    /// The claims as seen through `provider`, plus `aws:FederatedProvider` and
    /// `sts:RoleSessionName`.
    fn for_session(&mut self, provider: &str, session_name: &str) -> Arc<RequestContext> {
        if let Some((_, _, built)) = self
            .sessions
            .iter()
            .find(|(p, n, _)| p == provider && n == session_name)
        {
            return built.clone();
        }
        let mut context = RequestContext::over(self.for_provider(provider));
        GlobalKeys {
            federated_provider: Some(provider),
            ..GlobalKeys::default()
        }
        .apply(&mut context);
        context.insert_one("sts:RoleSessionName", session_name.to_owned());
        let context = Arc::new(context);
        self.sessions.push((
            provider.to_owned(),
            session_name.to_owned(),
            context.clone(),
        ));
        context
    }

    /// The claims as seen through `provider`: `saml:*` for SAML, `<provider host>:*` for OIDC.
    fn for_provider(&mut self, provider: &str) -> Arc<RequestContext> {
        let identity = self.input.identity;
        let prefix = match identity.protocol {
            Protocol::Saml => "saml",
            Protocol::Oidc => provider
                .split_once("oidc-provider/")
                .map_or(provider, |(_, host)| host),
        };
        if let Some(built) = self.built.get(prefix) {
            return built.clone();
        }
        let mut context = RequestContext::default();
        GlobalKeys {
            now: Some(self.input.now),
            ..GlobalKeys::default()
        }
        .apply(&mut context);
        // Only keys some trust policy reads can change a trust decision; copying the rest
        // (a 500-group list, say) for every evaluation would dominate its cost.
        let directory = self.directory;
        add_claims_where(&mut context, prefix, &identity.claims, |key| {
            directory.trust_reads(key)
        });
        if identity.protocol == Protocol::Saml {
            context.insert_one("saml:sub", identity.subject.clone());
            context.insert_one("saml:iss", identity.issuer.clone());
        }
        let context = Arc::new(context);
        self.built.insert(prefix.to_owned(), context.clone());
        context
    }
}

fn trust(
    role: &Role,
    provider: &str,
    claims: &mut ClaimContexts<'_>,
    candidate: &Candidate,
    session_name: &str,
) -> crate::policy::TrustDecision {
    let mut context = RequestContext::over(claims.for_session(provider, session_name));
    GlobalKeys {
        request_tags: (!candidate.session_tags.is_empty()).then_some(&candidate.session_tags),
        source_identity: candidate.source_identity.as_deref(),
        ..GlobalKeys::default()
    }
    .apply(&mut context);
    let action = match claims.input.identity.protocol {
        Protocol::Saml => AssumeAction::AssumeRoleWithSaml,
        Protocol::Oidc => AssumeAction::AssumeRoleWithWebIdentity,
    };
    if !candidate.transitive_tag_keys.is_empty() {
        context.insert(
            "sts:TransitiveTagKeys",
            candidate.transitive_tag_keys.clone(),
        );
    }
    if let Some(source) = &candidate.source_identity {
        context.insert_one("sts:SourceIdentity", source.clone());
    }
    let principal = Principal::Federated {
        provider: provider.to_owned(),
    };
    evaluate_trust(
        &role.trust_policy,
        &TrustRequest {
            role_arn: &role.arn,
            action,
            principal: &principal,
            context: &context,
            tags_session: !candidate.session_tags.is_empty(),
            sets_source_identity: candidate.source_identity.is_some(),
        },
    )
}
