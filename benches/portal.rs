//! The access portal at scale: one person offered 5 roles in each of 1,000 accounts (5,000
//! grant rules for their group, every role trust-checked), through the demo provider. Times
//! `GET /` (the accounts, each a step from its roles), a filtered `GET /?q=` and one
//! account's `GET /?account=` over loopback HTTP, one request at a time, so each time
//! is the server's work plus a loopback round trip (an upper bound on the server time).
//! Target: p50 < 50 ms for both.
//!
//! `cargo bench --bench portal` runs `PORTAL_BENCH_REQUESTS` (default 200) of each; under
//! `cargo test` a few, only to show it works.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "benchmark harness"
)]

use std::fmt::Write;
use std::time::{Duration, Instant};

use rolegate::mapping::Mappings;
use rolegate::server::Server;

const ACCOUNTS: usize = 1_000;
const ROLES: [&str; 5] = ["Admin", "Developer", "Deployer", "ReadOnly", "Billing"];

fn main() {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let requests: usize = if benchmarking {
        std::env::var("PORTAL_BENCH_REQUESTS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(200)
    } else {
        3
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let folder = tempfile::tempdir().unwrap();
        let mappings = write_mappings(folder.path());
        let server = Server::start_demo_with(mappings).await.unwrap();
        let base = format!("http://{}", server.local_addr().unwrap());
        tokio::spawn(server.run_until(std::future::pending()));
        let browser = signed_in(&base, "demo-bob").await;

        let first = get(&browser, &format!("{base}/")).await;
        let listed = first.matches("<li class=\"account\"").count();
        assert_eq!(
            listed, ACCOUNTS,
            "every account is listed (its roles one step away)"
        );
        let filtered = get(&browser, &format!("{base}/?q=acct-0042")).await;
        assert_eq!(filtered.matches("name=\"role_arn\"").count(), ROLES.len());
        let one = get(&browser, &format!("{base}/?account=100000000042")).await;
        assert_eq!(one.matches("name=\"role_arn\"").count(), ROLES.len());

        println!(
            "portal: {ACCOUNTS} accounts × {} roles, {requests} requests each, one at a time",
            ROLES.len()
        );
        println!("| page | p50 | p99 | page size |");
        println!("|---|---|---|---|");
        for (name, path, size) in [
            (
                "GET / (1,000 accounts, 5,000 roles offered)",
                "/",
                first.len(),
            ),
            (
                "GET /?q=acct-0042 (filtered to 5 roles)",
                "/?q=acct-0042",
                filtered.len(),
            ),
            (
                "GET /?account=… (one account's 5 roles)",
                "/?account=100000000042",
                one.len(),
            ),
        ] {
            let url = format!("{base}{path}");
            let mut times = Vec::with_capacity(requests);
            for _ in 0..requests {
                let started = Instant::now();
                get(&browser, &url).await;
                times.push(started.elapsed());
            }
            times.sort();
            println!(
                "| {name} | {} | {} | {} KiB |",
                millis(percentile(&times, 50)),
                millis(percentile(&times, 99)),
                size / 1024
            );
        }
        drop(folder);
    });
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

/// 1,000 accounts trusting the demo provider, 5 roles each, and one grant rule per role for
/// the group `developers`.
fn write_mappings(folder: &std::path::Path) -> Mappings {
    let directory = folder.join("directory");
    let rules = folder.join("rules");
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::create_dir_all(&rules).unwrap();
    let mut accounts = String::from("accounts:\n");
    let mut grants = String::from("rules:\n");
    for a in 0..ACCOUNTS {
        let id = format!("{:012}", 100_000_000_000_u64 + a as u64);
        let alias = format!("acct-{a:04}");
        let trust = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"Federated": "arn:aws:iam::{id}:oidc-provider/demo-idp.rolegate.local"}}, "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"], "Condition": {{"StringEquals": {{"demo-idp.rolegate.local:aud": "rolegate-demo"}}}}}}]}}"#
        );
        writeln!(
            accounts,
            "  - id: \"{id}\"\n    alias: {alias}\n    name: Account {a}\n    identity_providers:\n      - oidc: demo-idp.rolegate.local\n        idp: demo\n    roles:"
        )
        .unwrap();
        for role in ROLES {
            writeln!(
                accounts,
                "      - name: {role}\n        trust_policy: {trust}"
            )
            .unwrap();
            writeln!(
                grants,
                "  - id: {alias}-{role}\n    when:\n      group: developers\n    then:\n      account: {alias}\n      role: {role}"
            )
            .unwrap();
        }
    }
    std::fs::write(directory.join("accounts.yaml"), accounts).unwrap();
    std::fs::write(rules.join("grants.yaml"), grants).unwrap();
    Mappings::load(&directory, &rules).unwrap()
}

/// A browser signed in through the demo provider as `subject`.
async fn signed_in(base: &str, subject: &str) -> reqwest::Client {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = browser
        .get(format!("{base}/login/demo"))
        .send()
        .await
        .unwrap();
    let authorize = url::Url::parse(location(&started)).unwrap();
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("subject".into(), subject.into()));
    let approved = browser
        .post(format!("{base}/demo-idp/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let callback = location(&approved).to_owned();
    let done = browser.get(&callback).send().await.unwrap();
    assert_eq!(location(&done), "/", "signed in");
    browser
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()["location"].to_str().unwrap()
}

async fn get(browser: &reqwest::Client, url: &str) -> String {
    let response = browser.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.text().await.unwrap()
}
