//! The STS Query API under load on loopback, with its crypto floor measured in the same run.
//!
//! One process on this machine's cores: an in-bench OpenID provider (discovery and a JWKS
//! with the RS256 fixture key), rolegate itself (memory store, a file audit log, as
//! `rolegate serve` runs it) and the load generator (reqwest over keep-alive connections),
//! first with one request in flight (latency), then with `CONCURRENCY` (throughput). Two
//! scenarios:
//!
//! - `AssumeRoleWithWebIdentity`: pre-signed ID tokens, 256 subjects in turn; per request the
//!   server verifies one RS256 signature, evaluates the trust policy, signs one ES256 session
//!   token and records the session.
//! - `GetCallerIdentity`: SigV4-signed in the `Authorization` header with issued credentials,
//!   signed once per connection before the clock starts (SigV4 allows replays within its 15
//!   minutes); per request the server derives the secret, verifies the ES256 session token,
//!   rebuilds the canonical request, runs the HMAC chain and checks revocation.
//!
//! The floor is those operations alone, single-threaded, times the cores: the most the
//! machine could answer if HTTP, parsing, policy and the store cost nothing.
//!
//! `cargo bench --bench sts_load` runs each scenario for `STS_BENCH_SECONDS` (default 10);
//! under `cargo test` it runs for a fraction of a second, only to show it works.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "benchmark harness"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use axum::Router;
use axum::routing::get;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rolegate::clock::{Clock, SystemClock};
use rolegate::server::Server;
use rolegate::sts::{OriginalIdentity, SessionClaims, SessionKeys};
use serde_json::{Value, json};

/// Requests in flight at once when measuring throughput.
const CONCURRENCY: usize = 32;
/// Distinct web identities the generator cycles through.
const SUBJECTS: usize = 256;
const CLIENT_ID: &str = "rolegate-bench";
const ACCOUNT: &str = "111122223333";
const ROLE: &str = "arn:aws:iam::111122223333:role/Deployer";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/oidc");

fn main() {
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let seconds = if benchmarking {
        std::env::var("STS_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10.0)
    } else {
        0.2
    };
    let run_for = Duration::from_secs_f64(seconds);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);

    let floor = Floor::measure(run_for);
    let rolegate = Runtime::new(cores);
    let started = rolegate.block_on(Bench::start());
    let generator = Runtime::new(cores);
    let [assume_alone, assume] =
        [1, CONCURRENCY].map(|n| generator.block_on(started.assume_load(run_for, n)));
    let [whoami_alone, whoami] =
        [1, CONCURRENCY].map(|n| generator.block_on(started.caller_identity_load(run_for, n)));

    let assume_floor = floor.assume_per_second * cores as f64;
    let whoami_floor = floor.caller_identity_per_second * cores as f64;
    println!(
        "sts_load: {cores} cores, {CONCURRENCY} requests in flight (and 1, alone), {seconds} s a run"
    );
    println!(
        "| scenario | req/s | p50 | p99 | alone: p50, p99 | crypto floor ({cores} cores) | of the floor |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, alone, load, ceiling) in [
        (
            "AssumeRoleWithWebIdentity",
            &assume_alone,
            &assume,
            assume_floor,
        ),
        (
            "GetCallerIdentity (SigV4)",
            &whoami_alone,
            &whoami,
            whoami_floor,
        ),
    ] {
        println!(
            "| {name} | {:.0} | {} | {} | {}, {} | {ceiling:.0}/s | {:.0} % |",
            load.per_second(),
            micros(load.percentile(50)),
            micros(load.percentile(99)),
            micros(alone.percentile(50)),
            micros(alone.percentile(99)),
            100.0 * load.per_second() / ceiling
        );
    }
    println!(
        "floor, single-threaded: RS256 verify {} + ES256 sign {}; ES256 verify {} + SigV4 key and signature HMACs {}",
        micros(floor.rs256_verify),
        micros(floor.es256_sign),
        micros(floor.es256_verify),
        micros(floor.sigv4_chain),
    );
}

fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

/// A tokio runtime as wide as the machine.
struct Runtime(tokio::runtime::Runtime);

impl Runtime {
    fn new(workers: usize) -> Self {
        Self(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .unwrap(),
        )
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.0.block_on(future)
    }
}

/// The per-request crypto, each operation timed alone on one thread.
struct Floor {
    rs256_verify: Duration,
    es256_sign: Duration,
    es256_verify: Duration,
    sigv4_chain: Duration,
    assume_per_second: f64,
    caller_identity_per_second: f64,
}

impl Floor {
    fn measure(run_for: Duration) -> Self {
        let id_token = id_tokens(1).pop().unwrap();
        let rsa = rsa_decoding_key();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[CLIENT_ID]);
        let rs256_verify = time_each(run_for, || {
            jsonwebtoken::decode::<Value>(black_box(&id_token), &rsa, &validation).unwrap();
        });

        let keys = SessionKeys::generate().unwrap();
        let claims = session_claims();
        let es256_sign = time_each(run_for, || {
            rolegate::sts::issue(&keys, black_box(&claims)).unwrap();
        });
        let session_token = rolegate::sts::issue(&keys, &claims).unwrap();
        let es256_verify = time_each(run_for, || {
            rolegate::sts::verify(&keys, black_box(&session_token), "http://bench", 1).unwrap();
        });

        let derivation = [7u8; 32];
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
        let string_to_sign = "AWS4-HMAC-SHA256\n20260601T000000Z\n20260601/us-east-1/sts/aws4_request\n\
             3511de7e95d28ecd39e9513b642aee07e54f4941150d8df8bf94b328ef7e55e2";
        let sigv4_chain = time_each(run_for, || {
            // The secret from the access key id, then SigV4's key chain and signature.
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&derivation).unwrap();
            mac.update(black_box(b"ASIAEXAMPLE234567ABC"));
            let secret = mac.finalize().into_bytes();
            let secret = base64_40(&secret);
            let key = v4::generate_signing_key(&secret, now, "us-east-1", "sts");
            black_box(v4::calculate_signature(key, string_to_sign.as_bytes()));
        });

        let assume = rs256_verify + es256_sign;
        let caller_identity = es256_verify + sigv4_chain;
        Self {
            rs256_verify,
            es256_sign,
            es256_verify,
            sigv4_chain,
            assume_per_second: 1.0 / assume.as_secs_f64(),
            caller_identity_per_second: 1.0 / caller_identity.as_secs_f64(),
        }
    }
}

/// 40 characters of base64, as rolegate's derived secrets are.
fn base64_40(bytes: &[u8]) -> String {
    use base64::Engine as _;
    let mut text = base64::engine::general_purpose::STANDARD.encode(bytes);
    text.truncate(40);
    text
}

/// The mean time of `operation`, run repeatedly for `run_for` after a short warm-up.
fn time_each(run_for: Duration, mut operation: impl FnMut()) -> Duration {
    for _ in 0..20 {
        operation();
    }
    let started = Instant::now();
    let mut count = 0u32;
    while started.elapsed() < run_for || count < 20 {
        operation();
        count += 1;
    }
    started.elapsed() / count
}

fn session_claims() -> SessionClaims {
    SessionClaims {
        iss: "http://bench".into(),
        sub: "arn:aws:sts::111122223333:assumed-role/Deployer/deploy-bot".into(),
        iat: 0,
        exp: u64::MAX / 2,
        akid: "ASIAEXAMPLE234567ABC".into(),
        role: ROLE.into(),
        acct: ACCOUNT.into(),
        name: "deploy-bot".into(),
        tags: Default::default(),
        ttk: Vec::new(),
        srcid: None,
        orig: OriginalIdentity {
            idp: "bench".into(),
            subject: "u-1".into(),
            issuer: "http://127.0.0.1".into(),
        },
        pol: None,
        mfa: false,
        chain: false,
    }
}

fn rsa_decoding_key() -> DecodingKey {
    let jwk = &public_jwks()["rsa"];
    DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
        .unwrap()
}

fn public_jwks() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/idp-public-jwks.json")).unwrap(),
    )
    .unwrap()
}

/// The issuer the in-bench provider announces; set once it listens.
static ISSUER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `count` ID tokens for distinct subjects, RS256-signed with the fixture key, valid an hour.
fn id_tokens(count: usize) -> Vec<String> {
    let pem = std::fs::read(format!("{FIXTURES}/idp-rsa.pem")).unwrap();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("bench-rsa".into());
    let now = SystemClock.unix_seconds();
    let issuer = ISSUER.get().map_or("http://127.0.0.1", String::as_str);
    (0..count)
        .map(|i| {
            let claims = json!({"iss": issuer, "sub": format!("u-{i}"), "aud": CLIENT_ID,
                                "iat": now, "exp": now + 3600});
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        })
        .collect()
}

/// The provider and rolegate, listening.
struct Bench {
    sts: String,
    /// Keeps the configuration folder (and the audit log) until the end.
    _folder: tempfile::TempDir,
}

impl Bench {
    async fn start() -> Self {
        let provider = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", provider.local_addr().unwrap());
        ISSUER.set(issuer.clone()).unwrap();
        tokio::spawn(async move { axum::serve(provider, provider_app(issuer)).await.unwrap() });

        let folder = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let issuer = ISSUER.get().unwrap();
        let host = issuer.trim_start_matches("http://").to_owned();
        std::fs::create_dir_all(folder.path().join("mappings/directory")).unwrap();
        std::fs::create_dir_all(folder.path().join("mappings/rules")).unwrap();
        std::fs::write(
            folder.path().join("rolegate.toml"),
            format!(
                "listen = \"{address}\"\npublic_url = \"http://{address}\"\n\n[audit]\nfile = \"audit.log\"\n\n\
                 [[idp]]\nname = \"corp\"\nkind = \"oidc\"\nissuer = \"{issuer}\"\nclient_id = \"{CLIENT_ID}\"\n"
            ),
        )
        .unwrap();
        let trust = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "Corp", "Effect": "Allow", "Principal": {{"Federated": "arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"}}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {{"StringEquals": {{"{host}:aud": "{CLIENT_ID}"}}}}}}]}}"#
        );
        std::fs::write(
            folder.path().join("mappings/directory/accounts.yaml"),
            format!(
                "accounts:\n  - id: \"{ACCOUNT}\"\n    alias: shop\n    identity_providers:\n      - oidc: {host}\n        idp: corp\n    roles:\n      - name: Deployer\n        managed_policies: [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\n        trust_policy: {trust}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            folder.path().join("mappings/rules/rules.yaml"),
            "rules: []\n",
        )
        .unwrap();
        let secret =
            |name: &str| (name == "ROLEGATE_IDP_CORP_CLIENT_SECRET").then(|| "unused".to_owned());
        let config =
            rolegate::config::Config::load(&folder.path().join("rolegate.toml"), &secret).unwrap();
        let server = Server::start_on(listener, config).await.unwrap();
        tokio::spawn(server.run_until(std::future::pending()));
        Self {
            sts: format!("http://{address}/sts"),
            _folder: folder,
        }
    }

    async fn assume_load(&self, run_for: Duration, in_flight: usize) -> Load {
        let tokens = Arc::new(id_tokens(SUBJECTS));
        let sts = self.sts.clone();
        load(run_for, in_flight, move |worker, n| {
            let token = &tokens[(worker * 7 + n) % tokens.len()];
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("Action", "AssumeRoleWithWebIdentity")
                .append_pair("Version", "2011-06-15")
                .append_pair("RoleArn", ROLE)
                .append_pair("RoleSessionName", "deploy-bot")
                .append_pair("WebIdentityToken", token)
                .finish();
            Prepared {
                url: sts.clone(),
                headers: vec![(
                    "content-type".into(),
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                )],
                body,
            }
        })
        .await
    }

    async fn caller_identity_load(&self, run_for: Duration, in_flight: usize) -> Load {
        let credentials = self.credentials().await;
        let signed: Vec<Prepared> = (0..in_flight)
            .map(|_| self.signed_caller_identity(&credentials))
            .collect();
        let signed = Arc::new(signed);
        load(run_for, in_flight, move |worker, _| signed[worker].clone()).await
    }

    /// Credentials from one `AssumeRoleWithWebIdentity`.
    async fn credentials(&self) -> aws_credential_types::Credentials {
        let token = id_tokens(1).pop().unwrap();
        let xml = reqwest::Client::new()
            .post(&self.sts)
            .form(&[
                ("Action", "AssumeRoleWithWebIdentity"),
                ("Version", "2011-06-15"),
                ("RoleArn", ROLE),
                ("RoleSessionName", "whoami-bench"),
                ("WebIdentityToken", &token),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let element = |name: &str| {
            let start = xml
                .find(&format!("<{name}>"))
                .unwrap_or_else(|| panic!("{xml}"));
            let rest = &xml[start + name.len() + 2..];
            rest[..rest.find('<').unwrap()].to_owned()
        };
        aws_credential_types::Credentials::new(
            element("AccessKeyId"),
            element("SecretAccessKey"),
            Some(element("SessionToken")),
            None,
            "bench",
        )
    }

    /// A `GetCallerIdentity` POST signed as botocore signs it.
    fn signed_caller_identity(&self, credentials: &aws_credential_types::Credentials) -> Prepared {
        let body = "Action=GetCallerIdentity&Version=2011-06-15".to_owned();
        let url = url::Url::parse(&self.sts).unwrap();
        let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("sts")
            .time(SystemClock.now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [("host", host.as_str()), ("content-type", content_type)];
        let signable = SignableRequest::new(
            "POST",
            self.sts.as_str(),
            headers.into_iter(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut prepared = Prepared {
            url: self.sts.clone(),
            headers: vec![("content-type".into(), content_type.into())],
            body,
        };
        for (name, value) in instructions.headers() {
            prepared.headers.push((name.to_owned(), value.to_owned()));
        }
        prepared
    }
}

/// The in-bench OpenID provider: discovery and the fixture RSA key's JWKS.
fn provider_app(issuer: String) -> Router {
    let discovery = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let mut jwk = public_jwks()["rsa"].clone();
    jwk["kid"] = "bench-rsa".into();
    jwk["alg"] = "RS256".into();
    jwk["use"] = "sig".into();
    let jwks = json!({ "keys": [jwk] });
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(move || async move { axum::Json(discovery) }),
        )
        .route("/jwks", get(move || async move { axum::Json(jwks) }))
}

/// One request, ready to send.
#[derive(Clone)]
struct Prepared {
    url: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// What a scenario measured.
struct Load {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Load {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: usize) -> Duration {
        let index = (self.latencies.len() * p / 100).min(self.latencies.len() - 1);
        self.latencies[index]
    }
}

/// Sends `in_flight` streams of requests (`prepare(worker, n)`) for `run_for` after a
/// warm-up; every answer must be 200.
async fn load(
    run_for: Duration,
    in_flight: usize,
    prepare: impl Fn(usize, usize) -> Prepared + Send + Sync + 'static,
) -> Load {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(in_flight)
        .build()
        .unwrap();
    let prepare = Arc::new(prepare);
    let run = |until: Instant| {
        let tasks: Vec<_> = (0..in_flight)
            .map(|worker| {
                let client = client.clone();
                let prepare = prepare.clone();
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    let mut n = 0;
                    while Instant::now() < until {
                        let request = prepare(worker, n);
                        n += 1;
                        let mut builder = client.post(&request.url).body(request.body);
                        for (name, value) in &request.headers {
                            builder = builder.header(name, value);
                        }
                        let sent = Instant::now();
                        let response = builder.send().await.unwrap();
                        let status = response.status();
                        let text = response.text().await.unwrap();
                        latencies.push(sent.elapsed());
                        assert_eq!(status, 200, "{text}");
                    }
                    latencies
                })
            })
            .collect();
        async move {
            let mut all = Vec::new();
            for task in tasks {
                all.extend(task.await.unwrap());
            }
            all
        }
    };
    run(Instant::now() + run_for / 5).await;
    let started = Instant::now();
    let mut latencies = run(started + run_for).await;
    let elapsed = started.elapsed();
    latencies.sort();
    Load { latencies, elapsed }
}
