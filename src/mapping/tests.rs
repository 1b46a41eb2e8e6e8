//! The engine on the shipped sample (`mappings/`), and the compile-time checks.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::*;
use crate::config::IdpName;
use crate::directory::Directory;
use crate::idp::{Identity, Protocol};

fn sample() -> (RuleSet, Directory) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings");
    let directory =
        crate::directory::load(&root.join("directory")).unwrap_or_else(|e| panic!("{e}"));
    let rules = load_rules(&root.join("rules")).unwrap_or_else(|e| panic!("{e}"));
    (rules, directory)
}

fn person(subject: &str, email: &str, groups: &[&str], mfa: bool) -> Identity {
    let amr: Vec<String> = if mfa {
        vec!["pwd".into(), "mfa".into()]
    } else {
        vec!["pwd".into()]
    };
    let claims = json!({"sub": subject, "email": email, "email_verified": true, "amr": amr, "aud": ["rolegate-demo"], "groups": groups});
    Identity {
        idp: IdpName::parse("demo").unwrap(),
        protocol: Protocol::Oidc,
        issuer: "http://127.0.0.1:8080/demo-idp".into(),
        subject: subject.into(),
        email: Some(email.into()),
        email_verified: true,
        name: None,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        mfa,
        amr,
        auth_time: None,
        signed_in_at: 0,
        session_ends_at: None,
        claims: claims.as_object().cloned().unwrap(),
    }
}

/// Monday 2026-11-23 10:00 UTC, and the Saturday after.
fn monday() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_428_000)
}
fn saturday() -> SystemTime {
    monday() + Duration::from_secs(5 * 86_400)
}

fn offered(identity: &Identity, now: SystemTime) -> (Vec<String>, Offer) {
    let (rules, directory) = sample();
    let input = MappingInput {
        identity,
        now,
        honour_idp_roles: false,
        explain: true,
    };
    let offer = evaluate(&rules, &directory, &input);
    let names = offer
        .roles
        .iter()
        .map(|r| format!("{}/{}", r.account_alias, r.role_name))
        .collect();
    (names, offer)
}

fn alice() -> Identity {
    person(
        "demo-alice",
        "alice@example.com",
        &[
            "rolegate-admins",
            "platform-engineers",
            "aws-345678901234-ReadOnly",
        ],
        true,
    )
}

#[test]
fn monday_is_a_monday() {
    // 2026-11-23 is a Monday; the time-window rule depends on it.
    assert_eq!(crate::policy::iso8601(monday()), "2026-11-23T10:00:00Z");
}

#[test]
fn admin_with_mfa_gets_the_roles_her_rules_grant() {
    let (names, offer) = offered(&alice(), monday());
    assert_eq!(
        names,
        [
            "production/Admin",
            "production/ReadOnly",
            "sandbox/Admin",
            "sandbox/Developer",
            "staging/ReadOnly"
        ]
    );
    let admin = offer
        .roles
        .iter()
        .find(|r| r.role_arn == "arn:aws:iam::345678901234:role/Admin")
        .unwrap();
    assert_eq!(admin.session_duration_seconds, 3600);
    assert_eq!(admin.source_identity.as_deref(), Some("alice"));
    assert_eq!(
        admin.session_tags.get("team").map(String::as_str),
        Some("platform")
    );
    assert!(
        !admin.session_tags.contains_key("cost-center"),
        "a missing claim drops its tag"
    );
    assert_eq!(admin.transitive_tag_keys, ["team"]);
    assert_eq!(admin.session_name, "alice@example.com");
    assert!(
        admin.trusted_by.ends_with("trust policy#DemoIdp"),
        "{}",
        admin.trusted_by
    );
    let read = offer
        .roles
        .iter()
        .find(|r| r.role_arn == "arn:aws:iam::345678901234:role/ReadOnly")
        .unwrap();
    assert_eq!(
        read.granted_by,
        ["aws-group-convention", "hardware-key-production-read"]
    );
    let sandbox_admin = offer
        .roles
        .iter()
        .find(|r| r.role_arn == "arn:aws:iam::123456789012:role/Admin")
        .unwrap();
    assert_eq!(sandbox_admin.session_duration_seconds, 14_400);
}

#[test]
fn developer_gets_both_conventions_and_team_grants() {
    let bob = person(
        "demo-bob",
        "bob@example.com",
        &[
            "developers",
            "AWS_staging_ReadOnly",
            "aws-123456789012-Developer",
        ],
        true,
    );
    let (names, offer) = offered(&bob, monday());
    assert_eq!(
        names,
        [
            "production/ReadOnly",
            "sandbox/Developer",
            "staging/Developer",
            "staging/ReadOnly"
        ]
    );
    let staging = offer
        .roles
        .iter()
        .find(|r| r.role_arn.ends_with("234567890123:role/Developer"))
        .unwrap();
    assert_eq!(
        staging.session_tags.get("team").map(String::as_str),
        Some("developers")
    );
}

#[test]
fn contractor_without_mfa_is_denied_production_and_limited_to_office_hours() {
    let carol = person(
        "demo-carol",
        "carol@contractors.example.net",
        &["contractors", "aws-345678901234-ReadOnly"],
        false,
    );
    let (names, offer) = offered(&carol, monday());
    assert_eq!(names, ["sandbox/Developer"]);
    assert_eq!(offer.roles[0].session_name, "contractor-carol");
    let production = offer
        .explanation
        .candidates
        .iter()
        .find(|c| c.account == "345678901234")
        .unwrap();
    assert_eq!(production.outcome, "denied");
    assert!(
        production.detail.contains("production-needs-mfa"),
        "{}",
        production.detail
    );
    let (weekend, offer) = offered(&carol, saturday());
    assert!(weekend.is_empty(), "{weekend:?}");
    let contractors = offer
        .explanation
        .rules
        .iter()
        .find(|r| r.rule == "contractors-sandbox-office-hours")
        .unwrap();
    assert_eq!(contractors.outcome, "not matched");
    assert!(
        contractors.detail.contains("time window"),
        "{}",
        contractors.detail
    );
}

#[test]
fn trust_policy_condition_is_enforced_per_role() {
    // platform-engineers with MFA but an amr without `mfa`: the engine's MFA flag comes from
    // two methods, the production Admin trust policy wants `mfa` in amr.
    let mut identity = alice();
    identity.amr = vec!["pwd".into(), "otp".into()];
    identity.claims.insert("amr".into(), json!(["pwd", "otp"]));
    let (names, offer) = offered(&identity, monday());
    assert!(!names.contains(&"production/Admin".to_owned()), "{names:?}");
    let admin = offer
        .explanation
        .candidates
        .iter()
        .find(|c| c.account == "production" && c.role == "Admin")
        .unwrap();
    assert_eq!(admin.outcome, "trust policy refuses");
}

#[test]
fn unexpected_claim_shapes_never_panic_and_explain_themselves() {
    let mut identity = alice();
    identity
        .claims
        .insert("on_call".into(), json!({"nested": [1, 2]}));
    identity
        .claims
        .insert("incident_level".into(), json!("very"));
    identity.groups = (0..10_000).map(|i| format!("group-{i}")).collect();
    identity
        .claims
        .insert("email_verified".into(), json!("x".repeat(1_000_000)));
    let (_, offer) = offered(&identity, monday());
    let glass = offer
        .explanation
        .rules
        .iter()
        .find(|r| r.rule == "break-glass-on-call")
        .unwrap();
    assert_eq!(glass.outcome, "not matched");
    assert!(
        glass.detail.contains("not a value") || glass.detail.contains("not a number"),
        "{}",
        glass.detail
    );
}

#[test]
fn idp_asserted_saml_roles_are_candidates_subject_to_trust_and_denies() {
    let mut identity = alice();
    identity.claims.insert(
        "https://aws.amazon.com/SAML/Attributes/Role".into(),
        json!([
            "arn:aws:iam::234567890123:oidc-provider/demo-idp.rolegate.local,arn:aws:iam::234567890123:role/Developer",
            "arn:aws:iam::123456789012:role/Admin,arn:aws:iam::123456789012:saml-provider/other"
        ]),
    );
    identity.claims.insert(
        "https://aws.amazon.com/SAML/Attributes/SessionDuration".into(),
        json!("1800"),
    );
    let (rules, directory) = sample();
    let input = MappingInput {
        identity: &identity,
        now: monday(),
        honour_idp_roles: true,
        explain: true,
    };
    let offer = evaluate(&rules, &directory, &input);
    let developer = offer
        .roles
        .iter()
        .find(|r| r.role_arn == "arn:aws:iam::234567890123:role/Developer")
        .unwrap();
    assert_eq!(developer.granted_by, ["idp-asserted-role"]);
    assert_eq!(developer.session_duration_seconds, 1800);
    let mismatch = offer
        .explanation
        .candidates
        .iter()
        .find(|c| c.granted_by == ["idp-asserted-role"] && c.account == "123456789012")
        .unwrap();
    assert_eq!(mismatch.outcome, "provider mismatch");
    let not_honoured = evaluate(
        &rules,
        &directory,
        &MappingInput {
            honour_idp_roles: false,
            ..input
        },
    );
    assert!(
        !not_honoured
            .roles
            .iter()
            .any(|r| r.granted_by == ["idp-asserted-role"])
    );
}

#[test]
fn fast_path_offers_what_the_explaining_path_offers() {
    let (rules, directory) = sample();
    for identity in [
        alice(),
        person("x", "x@example.com", &["developers"], false),
    ] {
        let explain = evaluate(
            &rules,
            &directory,
            &MappingInput {
                identity: &identity,
                now: monday(),
                honour_idp_roles: false,
                explain: true,
            },
        );
        let fast = evaluate(
            &rules,
            &directory,
            &MappingInput {
                identity: &identity,
                now: monday(),
                honour_idp_roles: false,
                explain: false,
            },
        );
        assert_eq!(explain.roles, fast.roles);
    }
}

fn compile_error(yaml: &str) -> String {
    compile_sources(&[(PathBuf::from("rules.yaml"), yaml.to_owned())])
        .unwrap_err()
        .to_string()
}

#[test]
fn rule_file_problems_are_reported_with_file_and_line() {
    let cases = [
        (
            "rules:\n  - id: a\n    when: { group: { regex: '(' } }\n    then: { account: sandbox, role: Admin }\n",
            "rules.yaml:3: group: invalid regex",
        ),
        (
            "rules:\n  - id: a\n    when: { group: { regex: '^x-(?P<acct>\\d+)$' } }\n    then: { account: \"{account}\", role: Admin }\n",
            "no matcher of this rule captures `account`",
        ),
        (
            "rules:\n  - id: a\n    deny: true\n    when: { group: x }\n    then: { account: sandbox, role: Admin }\n",
            "rules.yaml:5: a deny rule has no `then`",
        ),
        (
            "rules:\n  - id: a\n    when: { account: production }\n    then: { account: sandbox, role: Admin }\n",
            "use them in deny rules",
        ),
        (
            "rules:\n  - id: a\n    when: { group: g1 }\n    then: { account: sandbox, role: Admin }\n  - id: a\n    when: { group: g2 }\n    then: { account: sandbox, role: Admin }\n",
            "rules.yaml:5: rule id `a` is also used at rules.yaml:2",
        ),
        (
            "rules:\n  - id: a\n    when: { grup: x }\n    then: { account: sandbox, role: Admin }\n",
            "rules.yaml:3",
        ),
        (
            "rules:\n  - id: a\n    when: { claim: { path: level, gt: 1, lt: 3 } }\n    then: { account: sandbox, role: Admin }\n",
            "give exactly one of",
        ),
        (
            "rules:\n  - id: a\n    when: { time: { days: [funday] } }\n    then: { account: sandbox, role: Admin }\n",
            "`funday` is not a day",
        ),
        (
            "rules:\n  - id: a\n    when: { group: x }\n    then: { account: sandbox, role: Admin, session_tags: { team: x }, transitive_tag_keys: [other] }\n",
            "transitive tag key `other`",
        ),
        (
            "rules:\n  - id: a\n    when: { group: x }\n    then: { account: \"{acount\", role: Admin }\n",
            "is not closed",
        ),
        (
            "rules:\n  - id: a\n    when: { group: x }\n    then: { account: \"{claims.}\", role: Admin }\n",
            "is not a placeholder",
        ),
        (
            "rules:\n  - id: a\n    when: { group: x }\n",
            "rules.yaml:2: a rule needs `then`",
        ),
        // YAML 1.1's unquoted booleans and numbers are not names.
        (
            "rules:\n  - id: a\n    when: { group: yes }\n    then: { account: sandbox, role: Admin }\n",
            "rules.yaml:3: YAML reads this unquoted value as the boolean true: put the name in quotes",
        ),
        (
            "rules:\n  - id: a\n    when: { idp: off }\n    then: { account: sandbox, role: Admin }\n",
            "the boolean false: put the name in quotes",
        ),
        (
            "rules:\n  - id: a\n    when: { group: 2024 }\n    then: { account: sandbox, role: Admin }\n",
            "rules.yaml:3: YAML reads this unquoted value as the number 2024: put the name in quotes",
        ),
        (
            "rules:\n  - id: a\n    when: { group: [a, b] }\n    then: { account: sandbox, role: Admin }\n",
            "a list is not a name: write `{ in: [a, b] }`",
        ),
        (
            "rules:\n  - id: a\n    when: { group: }\n    then: { account: sandbox, role: Admin }\n",
            "the value is empty",
        ),
    ];
    for (yaml, expected) in cases {
        let message = compile_error(yaml);
        assert!(
            message.contains(expected),
            "expected `{expected}` in:\n{message}"
        );
    }
}

/// Finding #10.4: `email = eve@example.com, email_verified = false` got staging/ReadOnly
/// through `staff-read-staging`. An email rule matches only a verified address.
#[test]
fn email_domain_rules_match_only_verified_addresses() {
    let mut eve = person("eve", "eve@example.com", &[], false);
    let (verified, _) = offered(&eve, monday());
    assert!(
        verified.contains(&"staging/ReadOnly".to_owned()),
        "{verified:?}"
    );
    eve.email_verified = false;
    let (names, offer) = offered(&eve, monday());
    assert!(!names.contains(&"staging/ReadOnly".to_owned()), "{names:?}");
    let staff = offer
        .explanation
        .rules
        .iter()
        .find(|r| r.rule == "staff-read-staging")
        .unwrap();
    assert_eq!(staff.outcome, "not matched");
    assert_eq!(staff.detail, "email `eve@example.com` is not verified");
}
