//! The `rolegate` binary itself: `--version`, `check`, and `demo` serving and stopping.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::config_folder;

const BIN: &str = env!("CARGO_BIN_EXE_rolegate");

#[test]
fn version_is_printed() {
    let output = Command::new(BIN).arg("--version").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("rolegate {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_reports_a_misspelt_key_with_file_and_line() {
    let dir = config_folder(
        "listen = \"127.0.0.1:8080\"\n\n[[idp]]\nname = \"corp\"\nkind = \"oidc\"\nisuer = \"https://x\"\n",
    );
    let file = dir.path().join("rolegate.toml");
    let output = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{}:6:1", file.display())),
        "{stderr}"
    );
    assert!(stderr.contains("unknown field `isuer`"), "{stderr}");
}

#[test]
fn check_accepts_a_valid_config_and_hides_secrets() {
    let dir = config_folder(
        "store = \"redis://:hunter2@127.0.0.1:6379/0\"\n[[idp]]\nname = \"corp\"\nkind = \"oidc\"\nissuer = \"https://login.example.com\"\nclient_id = \"rolegate\"\n",
    );
    let output = Command::new(BIN)
        .args(["check", "--config"])
        .arg(dir.path().join("rolegate.toml"))
        .env("ROLEGATE_IDP_CORP_CLIENT_SECRET", "s3cret")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("idp         corp (oidc"), "{stdout}");
    assert!(
        !stdout.contains("hunter2") && !stdout.contains("s3cret"),
        "{stdout}"
    );
}

#[test]
fn serve_refuses_the_demo_provider() {
    let dir = config_folder("[[idp]]\nname = \"demo\"\nkind = \"demo\"\n");
    let output = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(dir.path().join("rolegate.toml"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("`serve` refuses it")
    );
}

#[test]
fn demo_serves_the_sign_in_page_and_stops_on_sigterm() {
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env("ROLEGATE_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("demo exited before listening").unwrap();
        let entry: serde_json::Value =
            serde_json::from_str(&line).expect("logs are JSON lines off a terminal");
        if entry["fields"]["message"] == "rolegate listening" {
            break entry["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    let body = reqwest::blocking_get(&format!("http://{addr}/login"));
    assert!(body.contains("Demo identity provider"), "{body}");
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "demo did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
}

/// A tiny blocking GET on a fresh runtime (the test itself is synchronous).
mod reqwest {
    pub(crate) fn blocking_get(url: &str) -> String {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async { ::reqwest::get(url).await.unwrap().text().await.unwrap() })
    }
}

/// Finding #10.10: anyone who reaches the demo signs in as its admin, so it listens beyond
/// loopback only when told to.
#[test]
fn demo_refuses_a_non_loopback_address_without_allow_remote() {
    let refused = Command::new(BIN)
        .args(["demo", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("pass --allow-remote"), "{stderr}");
    let mut allowed = Command::new(BIN)
        .args(["demo", "--listen", "0.0.0.0:0", "--allow-remote"])
        .env("ROLEGATE_LOG", "info")
        .stderr(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(allowed.stdout.take().unwrap());
    let listening = stdout
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("rolegate listening"));
    let _ = allowed.kill();
    let _ = allowed.wait();
    assert!(listening, "the demo did not start with --allow-remote");
}

#[test]
fn docker_config_passes_check() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker/rolegate.toml"))
            .unwrap();
    let dir = config_folder(&text);
    let output = Command::new(BIN)
        .args(["check", "--config"])
        .arg(dir.path().join("rolegate.toml"))
        .env_remove("ROLEGATE_STORE")
        .env_remove("ROLEGATE_PUBLIC_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("store       redis://redis:6379/0"),
        "{stdout}"
    );
    assert!(stdout.contains("listen      0.0.0.0:8080"), "{stdout}");
}

/// A directory whose one role has a trust policy with a misspelt element.
const BROKEN_DIRECTORY: &str = r#"accounts:
  - id: "123456789012"
    alias: shop
    roles:
      - name: Admin
        trust_policy: {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Actions": "sts:AssumeRole"}]}
"#;

#[test]
fn malformed_policy_stops_check_and_start_up_with_file_path_and_reason() {
    let dir = config_folder("listen = \"127.0.0.1:0\"\n");
    let directory = dir.path().join("mappings/directory/accounts.yaml");
    std::fs::write(&directory, BROKEN_DIRECTORY).unwrap();
    let file = dir.path().join("rolegate.toml");
    let expected = format!(
        "{}:6: `arn:aws:iam::123456789012:role/Admin trust policy`: $.Statement[0].Actions: unknown element `Actions` (did you mean `Action`?)",
        directory.display()
    );
    for command in ["check", "serve"] {
        let output = Command::new(BIN)
            .args([command, "--config"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{command}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&expected),
            "{command}: missing `{expected}` in:\n{stderr}"
        );
    }
}

const SHOP_DIRECTORY: &str = "accounts:\n  - id: \"123456789012\"\n    alias: shop\n    roles:\n      - name: Admin\n        trust_policy: {\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"sts:AssumeRoleWithWebIdentity\"}]}\n";
const SHOP_RULE: &str =
    "rules:\n  - id: a\n    when: { group: x }\n    then: { account: shop, role: Admin }\n";

/// Reads JSON log lines until one has `message`; returns it.
fn wait_for_log(
    lines: &mut impl Iterator<Item = std::io::Result<String>>,
    message: &str,
) -> serde_json::Value {
    for line in lines.by_ref() {
        let entry: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if entry["fields"]["message"] == message {
            return entry;
        }
    }
    panic!("the server exited before logging `{message}`");
}

fn signal(child: &std::process::Child, name: &str) {
    assert!(
        Command::new("kill")
            .args([name, &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn serve_reloads_mappings_on_sighup_and_keeps_the_last_good_ones_on_error() {
    let dir = config_folder("listen = \"127.0.0.1:0\"\n");
    std::fs::write(
        dir.path().join("mappings/directory/shop.yaml"),
        SHOP_DIRECTORY,
    )
    .unwrap();
    let rules = dir.path().join("mappings/rules/r.yaml");
    std::fs::write(&rules, SHOP_RULE).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(dir.path().join("rolegate.toml"))
        .env("ROLEGATE_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    wait_for_log(&mut lines, "rolegate listening");

    // No file changed, so only the signal can cause this reload.
    signal(&child, "-HUP");
    let reloaded = wait_for_log(&mut lines, "mappings reloaded");
    assert_eq!(reloaded["fields"]["cause"], "SIGHUP");
    assert_eq!(reloaded["fields"]["generation"], 2);
    assert_eq!(reloaded["fields"]["rules"], 1);

    std::fs::write(&rules, "rules:\n  - id: a\n    when: { group: { regex: '(' } }\n    then: { account: shop, role: Admin }\n").unwrap();
    signal(&child, "-HUP");
    let failed = wait_for_log(
        &mut lines,
        "mappings reload failed; the previous mappings keep serving",
    );
    let problems = failed["fields"]["problems"].as_str().unwrap();
    assert!(
        problems.contains("r.yaml:3: group: invalid regex"),
        "{problems}"
    );

    signal(&child, "-TERM");
    assert!(child.wait().unwrap().success());
}
