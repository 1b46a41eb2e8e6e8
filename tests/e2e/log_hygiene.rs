//! No token, code or secret reaches the logs: `rolegate serve` runs as its own process with
//! debug logging, people sign in (and fail to) through the in-test provider, and every log
//! line is searched for what must never be in it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::oidc_provider::{ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, TestProvider};
use crate::support::{browser, config_folder, free_port, location, query_pairs, query_value};

const BIN: &str = env!("CARGO_BIN_EXE_rolegate");

#[tokio::test]
async fn sign_ins_and_their_failures_log_no_token_code_or_secret() {
    let provider = TestProvider::start().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let folder = config_folder(&format!(
        "listen = \"127.0.0.1:{port}\"\npublic_url = \"{base}\"\n\n[[idp]]\nname = \"test\"\nkind = \"oidc\"\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\n",
        provider.issuer
    ));
    let mut child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(folder.path().join("rolegate.toml"))
        .env("ROLEGATE_LOG", "debug")
        .env("ROLEGATE_IDP_TEST_CLIENT_SECRET", CLIENT_SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = Arc::new(Mutex::new(Vec::<String>::new()));
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let logs = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                logs.lock().unwrap().push(line.unwrap());
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while !logs
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("rolegate listening"))
    {
        assert!(
            Instant::now() < deadline,
            "serve did not start: {:?}",
            logs.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut secrets = vec![CLIENT_SECRET.to_owned(), ACCESS_TOKEN.to_owned()];
    // A sign-in that works, one with a forged ID token, one the provider refuses.
    for forged in [false, true] {
        if forged {
            provider.mint_with(|m| {
                let mut claims = m.claims();
                claims["nonce"] = "someone-elses".into();
                m.key.sign(&claims)
            });
        }
        let client = browser();
        let started = client
            .get(format!("{base}/login/test"))
            .send()
            .await
            .unwrap();
        let authorize = location(&started);
        let approved = client.get(&authorize).send().await.unwrap();
        let callback = location(&approved);
        for (name, value) in query_pairs(&authorize)
            .into_iter()
            .chain(query_pairs(&callback))
        {
            if ["state", "nonce", "code", "code_challenge"].contains(&name.as_str()) {
                secrets.push(value);
            }
        }
        let done = client.get(&callback).send().await.unwrap();
        assert_eq!(done.status().is_redirection(), !forged);
    }
    let refused = browser();
    let started = refused
        .get(format!("{base}/login/test"))
        .send()
        .await
        .unwrap();
    let state = query_value(&location(&started), "state").unwrap();
    let iss: String = url::form_urlencoded::byte_serialize(provider.issuer.as_bytes()).collect();
    let url = format!(
        "{base}/auth/oidc/test/callback?state={state}&iss={iss}&error=access_denied&error_description=secret-description-42"
    );
    assert_eq!(refused.get(&url).send().await.unwrap().status(), 400);
    secrets.push(state);

    signal_and_wait(&mut child);
    let logs = logs.lock().unwrap().join("\n");
    assert!(logs.contains("signed in"), "{logs}");
    assert!(
        logs.contains("nonce"),
        "the failure's detail is logged: {logs}"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "`{secret}` is in the logs:\n{logs}"
        );
    }
    assert!(!logs.contains("eyJ"), "a JWT is in the logs:\n{logs}");
}

fn signal_and_wait(child: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "serve did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}
