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
