//! The AWS clients the STS tests drive: boto3 (and its botocore) and the AWS CLI, from the
//! test venv `make test` installs (`.ci/peer-deps`: `tests/peers/aws/venv`).

use std::path::PathBuf;
use std::process::Command;

fn venv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/aws/venv/bin")
}

fn tool(name: &str) -> PathBuf {
    let path = venv().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `make test-deps` (it pip-installs boto3 and awscli into \
         tests/peers/aws/venv)",
        path.display()
    );
    path
}

/// Runs `tests/peers/aws/sts_client.py` with `request`; its JSON answer.
pub(crate) fn boto3(request: &serde_json::Value) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/aws/sts_client.py");
    let output = Command::new(tool("python"))
        .arg(script)
        .arg(request.to_string())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "boto3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "boto3 printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Runs `aws <args>` with `env`; its exit status, stdout and stderr.
pub(crate) fn aws_cli(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = Command::new(tool("aws"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
