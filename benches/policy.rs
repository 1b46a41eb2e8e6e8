//! One request against a role with 10 policies × 20 statements with conditions, and the
//! same decision expressed in Cedar as the peer. `cargo bench --bench policy` prints
//! criterion's estimates, then p50/p99 from 200,000 individually timed calls of each.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "benchmark harness"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use rolegate::policy::{
    Decision, Policy, PolicyKind, PolicySet, Principal, Request, RequestContext, evaluate,
};
use serde_json::json;

const POLICIES: usize = 10;
const STATEMENTS: usize = 20;

/// Statement `i` of policy `p`: reads of `bucket-p-i` for team `team-i` from `10.p.0.0/16`;
/// every fifth statement denies deletes instead.
fn iam_policies(service: impl Fn(usize) -> String) -> Vec<Policy> {
    (0..POLICIES)
        .map(|p| {
            let statements: Vec<_> = (0..STATEMENTS)
                .map(|i| {
                    if i % 5 == 4 {
                        json!({"Sid": format!("Deny{i}"), "Effect": "Deny", "Action": format!("{}:Delete{i}*", service(p)),
                               "Resource": format!("arn:aws:s3:::bucket-{p}-{i}/*"),
                               "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": format!("team-{i}")}}})
                    } else {
                        json!({"Sid": format!("Read{i}"), "Effect": "Allow",
                               "Action": [format!("{}:Get{p}x{i}*", service(p)), format!("{}:List{p}x{i}", service(p))],
                               "Resource": format!("arn:aws:s3:::bucket-{p}-{i}/*"),
                               "Condition": {"StringEquals": {"aws:PrincipalTag/team": format!("team-{i}")},
                                             "IpAddress": {"aws:SourceIp": format!("10.{p}.0.0/16")}}})
                    }
                })
                .collect();
            let text = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
            Policy::parse(&text, PolicyKind::Managed, &format!("policy-{p}")).unwrap()
        })
        .collect()
}

fn cedar_policies() -> cedar_policy::PolicySet {
    let mut source = String::new();
    for p in 0..POLICIES {
        for i in 0..STATEMENTS {
            if i % 5 == 4 {
                source.push_str(&format!(
                    "forbid(principal, action, resource) when {{ context.action like \"svc{p}:Delete{i}*\" && context.resource like \"arn:aws:s3:::bucket-{p}-{i}/*\" && context.team != \"team-{i}\" }};\n"
                ));
            } else {
                source.push_str(&format!(
                    "permit(principal, action, resource) when {{ (context.action like \"svc{p}:Get{p}x{i}*\" || context.action == \"svc{p}:List{p}x{i}\") && context.resource like \"arn:aws:s3:::bucket-{p}-{i}/*\" && context.team == \"team-{i}\" && context.ip.isInRange(ip(\"10.{p}.0.0/16\")) }};\n"
                ));
            }
        }
    }
    source.parse().unwrap()
}

const ACTION: &str = "svc9:Get9x18Object";
/// The same request when every statement names one service.
const ONE_SERVICE_ACTION: &str = "svc:Get9x18Object";
const RESOURCE: &str = "arn:aws:s3:::bucket-9-18/reports/2026.csv";

fn cedar_request() -> cedar_policy::Request {
    let context = cedar_policy::Context::from_json_value(
        json!({"action": ACTION, "resource": RESOURCE, "team": "team-18", "ip": {"__extn": {"fn": "ip", "arg": "10.9.1.2"}}}),
        None,
    )
    .unwrap();
    cedar_policy::Request::new(
        r#"Role::"arn:aws:sts::123456789012:assumed-role/Dev/alice""#
            .parse()
            .unwrap(),
        r#"Action::"request""#.parse().unwrap(),
        r#"Resource::"bucket""#.parse().unwrap(),
        context,
        None,
    )
    .unwrap()
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    (at(0.50), at(0.99))
}

fn time_calls(mut call: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..20_000 {
        call();
    }
    let samples = (0..200_000)
        .map(|_| {
            let start = Instant::now();
            call();
            start.elapsed()
        })
        .collect();
    percentiles(samples)
}

fn main() {
    let policies = iam_policies(|p| format!("svc{p}"));
    let one_service = iam_policies(|_| "svc".to_owned());
    let principal =
        Principal::from_arn("arn:aws:sts::123456789012:assumed-role/Dev/alice").unwrap();
    let mut context = RequestContext::default();
    context.insert_one("aws:PrincipalTag/team", "team-18");
    context.insert_one("aws:SourceIp", "10.9.1.2");
    let set = PolicySet {
        identity: &policies,
        ..PolicySet::default()
    };
    let request = Request {
        action: ACTION,
        resource: RESOURCE,
        principal: &principal,
        context: &context,
        resource_account: None,
    };
    assert_eq!(
        evaluate(&set, &request).decision,
        Decision::Allow,
        "rolegate must allow"
    );
    let one_service_set = PolicySet {
        identity: &one_service,
        ..PolicySet::default()
    };
    let one_service_request = Request {
        action: ONE_SERVICE_ACTION,
        ..request
    };
    assert_eq!(
        evaluate(&one_service_set, &one_service_request).decision,
        Decision::Allow,
        "rolegate must allow (one service)"
    );

    let cedar = cedar_policies();
    let cedar_req = cedar_request();
    let authorizer = cedar_policy::Authorizer::new();
    let entities = cedar_policy::Entities::empty();
    assert_eq!(
        authorizer
            .is_authorized(&cedar_req, &cedar, &entities)
            .decision(),
        cedar_policy::Decision::Allow,
        "cedar must allow"
    );

    let mut criterion = Criterion::default().configure_from_args();
    criterion.bench_function("policy/rolegate 10x20 statements", |b| {
        b.iter(|| evaluate(black_box(&set), black_box(&request)))
    });
    criterion.bench_function("policy/rolegate 10x20 statements, one service", |b| {
        b.iter(|| evaluate(black_box(&one_service_set), black_box(&one_service_request)))
    });
    criterion.bench_function("policy/cedar 200 policies (peer)", |b| {
        b.iter(|| {
            authorizer.is_authorized(
                black_box(&cedar_req),
                black_box(&cedar),
                black_box(&entities),
            )
        })
    });
    criterion.final_summary();

    if std::env::args().any(|a| a == "--bench") {
        let (ours50, ours99) = time_calls(|| {
            black_box(evaluate(black_box(&set), black_box(&request)));
        });
        let (one50, one99) = time_calls(|| {
            black_box(evaluate(
                black_box(&one_service_set),
                black_box(&one_service_request),
            ));
        });
        let (cedar50, cedar99) = time_calls(|| {
            black_box(authorizer.is_authorized(
                black_box(&cedar_req),
                black_box(&cedar),
                black_box(&entities),
            ));
        });
        println!("p50/p99 over 200,000 timed calls:");
        println!("  rolegate IAM engine   p50 {ours50:>10.2?}  p99 {ours99:>10.2?}");
        println!("  rolegate, one service p50 {one50:>10.2?}  p99 {one99:>10.2?}");
        println!("  cedar-policy (peer)   p50 {cedar50:>10.2?}  p99 {cedar99:>10.2?}");
        println!(
            "  ratio cedar/rolegate at p50: {:.1} (one service: {:.1})",
            cedar50.as_secs_f64() / ours50.as_secs_f64(),
            cedar50.as_secs_f64() / one50.as_secs_f64()
        );
    }
}
