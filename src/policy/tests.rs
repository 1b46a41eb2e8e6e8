//! The evaluation table (`tests/fixtures/policy/evaluation_cases.json`): one case per line,
//! each named for the rule it checks, with its expected decision from IAM's documented
//! semantics.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    default_caller: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    action: String,
    resource: String,
    expect: String,
    /// Statements of one identity policy.
    stmts: Option<Vec<Value>>,
    /// `Version` of that policy (default 2012-10-17).
    version: Option<String>,
    /// Whole identity policies.
    identity: Option<Vec<Value>>,
    /// Statements of the resource policy.
    rp: Option<Vec<Value>>,
    /// Statements of the permissions boundary.
    pb: Option<Vec<Value>>,
    /// Session policies, one statement each.
    sp: Option<Vec<Value>>,
    ctx: Option<Map<String, Value>>,
    caller: Option<String>,
    resource_account: Option<String>,
}

fn policy(name: &str, kind: PolicyKind, document: Value) -> Policy {
    Policy::parse(&document.to_string(), kind, name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn document(statements: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn context(entries: Option<&Map<String, Value>>) -> RequestContext {
    let mut context = RequestContext::default();
    for (key, value) in entries.into_iter().flatten() {
        let values = match value {
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
            Value::String(s) => vec![s.clone()],
            other => panic!("context value {other}"),
        };
        context.insert(key, values);
    }
    context
}

fn run(case: &Case, default_caller: &str) -> Decision {
    let mut identity = Vec::new();
    if let Some(statements) = case.stmts.as_ref().filter(|s| !s.is_empty()) {
        let version = case.version.as_deref().unwrap_or("2012-10-17");
        identity.push(policy(
            "stmts",
            PolicyKind::Inline,
            json!({"Version": version, "Statement": statements}),
        ));
    }
    for (i, doc) in case.identity.iter().flatten().enumerate() {
        identity.push(policy(
            &format!("identity{i}"),
            PolicyKind::Inline,
            doc.clone(),
        ));
    }
    let resource = case
        .rp
        .as_ref()
        .map(|s| policy("rp", PolicyKind::Resource, document(s)));
    let boundary = case
        .pb
        .as_ref()
        .map(|s| policy("pb", PolicyKind::Managed, document(s)));
    let session: Vec<Policy> = case
        .sp
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, s)| {
            policy(
                &format!("sp{i}"),
                PolicyKind::Session,
                document(std::slice::from_ref(s)),
            )
        })
        .collect();
    let principal = Principal::from_arn(case.caller.as_deref().unwrap_or(default_caller)).unwrap();
    let context = context(case.ctx.as_ref());
    let set = PolicySet {
        identity: &identity,
        resource: resource.as_ref(),
        boundary: boundary.as_ref(),
        session: &session,
    };
    let request = Request {
        action: &case.action,
        resource: &case.resource,
        principal: &principal,
        context: &context,
        resource_account: case.resource_account.as_deref(),
    };
    evaluate(&set, &request).decision
}

#[test]
fn evaluation_table() {
    let table: Table = serde_json::from_str(include_str!(
        "../../tests/fixtures/policy/evaluation_cases.json"
    ))
    .unwrap();
    assert!(
        table.cases.len() >= 150,
        "the table keeps at least 150 cases"
    );
    let mut names = std::collections::HashSet::new();
    let failures: Vec<String> = table
        .cases
        .iter()
        .filter_map(|case| {
            assert!(
                names.insert(case.name.clone()),
                "duplicate case name {}",
                case.name
            );
            let got = run(case, &table.default_caller).as_aws_str();
            (got != case.expect)
                .then(|| format!("{}: expected {}, got {got}", case.name, case.expect))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.cases.len(),
        failures.join("\n")
    );
}

/// `(name, kind, document, JSON path, words in the reason)`.
const INVALID: &[(&str, PolicyKind, &str, &str, &str)] = &[
    (
        "not_json",
        PolicyKind::Inline,
        r#"{"Version": "2012-10-17", "#,
        "$",
        "not valid JSON (line 1",
    ),
    (
        "not_an_object",
        PolicyKind::Inline,
        r#"["x"]"#,
        "$",
        "JSON object",
    ),
    (
        "unknown_top_level_element",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statment":[]}"#,
        "$.Statment",
        "unknown element `Statment`",
    ),
    (
        "missing_statement",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17"}"#,
        "$.Statement",
        "is required",
    ),
    (
        "empty_statement_list",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[]}"#,
        "$.Statement",
        "at least one statement",
    ),
    (
        "bad_version",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        "$.Version",
        "2012-10-17",
    ),
    (
        "missing_effect",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Action":"*","Resource":"*"}]}"#,
        "$.Statement[0].Effect",
        "is required",
    ),
    (
        "effect_is_case_sensitive",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"*","Resource":"*"}]}"#,
        "$.Statement[0].Effect",
        "\"Allow\" or \"Deny\"",
    ),
    (
        "action_and_notaction",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}]}"#,
        "$.Statement[0].NotAction",
        "not both",
    ),
    (
        "no_action",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}"#,
        "$.Statement[0].Action",
        "needs `Action` or `NotAction`",
    ),
    (
        "action_without_service",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}"#,
        "$.Statement[0].Action",
        "service:Action",
    ),
    (
        "wildcard_in_service_prefix",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","*:Get*"],"Resource":"*"}]}"#,
        "$.Statement[0].Action[1]",
        "no wildcard",
    ),
    (
        "empty_action_list",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#,
        "$.Statement[0].Action",
        "empty list",
    ),
    (
        "action_not_a_string",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*",7],"Resource":"*"}]}"#,
        "$.Statement[0].Action[1]",
        "must be a string",
    ),
    (
        "missing_resource",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*"}]}"#,
        "$.Statement[0].Resource",
        "needs `Resource`",
    ),
    (
        "resource_not_an_arn",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"bucket/*"}]}"#,
        "$.Statement[0].Resource",
        "must be `*` or an ARN",
    ),
    (
        "resource_with_five_segments",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":["*","arn:aws:s3::bucket"]}]}"#,
        "$.Statement[0].Resource[1]",
        "ARN",
    ),
    (
        "principal_in_identity_policy",
        PolicyKind::Managed,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
        "$.Statement[0].Principal",
        "must not name a principal",
    ),
    (
        "trust_policy_without_principal",
        PolicyKind::Trust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#,
        "$.Statement[0].Principal",
        "needs `Principal`",
    ),
    (
        "trust_policy_with_resource",
        PolicyKind::Trust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole","Resource":"*"}]}"#,
        "$.Statement[0].Resource",
        "trust policy",
    ),
    (
        "unknown_principal_type",
        PolicyKind::Trust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Aws":"123456789012"},"Action":"sts:AssumeRole"}]}"#,
        "$.Statement[0].Principal.Aws",
        "did you mean `AWS`",
    ),
    (
        "partial_wildcard_principal",
        PolicyKind::Trust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/*"},"Action":"sts:AssumeRole"}]}"#,
        "$.Statement[0].Principal.AWS",
        "wildcards",
    ),
    (
        "bad_account_principal",
        PolicyKind::Trust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["12345"]},"Action":"sts:AssumeRole"}]}"#,
        "$.Statement[0].Principal.AWS[0]",
        "12-digit",
    ),
    (
        "principal_string_not_star",
        PolicyKind::Trust,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"alice","Action":"sts:AssumeRole"}]}"#,
        "$.Statement[0].Principal",
        "must be \"*\"",
    ),
    (
        "unknown_statement_element",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Conditions":{}}]}"#,
        "$.Statement[0].Conditions",
        "did you mean `Condition`",
    ),
    (
        "unknown_operator",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqual":{"aws:username":"a"}}}]}"#,
        "$.Statement[0].Condition.StringEqual[\"aws:username\"]",
        "unknown condition operator `StringEqual`",
    ),
    (
        "null_if_exists_is_not_an_operator",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:username":"true"}}}]}"#,
        "$.Statement[0].Condition.NullIfExists[\"aws:username\"]",
        "unknown condition operator",
    ),
    (
        "bad_set_qualifier",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForSomeValues:StringEquals":{"aws:TagKeys":"a"}}}]}"#,
        "$.Statement[0].Condition[\"ForSomeValues:StringEquals\"][\"aws:TagKeys\"]",
        "unknown condition operator",
    ),
    (
        "condition_key_without_prefix",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"username":"a"}}}]}"#,
        "$.Statement[0].Condition.StringEquals.username",
        "not a condition key",
    ),
    (
        "numeric_value_not_a_number",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}}]}"#,
        "$.Statement[0].Condition.NumericLessThan[\"s3:max-keys\"]",
        "`ten` is not a number",
    ),
    (
        "date_value_not_a_date",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}]}"#,
        "$.Statement[0].Condition.DateLessThan[\"aws:CurrentTime\"]",
        "not a date",
    ),
    (
        "ip_value_not_an_ip",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}]}"#,
        "$.Statement[0].Condition.IpAddress[\"aws:SourceIp\"]",
        "CIDR",
    ),
    (
        "bool_value_not_a_bool",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}]}"#,
        "$.Statement[0].Condition.Bool[\"aws:SecureTransport\"]",
        "`true` or `false`",
    ),
    (
        "arn_value_not_an_arn",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:topic"}}}]}"#,
        "$.Statement[0].Condition.ArnLike[\"aws:SourceArn\"]",
        "not an ARN",
    ),
    (
        "empty_condition_values",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":[]}}}]}"#,
        "$.Statement[0].Condition.StringEquals[\"aws:username\"]",
        "at least one value",
    ),
    (
        "object_condition_value",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}}]}"#,
        "$.Statement[0].Condition.StringEquals[\"aws:username\"]",
        "strings, numbers or booleans",
    ),
    (
        "unclosed_policy_variable",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:username"}]}"#,
        "$.Statement[0].Resource",
        "no closing",
    ),
    (
        "sid_with_spaces_in_iam_policy",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read only","Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        "$.Statement[0].Sid",
        "letters and digits",
    ),
    (
        "duplicate_sids",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}"#,
        "$.Statement[1].Sid",
        "unique",
    ),
    (
        "statement_not_an_object",
        PolicyKind::Inline,
        r#"{"Version":"2012-10-17","Statement":["Allow"]}"#,
        "$.Statement[0]",
        "JSON object",
    ),
];

#[test]
fn malformed_documents_are_rejected_with_path_and_reason() {
    let mut failures = Vec::new();
    for (name, kind, text, path, reason) in INVALID {
        match Policy::parse(text, *kind, name) {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(error) => {
                let found = error
                    .findings
                    .iter()
                    .any(|f| f.path == *path && f.reason.contains(reason));
                if !found {
                    failures.push(format!(
                        "{name}: wanted `{path}: …{reason}…`, got:\n{error}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_finding_in_a_document_is_reported() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"s3","Resource":"x"}]}"#;
    let error = Policy::parse(text, PolicyKind::Inline, "p").unwrap_err();
    let paths: Vec<&str> = error.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "$.Statement[0].Effect",
            "$.Statement[1].Action",
            "$.Statement[1].Resource"
        ]
    );
}

#[test]
fn size_limit_ignores_white_space_and_depends_on_the_kind() {
    let statement =
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/key-000000"}"#;
    let statements: Vec<&str> = std::iter::repeat_n(statement, 30).collect();
    let text = format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{}]}}",
        statements.join(",")
    );
    assert!(counted_size(&text) > 2_048 && counted_size(&text) < 6_144);
    let error = Policy::parse(&text, PolicyKind::Session, "s").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the limit for a session policy is 2048"),
        "{error}"
    );
    assert!(Policy::parse(&text, PolicyKind::Managed, "m").is_ok());
    let spaced = text.replace(',', " ,\n   ");
    assert_eq!(counted_size(&spaced), counted_size(&text));
    assert_eq!(
        counted_size(r#"{"a b": 1}"#),
        9,
        "white space inside strings counts"
    );
}

#[test]
fn version_2008_and_missing_version_keep_variables_literal() {
    for text in [
        r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::${aws:username}"}}"#,
        r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::${aws:username}"}}"#,
    ] {
        assert_eq!(
            Policy::parse(text, PolicyKind::Inline, "p")
                .unwrap()
                .version,
            Version::V2008_10_17
        );
    }
}

#[test]
fn canonical_form_of_a_document_at_the_size_limit_still_parses() {
    // Found by the fuzzer: the canonical form once added `Version` and list brackets, so a
    // document just under a size limit grew past it.
    let text = include_str!("../../tests/fixtures/policy/fuzz-size-edge.json");
    let kinds = [
        PolicyKind::Inline,
        PolicyKind::Managed,
        PolicyKind::Trust,
        PolicyKind::Resource,
        PolicyKind::Session,
    ];
    let mut parsed_as = 0;
    for kind in kinds {
        if let Ok(policy) = Policy::parse(text, kind, "edge") {
            parsed_as += 1;
            let canonical = policy.to_json().to_string();
            assert!(counted_size(&canonical) <= counted_size(text));
            let again =
                Policy::parse(&canonical, kind, "edge").unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert_eq!(policy.statements, again.statements);
        }
    }
    assert!(parsed_as > 0, "the fixture parses as at least one kind");
}
