//! Evaluation: rules → candidate grants → deny rules → existing roles → trust policies.

mod asserted;
mod offer;
mod trust;

use std::collections::BTreeMap;
use std::time::SystemTime;

pub use asserted::SAML_ROLE as SAML_ROLE_ATTRIBUTE;
pub use offer::{CandidateOutcome, Explanation, Offer, OfferedRole, RuleOutcome};

use self::asserted::idp_asserted;
use self::trust::{ClaimContexts, trust};
use super::matcher::{Bindings, Subject};
use super::{GrantTemplate, Rule, RuleSet};
use crate::directory::{Account, Directory, Role, is_iam_name_char};
use crate::idp::Identity;
use crate::policy::{Decision, StatementRef};

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
    let mut candidates = Candidates::with_capacity(positions.len());
    for rule in positions.iter().filter_map(|p| rules.rules.get(*p)) {
        if rule.deny {
            continue;
        }
        let Some(grant) = &rule.grant else { continue };
        match rule.when.evaluate(&subject) {
            Ok(bindings) if !bindings.is_empty() => {
                for binding in &bindings {
                    candidates.add(render(rule, grant, input.identity, binding));
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
            candidates.add(candidate);
        }
    }
    // Sized up front: these vectors of large items would otherwise regrow mid-evaluation.
    let candidates = candidates.list;
    let mut roles = Vec::with_capacity(candidates.len());
    let mut offered_at: foldhash::HashMap<String, usize> =
        foldhash::HashMap::with_capacity_and_hasher(
            candidates.len(),
            foldhash::fast::RandomState::default(),
        );
    if input.explain {
        explanation.candidates.reserve_exact(candidates.len());
    }
    let mut claims = ClaimContexts::new(input, directory);
    for candidate in candidates {
        let (result, outcome) = check(rules, directory, input, &mut claims, candidate);
        explanation.candidates.extend(outcome);
        if let Some(role) = result {
            merge_offer(&mut roles, &mut offered_at, role);
        }
    }
    roles.sort_by(|a, b| (&a.account_alias, &a.role_name).cmp(&(&b.account_alias, &b.role_name)));
    Offer { roles, explanation }
}

/// Adds `role`, or merges its granting rules into an earlier offer of the same role (granted
/// once by account id and once by alias, say). The first grant's settings stand.
/// `offered_at` indexes `roles` by role ARN, so a person offered thousands of roles costs no
/// quadratic search.
fn merge_offer(
    roles: &mut Vec<OfferedRole>,
    offered_at: &mut foldhash::HashMap<String, usize>,
    role: OfferedRole,
) {
    match offered_at
        .get(&role.role_arn)
        .and_then(|&at| roles.get_mut(at))
    {
        Some(existing) => merge_rules(&mut existing.granted_by, role.granted_by),
        None => {
            offered_at.insert(role.role_arn.clone(), roles.len());
            roles.push(role);
        }
    }
}

fn merge_rules(into: &mut Vec<String>, rules: Vec<String>) {
    for rule in rules {
        if !into.contains(&rule) {
            into.push(rule);
        }
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

/// The granted (account, role) pairs in grant order, indexed so that merging stays linear.
struct Candidates {
    list: Vec<Candidate>,
    at: foldhash::HashMap<(String, String), usize>,
}

impl Candidates {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            list: Vec::with_capacity(capacity),
            at: foldhash::HashMap::with_capacity_and_hasher(
                capacity,
                foldhash::fast::RandomState::default(),
            ),
        }
    }

    /// Adds `candidate`, merging it into an earlier grant of the same account and role.
    fn add(&mut self, candidate: Candidate) {
        let key = (candidate.account.clone(), candidate.role.clone());
        match self.at.get(&key).and_then(|&at| self.list.get_mut(at)) {
            Some(existing) => merge_rules(&mut existing.granted_by, candidate.granted_by),
            None => {
                self.at.insert(key, self.list.len());
                self.list.push(candidate);
            }
        }
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

/// Checks a candidate: renders, role exists, deny rules, provider, trust. Returns the offered
/// role, if any, and what became of the candidate.
fn check(
    rules: &RuleSet,
    directory: &Directory,
    input: &MappingInput<'_>,
    claims: &mut ClaimContexts<'_>,
    candidate: Candidate,
) -> (Option<OfferedRole>, Option<CandidateOutcome>) {
    let (offered, outcome, detail) = offer(rules, directory, input, claims, &candidate);
    // Without an explanation the grant's rules move into the offer instead of being copied.
    let (offer_rules, outcome_rules) = if input.explain {
        (candidate.granted_by.clone(), candidate.granted_by)
    } else {
        (candidate.granted_by, Vec::new())
    };
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
        granted_by: offer_rules,
        trusted_by: passed.trusted_by,
    });
    let outcome = input.explain.then_some(CandidateOutcome {
        account: candidate.account,
        role: candidate.role,
        granted_by: outcome_rules,
        outcome,
        detail,
    });
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
    if let Some(deny) = deny_rule_for(rules, input.identity, account, role, input.now) {
        return fail(
            "denied",
            format!("deny rule `{}` ({})", deny.id, deny.origin),
        );
    }
    let Some(provider) = account
        .identity_providers
        .get(input.identity.idp.as_str())
        .map(|linked| &linked.arn)
    else {
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
            let statements: Vec<String> = e.matched.iter().map(StatementRef::name).collect();
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
        .map(StatementRef::name)
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

/// The first deny rule that refuses `identity` the role `role` of `account` at `now`: deny
/// rules bind people whichever way they ask for a role session.
pub fn deny_rule_for<'r>(
    rules: &'r RuleSet,
    identity: &Identity,
    account: &Account,
    role: &Role,
    now: SystemTime,
) -> Option<&'r Rule> {
    let subject = Subject {
        identity,
        now,
        grant: Some((account.id.as_str(), &account.alias, role.name.as_str())),
        pattern_hits: None,
    };
    rules
        .deny_rules()
        .find(|deny| deny.when.evaluate(&subject).is_ok_and(|b| !b.is_empty()))
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
