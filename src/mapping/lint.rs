//! Static checks of rules against the directory and the configured identity providers:
//! what loads but cannot work as written.

use std::fmt;

use super::matcher::{Matcher, TextTest};
use super::{GrantTemplate, RuleSet};
use crate::directory::{Directory, Origin};
use crate::policy::{AssumeAction, Principal, trust_could_allow};

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    /// The rule's location.
    pub origin: Origin,
    /// The rule id.
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: rule `{}`: {}", self.origin, self.rule, self.message)
    }
}

/// The configured identity providers the rules may meet: name and whether it speaks SAML.
#[derive(Debug, Clone)]
pub struct KnownIdp {
    /// The configured name.
    pub name: String,
    /// SAML (else OIDC).
    pub saml: bool,
    /// Whether its `https://aws.amazon.com/SAML/Attributes/Role` values are honoured
    /// (`honour_idp_roles`, SAML only).
    pub honour_idp_roles: bool,
}

/// Checks `rules` against `directory` and the configured IdPs.
pub fn lint(rules: &RuleSet, directory: &Directory, idps: &[KnownIdp]) -> Vec<Lint> {
    let mut lints = Vec::new();
    for rule in rules.rules() {
        let mut say = |message: String| {
            lints.push(Lint {
                origin: rule.origin.clone(),
                rule: rule.id.clone(),
                message,
            });
        };
        for message in contradictions(&rule.when) {
            say(format!("can never match: {message}"));
        }
        check_idps(&rule.when, idps, &mut say);
        check_matcher_accounts(&rule.when, directory, &mut say);
        if let Some(grant) = &rule.grant {
            check_grant(grant, rules, directory, idps, &mut say);
        }
    }
    lints
}

fn check_grant(
    grant: &GrantTemplate,
    rules: &RuleSet,
    directory: &Directory,
    idps: &[KnownIdp],
    say: &mut dyn FnMut(String),
) {
    let Some(account_text) = grant.account.as_literal() else {
        return;
    };
    let Some(account) = directory.account(&account_text) else {
        say(format!(
            "grants account `{account_text}`, which is not in the directory"
        ));
        return;
    };
    let Some(role_text) = grant.role.as_literal() else {
        return;
    };
    let Some((_, role)) = directory.role(&account_text, &role_text) else {
        say(format!(
            "grants role `{role_text}`, which account `{}` does not have",
            account.alias
        ));
        return;
    };
    if let Some(duration) = grant.session_duration
        && duration > role.max_session_duration.as_secs()
    {
        say(format!(
            "session_duration {duration} s exceeds role `{}`'s maximum of {} s; it will be capped",
            role.name,
            role.max_session_duration.as_secs()
        ));
    }
    // Unreachable: a deny rule that tests only the grant removes it for everyone.
    for deny in rules.deny_rules() {
        if only_grant_tests(&deny.when)
            && denies_grant(
                &deny.when,
                account.id.as_str(),
                &account.alias,
                role.name.as_str(),
            )
        {
            say(format!(
                "unreachable: deny rule `{}` ({}) always removes {}/{}",
                deny.id, deny.origin, account.alias, role.name
            ));
        }
    }
    // Every trust check fails when no IdP that could sign someone in is trusted by the role.
    let trusted = account.identity_providers.iter().any(|(idp, provider)| {
        let saml = idps.iter().find(|k| &k.name == idp).map(|k| k.saml);
        let action = match saml {
            Some(true) => AssumeAction::AssumeRoleWithSaml,
            Some(false) => AssumeAction::AssumeRoleWithWebIdentity,
            None => return false,
        };
        trust_could_allow(
            &role.trust_policy,
            action,
            &Principal::Federated {
                provider: provider.arn.clone(),
            },
        )
    });
    if !trusted {
        say(format!(
            "grants {}/{} but its trust policy trusts none of the account's configured identity providers: every sign-in will be refused",
            account.alias, role.name
        ));
    }
}

/// Whether the matcher tests nothing but the grant (account/role).
fn only_grant_tests(matcher: &Matcher) -> bool {
    match matcher {
        Matcher::Account(_) | Matcher::Role(_) => true,
        Matcher::All(items) => items.iter().all(only_grant_tests),
        _ => false,
    }
}

fn denies_grant(matcher: &Matcher, id: &str, alias: &str, role: &str) -> bool {
    let text = |t: &TextTest, value: &str| match t {
        TextTest::Exact(e) => e == value,
        TextTest::OneOf(set) => set.contains(value),
        TextTest::Pattern(r) => r.is_match(value),
    };
    match matcher {
        Matcher::Account(t) => text(t, id) || text(t, alias),
        Matcher::Role(t) => text(t, role),
        Matcher::All(items) => items.iter().all(|m| denies_grant(m, id, alias, role)),
        _ => false,
    }
}

fn check_idps(matcher: &Matcher, idps: &[KnownIdp], say: &mut dyn FnMut(String)) {
    match matcher {
        Matcher::Idp(TextTest::Exact(name)) if !idps.iter().any(|k| &k.name == name) => {
            say(format!("matches idp `{name}`, which is not configured"));
        }
        Matcher::All(items) | Matcher::Any(items) => {
            items.iter().for_each(|m| check_idps(m, idps, say))
        }
        Matcher::Not(inner) => check_idps(inner, idps, say),
        _ => {}
    }
}

fn check_matcher_accounts(matcher: &Matcher, directory: &Directory, say: &mut dyn FnMut(String)) {
    match matcher {
        Matcher::Account(TextTest::Exact(account)) if directory.account(account).is_none() => {
            say(format!(
                "tests account `{account}`, which is not in the directory"
            ));
        }
        Matcher::All(items) | Matcher::Any(items) => items
            .iter()
            .for_each(|m| check_matcher_accounts(m, directory, say)),
        Matcher::Not(inner) => check_matcher_accounts(inner, directory, say),
        _ => {}
    }
}

/// Conjuncts that cannot hold together: `mfa: true` with `mfa: false`, a group with
/// `not` that group.
fn contradictions(matcher: &Matcher) -> Vec<String> {
    let Matcher::All(items) = matcher else {
        return match matcher {
            Matcher::Any(items) => items.iter().flat_map(contradictions).collect(),
            _ => Vec::new(),
        };
    };
    let mut found = Vec::new();
    let mfa: Vec<bool> = items
        .iter()
        .filter_map(|m| {
            if let Matcher::Mfa(b) = m {
                Some(*b)
            } else {
                None
            }
        })
        .collect();
    if mfa.contains(&true) && mfa.contains(&false) {
        found.push("it requires `mfa: true` and `mfa: false`".to_owned());
    }
    for item in items {
        if let Matcher::Group(TextTest::Exact(group)) = item {
            let negated = items.iter().any(|m| matches!(m, Matcher::Not(inner) if matches!(inner.as_ref(), Matcher::Group(TextTest::Exact(g)) if g == group)));
            if negated {
                found.push(format!("it requires group `{group}` and `not` that group"));
            }
        }
    }
    found.extend(items.iter().flat_map(contradictions));
    found
}
