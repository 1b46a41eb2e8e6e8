//! The policy simulator over HTTP and the policy commands' exit codes.

use std::process::Command;

use serde_json::json;

use crate::support::{DemoServer, browser};

const BIN: &str = env!("CARGO_BIN_EXE_rolegate");
const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/policy/examples"
);

#[tokio::test]
async fn simulate_api_answers_in_aws_shape() {
    let server = DemoServer::start().await;
    let developer = std::fs::read_to_string(format!("{EXAMPLES}/developer.json")).unwrap();
    let response = browser()
        .post(server.url("/api/v1/policy/simulate"))
        .json(&json!({
            "PolicyInputList": [developer],
            "ActionNames": ["s3:GetObject", "s3:DeleteObject"],
            "ResourceArns": ["arn:aws:s3:::app-data/x"],
            "CallerArn": "arn:aws:sts::123456789012:assumed-role/Dev/alice",
            "ContextEntries": [{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["203.0.113.7"], "ContextKeyType": "ip"}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let results = body["EvaluationResults"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["EvalDecision"], "allowed");
    assert_eq!(
        results[0]["MatchedStatements"][0]["SourcePolicyId"],
        "PolicyInputList.1"
    );
    assert_eq!(results[1]["EvalDecision"], "explicitDeny");
    assert_eq!(results[1]["MatchedStatements"][0]["Sid"], "NeverDelete");
}

#[tokio::test]
async fn simulate_api_lists_every_problem_in_bad_input() {
    let server = DemoServer::start().await;
    let response = browser()
        .post(server.url("/api/v1/policy/simulate"))
        .json(&json!({
            "PolicyInputList": ["{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\"}}"],
            "ActionNames": ["s3:GetObject"],
            "ContextEntries": [{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["x"], "ContextKeyType": "ip"}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    let problems: Vec<&str> = body["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        problems,
        [
            "PolicyInputList.1: $.Statement.Resource: a statement needs `Resource` or `NotResource`",
            "ContextEntries[0].ContextKeyValues[0]: `x` is not an IP address"
        ]
    );
    assert_eq!(body["error"]["request_id"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn simulate_api_rejects_unknown_fields_and_bad_json() {
    let server = DemoServer::start().await;
    let client = browser();
    let misspelt = client
        .post(server.url("/api/v1/policy/simulate"))
        .json(&json!({"PolicyInputList": [], "ActionName": ["s3:GetObject"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(misspelt.status(), 400);
    let body: serde_json::Value = misspelt.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "The request body is not the JSON this endpoint takes."
    );
    let problem = body["error"]["problems"][0].as_str().unwrap();
    assert!(problem.contains("unknown field `ActionName`"), "{problem}");
    let broken = client
        .post(server.url("/api/v1/policy/simulate"))
        .header("content-type", "application/json")
        .body("{\"PolicyInputList\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    let huge = "x".repeat(300 * 1024);
    let too_big = client
        .post(server.url("/api/v1/policy/simulate"))
        .json(&json!({"PolicyInputList": [huge], "ActionNames": ["s3:GetObject"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
}

/// Finding #10.1: 15,000 actions × 40,000 resources in a 250 KB body once made the server
/// allocate 72 GB and abort. It is refused at once, and the server keeps answering.
#[tokio::test]
async fn simulate_api_refuses_more_pairs_than_one_call_may_ask_for() {
    let server = DemoServer::start().await;
    let client = browser();
    let actions = vec!["s:a"; 15_000];
    let resources = vec!["*"; 40_000];
    let huge = client
        .post(server.url("/api/v1/policy/simulate"))
        .json(&json!({
            "PolicyInputList": ["{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}"],
            "ActionNames": actions,
            "ResourceArns": resources,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 400);
    let body: serde_json::Value = huge.json().await.unwrap();
    let problems = body["error"]["problems"].to_string();
    assert!(
        problems.contains("ActionNames: at most 1000 actions"),
        "{problems}"
    );
    assert!(
        problems.contains("ResourceArns: at most 1000 resources"),
        "{problems}"
    );
    let pairs = client
        .post(server.url("/api/v1/policy/simulate"))
        .json(&json!({
            "PolicyInputList": [ALLOW_ALL],
            "ActionNames": (0..200).map(|i| format!("s:{i}")).collect::<Vec<_>>(),
            "ResourceArns": (0..51).map(|i| format!("r{i}")).collect::<Vec<_>>(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(pairs.status(), 400);
    let body: serde_json::Value = pairs.json().await.unwrap();
    assert_eq!(
        body["error"]["problems"][0],
        "ActionNames × ResourceArns: at most 10000 pairs per simulation, not 10200"
    );
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;

/// AWS's paging: `MaxItems` (1–1,000, default 100) results a page, `IsTruncated` and a
/// `Marker` that the next call passes back; only the page asked for is computed.
#[tokio::test]
async fn simulate_api_pages_results_with_max_items_and_marker() {
    let server = DemoServer::start().await;
    let client = browser();
    let ask = |extra: serde_json::Value| {
        let mut body = json!({
            "PolicyInputList": [ALLOW_ALL],
            "ActionNames": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "ResourceArns": ["arn:aws:s3:::a/1", "arn:aws:s3:::a/2"],
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        client
            .post(server.url("/api/v1/policy/simulate"))
            .json(&body)
            .send()
    };
    let first: serde_json::Value = ask(json!({"MaxItems": 4}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["EvaluationResults"].as_array().unwrap().len(), 4);
    assert_eq!(first["IsTruncated"], true);
    assert_eq!(
        first["EvaluationResults"][2]["EvalActionName"],
        "s3:PutObject"
    );
    assert_eq!(
        first["EvaluationResults"][3]["EvalResourceName"],
        "arn:aws:s3:::a/2"
    );
    let marker = first["Marker"].as_str().unwrap().to_owned();
    let second: serde_json::Value = ask(json!({"MaxItems": 4, "Marker": marker}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rest = second["EvaluationResults"].as_array().unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[0]["EvalActionName"], "s3:DeleteObject");
    assert_eq!(second["IsTruncated"], false);
    assert!(second.get("Marker").is_none());
    let whole: serde_json::Value = ask(json!({})).await.unwrap().json().await.unwrap();
    assert_eq!(whole["EvaluationResults"].as_array().unwrap().len(), 6);
    for (extra, problem) in [
        (
            json!({"MaxItems": 0}),
            "MaxItems: must be from 1 to 1000, not 0",
        ),
        (
            json!({"MaxItems": 1001}),
            "MaxItems: must be from 1 to 1000, not 1001",
        ),
        (
            json!({"Marker": "6"}),
            "Marker: not a marker of this simulation",
        ),
        (
            json!({"Marker": "x"}),
            "Marker: not a marker of this simulation",
        ),
    ] {
        let refused = ask(extra.clone()).await.unwrap();
        assert_eq!(refused.status(), 400, "{extra}");
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["problems"][0], problem, "{extra}");
    }
}

/// The command line gathers every page, and refuses what the API refuses.
#[test]
fn simulate_command_gathers_every_page_within_the_api_limits() {
    let folder = tempfile::tempdir().unwrap();
    let policy = folder.path().join("allow.json");
    std::fs::write(&policy, ALLOW_ALL).unwrap();
    let actions: Vec<String> = (0..1000).map(|i| format!("s:a{i}")).collect();
    let output = Command::new(BIN)
        .args(["policy", "simulate", "--json", "--policy"])
        .arg(&policy)
        .arg("--action")
        .args(&actions)
        .args(["--resource", "r1", "r2", "r3"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let results = body["EvaluationResults"].as_array().unwrap();
    assert_eq!(results.len(), 3000);
    assert_eq!(results[2999]["EvalActionName"], "s:a999");
    assert_eq!(results[2999]["EvalResourceName"], "r3");
    assert_eq!(body["IsTruncated"], false);
    let too_many = Command::new(BIN)
        .args(["policy", "simulate", "--policy"])
        .arg(&policy)
        .arg("--action")
        .args((0..101).map(|i| format!("s:a{i}")))
        .arg("--resource")
        .args((0..100).map(|i| format!("r{i}")))
        .output()
        .unwrap();
    assert_eq!(too_many.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&too_many.stderr);
    assert!(
        stderr.contains("at most 10000 pairs per simulation, not 10100"),
        "{stderr}"
    );
}

#[test]
fn validate_exits_zero_for_good_policies_and_one_for_bad() {
    let ok = Command::new(BIN)
        .args(["policy", "validate"])
        .arg(format!("{EXAMPLES}/developer.json"))
        .arg(format!("{EXAMPLES}/boundary.json"))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let bad = Command::new(BIN)
        .args(["policy", "validate"])
        .arg(format!("{EXAMPLES}/broken.json"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let missing = Command::new(BIN)
        .args(["policy", "validate", "/nonexistent.json"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.json: cannot read"));
}

#[test]
fn validate_guesses_trust_policies() {
    let dir = tempfile::tempdir().unwrap();
    let trust = dir.path().join("trust.json");
    std::fs::write(&trust, r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/corp"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession"]}]}"#).unwrap();
    let output = Command::new(BIN)
        .args(["policy", "validate"])
        .arg(&trust)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Trust policy"));
    let as_inline = Command::new(BIN)
        .args(["policy", "validate", "--kind", "inline"])
        .arg(&trust)
        .output()
        .unwrap();
    assert_eq!(as_inline.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&as_inline.stderr).contains("must not name a principal"));
}

#[test]
fn simulate_reports_bad_context_entries_file_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let entries = dir.path().join("ctx.json");
    std::fs::write(
        &entries,
        "[{\"ContextKeyName\": \"aws:SourceIp\",\n \"ContextKeyValue\": []}]",
    )
    .unwrap();
    let output = Command::new(BIN)
        .args(["policy", "simulate", "--policy"])
        .arg(format!("{EXAMPLES}/developer.json"))
        .args(["--action", "s3:GetObject", "--context-entries"])
        .arg(&entries)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ctx.json:2:"), "{stderr}");
    assert!(
        stderr.contains("unknown field `ContextKeyValue`"),
        "{stderr}"
    );
}
