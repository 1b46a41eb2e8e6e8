//! Invariants of evaluation and parsing, checked on generated policies and requests.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

const ACTIONS: [&str; 8] = [
    "s3:GetObject",
    "s3:Get*",
    "s3:*",
    "S3:PUTOBJECT",
    "ec2:Describe*",
    "*",
    "iam:?etUser",
    "sts:AssumeRole",
];
const RESOURCES: [&str; 6] = [
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::home/${aws:username}/*",
    "arn:aws:ec2:*:123456789012:instance/*",
    "arn:aws:iam::123456789012:user/${aws:username, 'nobody'}",
];
const REQUEST_ACTIONS: [&str; 5] = [
    "s3:GetObject",
    "s3:PutObject",
    "ec2:DescribeInstances",
    "iam:GetUser",
    "sts:AssumeRole",
];
const REQUEST_RESOURCES: [&str; 5] = [
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::home/alice/x",
    "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
    "arn:aws:iam::123456789012:user/alice",
    "*",
];

fn condition() -> impl Strategy<Value = (String, String, Vec<String>)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    prop_oneof![
        Just((
            "StringEquals".to_string(),
            "aws:PrincipalTag/team".to_string(),
            s(&["a", "b"])
        )),
        Just((
            "StringNotEquals".to_string(),
            "aws:PrincipalTag/team".to_string(),
            s(&["a"])
        )),
        Just((
            "StringLike".to_string(),
            "aws:username".to_string(),
            s(&["al*", "b?b"])
        )),
        Just((
            "IpAddress".to_string(),
            "aws:SourceIp".to_string(),
            s(&["10.0.0.0/8", "2001:db8::/32"])
        )),
        Just((
            "NotIpAddressIfExists".to_string(),
            "aws:SourceIp".to_string(),
            s(&["192.0.2.0/24"])
        )),
        Just((
            "BoolIfExists".to_string(),
            "aws:MultiFactorAuthPresent".to_string(),
            s(&["true"])
        )),
        Just((
            "NumericLessThan".to_string(),
            "s3:max-keys".to_string(),
            s(&["5"])
        )),
        Just((
            "DateGreaterThan".to_string(),
            "aws:CurrentTime".to_string(),
            s(&["2026-01-01T00:00:00Z"])
        )),
        Just((
            "ForAnyValue:StringLike".to_string(),
            "aws:TagKeys".to_string(),
            s(&["x*"])
        )),
        Just((
            "ForAllValues:StringEquals".to_string(),
            "aws:TagKeys".to_string(),
            s(&["x", "y"])
        )),
        Just((
            "Null".to_string(),
            "aws:username".to_string(),
            s(&["false"])
        )),
        Just((
            "StringEquals".to_string(),
            "aws:PrincipalTag/home".to_string(),
            s(&["${aws:username}"])
        )),
    ]
}

fn statement(effect: &'static str) -> impl Strategy<Value = Value> {
    (
        proptest::sample::subsequence(ACTIONS.to_vec(), 1..3),
        any::<bool>(),
        proptest::sample::subsequence(RESOURCES.to_vec(), 1..3),
        any::<bool>(),
        proptest::collection::vec(condition(), 0..3),
    )
        .prop_map(
            move |(actions, not_action, resources, not_resource, conditions)| {
                let mut statement = json!({"Effect": effect});
                statement[if not_action { "NotAction" } else { "Action" }] = json!(actions);
                statement[if not_resource {
                    "NotResource"
                } else {
                    "Resource"
                }] = json!(resources);
                let mut blocks = serde_json::Map::new();
                for (operator, key, values) in conditions {
                    let block = blocks.entry(operator).or_insert_with(|| json!({}));
                    block[key] = json!(values);
                }
                if !blocks.is_empty() {
                    statement["Condition"] = Value::Object(blocks);
                }
                statement
            },
        )
}

fn any_statement() -> impl Strategy<Value = Value> {
    prop_oneof![statement("Allow"), statement("Deny")]
}

fn policy(statements: Vec<Value>, name: &str) -> Policy {
    let text = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    Policy::parse(&text, PolicyKind::Inline, name).expect("generated policies are valid")
}

fn context() -> impl Strategy<Value = RequestContext> {
    (
        proptest::option::of(prop_oneof![Just("a"), Just("b"), Just("c")]),
        proptest::option::of(prop_oneof![Just("alice"), Just("bob"), Just("*")]),
        proptest::option::of(prop_oneof![
            Just("10.1.2.3"),
            Just("192.0.2.1"),
            Just("2001:db8::1"),
            Just("bogus")
        ]),
        proptest::option::of(prop_oneof![Just("true"), Just("false"), Just("maybe")]),
        proptest::option::of(proptest::collection::vec(
            prop_oneof![Just("x"), Just("xy"), Just("y"), Just("")],
            0..3,
        )),
        proptest::option::of(prop_oneof![Just("3"), Just("7"), Just("NaN")]),
    )
        .prop_map(|(team, user, ip, mfa, tags, max_keys)| {
            let mut c = RequestContext::default();
            let mut one = |k: &str, v: Option<&str>| {
                if let Some(v) = v {
                    c.insert_one(k, v);
                }
            };
            one("aws:PrincipalTag/team", team);
            one("aws:username", user);
            one("aws:SourceIp", ip);
            one("aws:MultiFactorAuthPresent", mfa);
            one("s3:max-keys", max_keys);
            one("aws:CurrentTime", Some("2026-11-23T12:00:00Z"));
            if let Some(tags) = tags {
                c.insert("aws:TagKeys", tags.into_iter().map(str::to_owned).collect());
            }
            c
        })
}

fn decide(
    identity: &[Policy],
    boundary: Option<&Policy>,
    action: &str,
    resource: &str,
    context: &RequestContext,
) -> Decision {
    let principal =
        Principal::from_arn("arn:aws:sts::123456789012:assumed-role/Dev/alice").unwrap();
    let set = PolicySet {
        identity,
        boundary,
        ..PolicySet::default()
    };
    let request = Request {
        action,
        resource,
        principal: &principal,
        context,
        resource_account: None,
    };
    evaluate(&set, &request).decision
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn adding_a_deny_never_turns_a_deny_into_allow(
        statements in proptest::collection::vec(any_statement(), 1..6),
        boundary in proptest::option::of(proptest::collection::vec(any_statement(), 1..3)),
        deny in statement("Deny"),
        action in proptest::sample::select(REQUEST_ACTIONS.to_vec()),
        resource in proptest::sample::select(REQUEST_RESOURCES.to_vec()),
        context in context(),
    ) {
        let boundary = boundary.map(|b| policy(b, "boundary"));
        let before = decide(&[policy(statements.clone(), "p")], boundary.as_ref(), action, resource, &context);
        let mut with_deny = statements;
        with_deny.push(deny);
        let after = decide(&[policy(with_deny, "p")], boundary.as_ref(), action, resource, &context);
        if before != Decision::Allow {
            prop_assert_ne!(after, Decision::Allow);
        }
        if before == Decision::ExplicitDeny {
            prop_assert_eq!(after, Decision::ExplicitDeny);
        }
    }

    #[test]
    fn adding_an_allow_never_turns_an_allow_into_deny(
        statements in proptest::collection::vec(any_statement(), 1..6),
        boundary in proptest::option::of(proptest::collection::vec(any_statement(), 1..3)),
        allow in statement("Allow"),
        action in proptest::sample::select(REQUEST_ACTIONS.to_vec()),
        resource in proptest::sample::select(REQUEST_RESOURCES.to_vec()),
        context in context(),
    ) {
        let boundary = boundary.map(|b| policy(b, "boundary"));
        let before = decide(&[policy(statements.clone(), "p")], boundary.as_ref(), action, resource, &context);
        let mut with_allow = statements;
        with_allow.push(allow);
        let after = decide(&[policy(with_allow, "p")], boundary.as_ref(), action, resource, &context);
        if before == Decision::Allow {
            prop_assert_eq!(after, Decision::Allow);
        }
    }

    #[test]
    fn parse_serialise_parse_is_stable(statements in proptest::collection::vec(any_statement(), 1..6)) {
        let first = policy(statements, "p");
        let text = first.to_json().to_string();
        let second = Policy::parse(&text, PolicyKind::Inline, "p").expect("the canonical form parses");
        prop_assert_eq!(&first.statements, &second.statements);
        prop_assert_eq!(first.to_json(), second.to_json());
    }

    #[test]
    fn evaluation_never_panics_on_arbitrary_context_values(
        statements in proptest::collection::vec(any_statement(), 1..6),
        keys in proptest::collection::vec(("[a-zA-Z:/]{1,20}", proptest::collection::vec(".{0,40}", 0..4)), 0..8),
        known in proptest::collection::vec(proptest::sample::select(vec!["aws:SourceIp", "aws:CurrentTime", "s3:max-keys", "aws:TagKeys", "aws:username", "aws:MultiFactorAuthPresent"]), 0..6),
        values in proptest::collection::vec(".{0,40}", 0..6),
        action in ".{0,30}",
        resource in ".{0,60}",
    ) {
        let mut context = RequestContext::default();
        for (key, v) in keys {
            context.insert(&key, v);
        }
        for (key, value) in known.iter().zip(values) {
            context.insert_one(*key, value);
        }
        let _ = decide(&[policy(statements, "p")], None, &action, &resource, &context);
    }
}
