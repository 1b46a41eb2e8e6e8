//! An identity with 500 groups against 100, 1,000 and 10,000 rules (96% exact group rules,
//! 2% group globs, 2% group regexes with captures), 10 accounts × 10 roles, each offered
//! role checked against its trust policy. The person matches about 20 rules at every size,
//! so growth with the rule count shows the index's cost. `cargo bench --bench mapping`
//! prints criterion's estimates, then p50/p99 from 20,000 individually timed evaluations.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "benchmark harness"
)]

use std::fmt::Write;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, UNIX_EPOCH};

use criterion::Criterion;
use rolegate::config::IdpName;
use rolegate::directory::{Directory, load_sources};
use rolegate::idp::{Identity, Protocol};
use rolegate::mapping::{MappingInput, RuleSet, compile_sources, evaluate};

const ACCOUNTS: usize = 10;
const ROLES: usize = 10;
const GROUPS: usize = 500;
const SIZES: [usize; 3] = [100, 1_000, 10_000];

fn account_id(a: usize) -> String {
    format!("{:012}", 100_000_000_000 + a)
}

fn directory() -> Directory {
    let mut yaml = String::from("accounts:\n");
    for a in 0..ACCOUNTS {
        let id = account_id(a);
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::{id}:oidc-provider/login.example.com"}},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{{"StringEquals":{{"login.example.com:aud":"rolegate"}}}}}}]}}"#
        );
        write!(yaml, "  - id: \"{id}\"\n    alias: account-{a}\n    identity_providers: [{{oidc: login.example.com, idp: corp}}]\n    roles:\n").unwrap();
        for r in 0..ROLES {
            write!(
                yaml,
                "      - name: Role{r}\n        trust_policy: {trust}\n"
            )
            .unwrap();
        }
    }
    load_sources(&[(PathBuf::from("bench.yaml"), yaml)]).unwrap()
}

fn rules(count: usize) -> RuleSet {
    let mut yaml = String::from("rules:\n");
    for i in 0..count {
        let (account, role) = (
            account_id(i % ACCOUNTS),
            format!("Role{}", (i / ACCOUNTS) % ROLES),
        );
        let line = match i % 50 {
            0 => format!(
                "  - id: r{i}\n    when: {{ group: \"dept-{i}-*\" }}\n    then: {{ account: \"{account}\", role: {role} }}\n"
            ),
            1 => format!(
                "  - id: r{i}\n    when: {{ group: {{ regex: '^proj-{i}-(?P<role>Role[0-9])$' }} }}\n    then: {{ account: \"{account}\", role: \"{{role}}\" }}\n"
            ),
            _ => format!(
                "  - id: r{i}\n    when: {{ group: team-{i} }}\n    then: {{ account: \"{account}\", role: {role}, session_tags: {{ team: \"t{i}\" }} }}\n"
            ),
        };
        yaml.push_str(&line);
    }
    compile_sources(&[(PathBuf::from("bench-rules.yaml"), yaml)]).unwrap()
}

/// 500 groups: 16 hit exact rules, 2 hit globs, 2 hit regexes (spread over the first 100
/// rules, so every size sees the same hits), the rest hit nothing.
fn identity() -> Identity {
    let mut groups: Vec<String> = (0..GROUPS - 20)
        .map(|k| format!("noise-group-{k}"))
        .collect();
    groups.extend(
        [2, 3, 4, 5, 7, 9, 12, 15, 22, 33, 44, 48, 57, 66, 77, 88].map(|i| format!("team-{i}")),
    );
    groups.extend([0, 50].map(|i| format!("dept-{i}-analytics")));
    groups.extend([1, 51].map(|i| format!("proj-{i}-Role3")));
    let claims = serde_json::json!({"sub": "u-1", "email": "u1@example.com", "aud": "rolegate", "groups": groups});
    Identity::from_claims(
        IdpName::parse("corp").unwrap(),
        Protocol::Oidc,
        "https://login.example.com".into(),
        claims.as_object().cloned().unwrap(),
        "groups",
        0,
    )
    .unwrap()
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    (at(0.50), at(0.99))
}

fn main() {
    let directory = directory();
    let identity = identity();
    let now = UNIX_EPOCH + Duration::from_secs(1_795_428_000);
    let sets: Vec<(usize, RuleSet)> = SIZES.iter().map(|&n| (n, rules(n))).collect();
    let mut offered = Vec::new();
    for (n, rules) in &sets {
        let input = MappingInput {
            identity: &identity,
            now,
            honour_idp_roles: false,
            explain: false,
        };
        let offer = evaluate(rules, &directory, &input);
        assert!(
            offer.roles.len() >= 15,
            "{n} rules: only {} roles offered",
            offer.roles.len()
        );
        offered.push(offer.roles.len());
    }
    assert!(
        offered.windows(2).all(|w| w[0] == w[1]),
        "every size offers the same roles: {offered:?}"
    );

    let mut criterion = Criterion::default().configure_from_args();
    for (n, rules) in &sets {
        criterion.bench_function(&format!("mapping/500 groups x {n} rules"), |b| {
            let input = MappingInput {
                identity: &identity,
                now,
                honour_idp_roles: false,
                explain: false,
            };
            b.iter(|| evaluate(black_box(rules), black_box(&directory), black_box(&input)))
        });
    }
    criterion.final_summary();

    if std::env::args().any(|a| a == "--bench") {
        println!(
            "p50/p99 over 20,000 timed evaluations ({} roles offered):",
            offered[0]
        );
        for (n, rules) in &sets {
            let input = MappingInput {
                identity: &identity,
                now,
                honour_idp_roles: false,
                explain: false,
            };
            for _ in 0..2_000 {
                black_box(evaluate(rules, &directory, &input));
            }
            let samples = (0..20_000)
                .map(|_| {
                    let start = Instant::now();
                    black_box(evaluate(black_box(rules), &directory, &input));
                    start.elapsed()
                })
                .collect();
            let (p50, p99) = percentiles(samples);
            println!("  {n:>6} rules  p50 {p50:>10.2?}  p99 {p99:>10.2?}");
        }
    }
}
