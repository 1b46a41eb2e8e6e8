//! The OpenID Connect relying party against an in-test provider whose ID tokens are wrong in
//! exactly one way each (OIDC Core 3.1.3.7): every one is refused with a 4xx page that names
//! the request and leaks no token, and the browser stays signed out.

use serde_json::{Value, json};

use crate::support::oidc_provider::{CLIENT_ID, Minting, TestKey, TestProvider, patched};
use crate::support::{ConfiguredServer, browser, location, page};

/// Signs in through the provider; the callback's response.
async fn sign_in(server: &ConfiguredServer, client: &reqwest::Client) -> reqwest::Response {
    sign_in_from(server, client, "/login/test").await
}

/// Signs in starting at `path` (`/login/test?…`); the callback's response.
async fn sign_in_from(
    server: &ConfiguredServer,
    client: &reqwest::Client,
    path: &str,
) -> reqwest::Response {
    let started = client.get(server.url(path)).send().await.unwrap();
    let approved = client.get(location(&started)).send().await.unwrap();
    client.get(location(&approved)).send().await.unwrap()
}

/// Asserts the sign-in was refused as a sign-in error should be, and nobody is signed in.
async fn assert_refused(server: &ConfiguredServer, client: &reqwest::Client, case: &str) {
    let response = sign_in(server, client).await;
    let status = response.status();
    let html = response.text().await.unwrap();
    assert!(status.is_client_error(), "{case}: status {status}: {html}");
    assert!(html.contains("could not be verified"), "{case}: {html}");
    assert!(
        html.contains("request id <code>"),
        "{case}: no request id: {html}"
    );
    assert!(
        !html.contains("eyJ"),
        "{case}: a token leaked into the page"
    );
    assert!(
        html.contains("/login"),
        "{case}: no way to start over: {html}"
    );
    let portal = client.get(server.url("/")).send().await.unwrap();
    assert!(
        portal.status().is_redirection(),
        "{case}: signed in anyway ({})",
        portal.status()
    );
}

async fn setup(extra: &str) -> (TestProvider, ConfiguredServer) {
    let provider = TestProvider::start().await;
    let server = ConfiguredServer::with_oidc(&provider.issuer, extra).await;
    (provider, server)
}

#[tokio::test]
async fn a_correct_id_token_signs_in() {
    let (_provider, server) = setup("").await;
    let client = browser();
    let done = sign_in(&server, &client).await;
    assert_eq!(location(&done), "/");
    let portal = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(portal.status(), 200);
    assert!(portal.text().await.unwrap().contains("u1@example.com"));
}

#[tokio::test]
async fn each_defective_id_token_is_refused() {
    type Defect = Box<dyn Fn(&Minting) -> String + Send + Sync>;
    let cases: Vec<(&str, Defect)> = vec![
        (
            "alg none",
            Box::new(|m| {
                let header = base64_url(&json!({"alg": "none", "typ": "JWT"}));
                format!("{header}.{}.", base64_url(&m.claims()))
            }),
        ),
        (
            "HS256 keyed with the provider's public key",
            Box::new(|m| {
                let key = jsonwebtoken::EncodingKey::from_secret(&m.key.public_bytes());
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
                header.kid = Some(m.key.kid.clone());
                jsonwebtoken::encode(&header, &m.claims(), &key).unwrap()
            }),
        ),
        (
            "signed by a key the provider never published",
            Box::new(|m| TestKey::new("rogue").sign_as(&m.key.kid, &m.claims())),
        ),
        (
            "payload altered after signing",
            Box::new(|m| {
                let token = m.key.sign(&m.claims());
                let parts: Vec<&str> = token.split('.').collect();
                let forged = m.patched(&json!({"sub": "admin"}));
                format!("{}.{}.{}", parts[0], base64_url(&forged), parts[2])
            }),
        ),
        (
            "another issuer",
            Box::new(patched(|_| json!({"iss": "https://evil.example"}))),
        ),
        (
            "another audience",
            Box::new(patched(|_| json!({"aud": "someone-else"}))),
        ),
        (
            "several audiences without azp",
            Box::new(patched(|_| json!({"aud": [CLIENT_ID, "other"]}))),
        ),
        (
            "azp names another client",
            Box::new(patched(|_| json!({"azp": "other"}))),
        ),
        (
            "expired beyond the clock skew",
            Box::new(patched(|m| json!({"iat": m.now - 600, "exp": m.now - 61}))),
        ),
        (
            "issued in the future beyond the clock skew",
            Box::new(patched(|m| json!({"iat": m.now + 120}))),
        ),
        (
            "another nonce",
            Box::new(patched(|_| json!({"nonce": "replayed-nonce"}))),
        ),
        ("no nonce", Box::new(patched(|_| json!({"nonce": null})))),
        ("no sub", Box::new(patched(|_| json!({"sub": null})))),
        ("no iat", Box::new(patched(|_| json!({"iat": null})))),
        ("no exp", Box::new(patched(|_| json!({"exp": null})))),
        (
            "at_hash of another access token",
            Box::new(patched(|_| json!({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}))),
        ),
        ("not a JWT", Box::new(|_| "not-a-token".to_owned())),
        // Header tricks that point the verifier at the attacker's own key.
        (
            "jwk header embedding the attacker's key",
            Box::new(|m| {
                let attacker = TestKey::new(&m.key.kid);
                let jwk = serde_json::from_value(attacker.jwk()).unwrap();
                attacker.sign_with_header(&m.claims(), |h| h.jwk = Some(jwk))
            }),
        ),
        (
            "jku header naming the attacker's JWKS",
            Box::new(|m| {
                TestKey::new(&m.key.kid).sign_with_header(&m.claims(), |h| {
                    h.jku = Some("https://evil.example/jwks".into());
                })
            }),
        ),
        (
            "x5u header naming the attacker's certificate",
            Box::new(|m| {
                TestKey::new(&m.key.kid).sign_with_header(&m.claims(), |h| {
                    h.x5u = Some("https://evil.example/cert.pem".into());
                })
            }),
        ),
        (
            "crit header the verifier cannot understand",
            Box::new(|m| {
                m.key.sign_with_header(&m.claims(), |h| {
                    h.crit = Some(vec!["exp".into()]);
                })
            }),
        ),
    ];
    let (provider, server) = setup("").await;
    for (case, defect) in cases {
        provider.mint_with(defect);
        assert_refused(&server, &browser(), case).await;
    }
}

#[tokio::test]
async fn clock_skew_is_allowed_up_to_the_configured_leeway() {
    let (provider, server) = setup("clock_skew_seconds = 120").await;
    provider.mint_with(patched(|m| json!({"exp": m.now - 90, "iat": m.now - 400})));
    let client = browser();
    assert_eq!(location(&sign_in(&server, &client).await), "/");
    provider.mint_with(patched(|m| json!({"exp": m.now - 130})));
    assert_refused(&server, &browser(), "expired beyond 120 s").await;
}

#[tokio::test]
async fn several_audiences_are_accepted_when_azp_is_this_client() {
    let (provider, server) = setup("").await;
    provider.mint_with(patched(
        |_| json!({"aud": [CLIENT_ID, "https://api.example"], "azp": CLIENT_ID}),
    ));
    let client = browser();
    assert_eq!(location(&sign_in(&server, &client).await), "/");
}

#[tokio::test]
async fn rotated_keys_are_fetched_once_for_an_unknown_kid() {
    let (provider, server) = setup("").await;
    let client = browser();
    assert_eq!(location(&sign_in(&server, &client).await), "/");
    let fetched = provider.jwks_fetches();
    let next = TestKey::new("key-2");
    provider.rotate_keys(vec![next.clone()], next);
    let client = browser();
    assert_eq!(location(&sign_in(&server, &client).await), "/");
    assert_eq!(provider.jwks_fetches(), fetched + 1);
    // Forged key ids cannot make rolegate fetch again within the minute.
    provider.mint_with(|m| TestKey::new("forged").sign_as("forged-kid", &m.claims()));
    assert_refused(&server, &browser(), "unknown kid").await;
    assert_refused(&server, &browser(), "unknown kid again").await;
    assert_eq!(provider.jwks_fetches(), fetched + 1);
}

/// Userinfo fills in what the ID token lacks (here the groups); the ID token's own claims
/// (here the email) win.
#[tokio::test]
async fn userinfo_claims_are_merged_when_configured() {
    for (userinfo, shown, hidden) in [
        (true, "from-userinfo", "other@example.com"),
        (false, "none", "from-userinfo"),
    ] {
        let (provider, server) = setup(&format!("userinfo = {userinfo}")).await;
        provider.mint_with(patched(|_| json!({"groups": null})));
        provider.set_userinfo(json!({
            "sub": "u-1", "groups": ["from-userinfo"], "email": "other@example.com",
        }));
        let client = browser();
        assert_eq!(location(&sign_in(&server, &client).await), "/");
        let html = page(&client, &server.url("/")).await;
        assert!(html.contains(shown), "userinfo = {userinfo}: {html}");
        assert!(
            html.contains("u1@example.com"),
            "userinfo = {userinfo}: {html}"
        );
        assert!(!html.contains(hidden), "userinfo = {userinfo}: {html}");
    }
}

#[tokio::test]
async fn userinfo_for_another_subject_is_refused() {
    let (provider, server) = setup("userinfo = true").await;
    provider.set_userinfo(json!({"sub": "someone-else", "groups": ["admins"]}));
    let client = browser();
    let response = sign_in(&server, &client).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    let portal = client.get(server.url("/")).send().await.unwrap();
    assert!(portal.status().is_redirection());
}

#[tokio::test]
async fn prompt_and_max_age_are_passed_on_and_invalid_ones_refused() {
    let (_provider, server) = setup("").await;
    let client = browser();
    let started = client
        .get(server.url("/login/test?prompt=login%20consent&max_age=300"))
        .send()
        .await
        .unwrap();
    let authorize = location(&started);
    let value = |name: &str| crate::support::query_value(&authorize, name);
    assert_eq!(value("prompt").as_deref(), Some("login consent"));
    assert_eq!(value("max_age").as_deref(), Some("300"));
    for bad in [
        "prompt=bogus",
        "prompt=none%20login",
        "max_age=-1",
        "max_age=soon",
    ] {
        let response = client
            .get(server.url(&format!("/login/test?{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let html = response.text().await.unwrap();
        assert!(html.contains("not valid"), "{bad}: {html}");
    }
}

/// After `max_age`, the ID token must carry an `auth_time` no older than it (plus skew).
#[tokio::test]
async fn max_age_requires_a_recent_auth_time() {
    let (provider, server) = setup("").await;
    let path = "/login/test?max_age=600";
    let cases: [(&str, Option<i64>, bool); 3] = [
        ("recent auth_time", Some(-500), true),
        ("auth_time older than max_age and skew", Some(-700), false),
        ("no auth_time", None, false),
    ];
    for (case, offset, accepted) in cases {
        provider.mint_with(patched(
            move |m| json!({"auth_time": offset.map(|o| m.now.saturating_add_signed(o))}),
        ));
        let client = browser();
        let response = sign_in_from(&server, &client, path).await;
        if accepted {
            assert_eq!(location(&response), "/", "{case}");
        } else {
            assert_eq!(response.status(), 400, "{case}");
        }
    }
    // Without max_age, no auth_time is needed.
    provider.mint_with(|m| m.key.sign(&m.claims()));
    assert_eq!(location(&sign_in(&server, &browser()).await), "/");
}

#[tokio::test]
async fn only_verified_emails_in_allowed_domains_sign_in() {
    let (provider, server) = setup("allowed_email_domains = [\"example.com\"]").await;
    assert_eq!(location(&sign_in(&server, &browser()).await), "/");
    for (case, change) in [
        (
            "another domain",
            json!({"email": "u1@example.com.evil.org"}),
        ),
        ("unverified", json!({"email_verified": false})),
        // Finding #10.4: a token without `email_verified` was admitted.
        ("verification not asserted", json!({"email_verified": null})),
        ("no email", json!({"email": null})),
    ] {
        provider.mint_with(patched(move |_| change.clone()));
        let client = browser();
        let response = sign_in(&server, &client).await;
        assert_eq!(response.status(), 403, "{case}");
        let html = response.text().await.unwrap();
        assert!(html.contains("may not sign in"), "{case}: {html}");
        assert!(!html.contains("evil.org"), "{case}: detail leaked: {html}");
        let portal = client.get(server.url("/")).send().await.unwrap();
        assert!(portal.status().is_redirection(), "{case}: signed in anyway");
    }
}

/// `trust_email = true` declares every address of the provider verified (Keycloak's
/// setting); without it the same token is refused.
#[tokio::test]
async fn trust_email_admits_addresses_the_provider_does_not_mark_verified() {
    let (provider, server) =
        setup("allowed_email_domains = [\"example.com\"]\ntrust_email = true").await;
    provider.mint_with(patched(|_| json!({"email_verified": null})));
    assert_eq!(location(&sign_in(&server, &browser()).await), "/");
}

#[tokio::test]
async fn the_sign_in_page_shows_the_configured_logo() {
    let provider = TestProvider::start().await;
    let svg = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'/>";
    let server = crate::support::ConfiguredServer::start(
        crate::support::reserve_port(),
        "test",
        (CLIENT_ID, &provider.issuer),
        "display_name = \"Corp SSO\"\nlogo_file = \"corp.svg\"",
        |folder| std::fs::write(folder.join("corp.svg"), svg).unwrap(),
    )
    .await;
    let client = browser();
    let page = client.get(server.url("/login")).send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<img class="logo" src="/login/test/logo""#),
        "{html}"
    );
    assert!(html.contains("Corp SSO"), "{html}");
    let logo = client
        .get(server.url("/login/test/logo"))
        .send()
        .await
        .unwrap();
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/svg+xml");
    assert_eq!(logo.text().await.unwrap(), svg);
    let none = client
        .get(server.url("/login/other/logo"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);
}

/// MFA comes from `amr` (two factors, or `mfa`) or from an `acr` the config lists.
#[tokio::test]
async fn mfa_is_read_from_amr_and_configured_acr_values() {
    let (provider, server) = setup("mfa_acr_values = [\"urn:corp:loa:2\"]").await;
    for (claims, mfa) in [
        (json!({"amr": ["pwd", "otp"]}), true),
        (json!({"amr": ["pwd", "kba"]}), false),
        (json!({"amr": ["pwd"], "acr": "urn:corp:loa:2"}), true),
        (json!({"acr": "urn:corp:loa:1"}), false),
        (
            json!({"acr": "http://schemas.openid.net/pape/policies/2007/06/multi-factor"}),
            false,
        ),
    ] {
        let patch = claims.clone();
        provider.mint_with(patched(move |_| patch.clone()));
        let client = browser();
        assert_eq!(location(&sign_in(&server, &client).await), "/", "{claims}");
        let html = page(&client, &server.url("/")).await;
        let shown = if mfa { "<dd>yes" } else { "<dd>no" };
        assert!(
            html.contains(&format!("<dt>Multi-factor</dt>{shown}")),
            "{claims}: {html}"
        );
    }
}

#[tokio::test]
async fn private_key_jwt_authenticates_rolegate_at_the_token_endpoint() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/oidc");
    let (provider, server) = setup(&format!(
        "client_auth = \"private_key_jwt\"\nprivate_key_file = \"{fixtures}/client-es256.pem\""
    ))
    .await;
    provider.expect_client_key(
        &std::fs::read_to_string(format!("{fixtures}/client-es256.pub.pem")).unwrap(),
    );
    assert_eq!(location(&sign_in(&server, &browser()).await), "/");
    assert_eq!(provider.assertions(), [true]);
    // A provider that holds another public key refuses the assertion: no sign-in.
    provider.expect_client_key(
        &std::fs::read_to_string(format!("{fixtures}/other-es256.pub.pem")).unwrap(),
    );
    let response = sign_in(&server, &browser()).await;
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("did not complete the sign-in")
    );
    assert_eq!(provider.assertions(), [true, false]);
}

/// RFC 9207: this provider promises `iss` on every authorization response, so a response
/// without it, or with another issuer (an error response too), is refused.
#[tokio::test]
async fn a_promised_iss_must_be_present_and_right() {
    let (_provider, server) = setup("").await;
    for (case, change) in [
        ("iss missing", None),
        ("iss of another provider", Some("https://evil.example")),
    ] {
        let client = browser();
        let started = client.get(server.url("/login/test")).send().await.unwrap();
        let approved = client.get(location(&started)).send().await.unwrap();
        let mut callback = url::Url::parse(&location(&approved)).unwrap();
        let pairs: Vec<(String, String)> = callback
            .query_pairs()
            .filter(|(k, _)| k != "iss")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        callback.query_pairs_mut().clear().extend_pairs(pairs);
        if let Some(iss) = change {
            callback.query_pairs_mut().append_pair("iss", iss);
        }
        let response = client.get(callback.as_str()).send().await.unwrap();
        assert_eq!(response.status(), 400, "{case}");
        let portal = client.get(server.url("/")).send().await.unwrap();
        assert!(portal.status().is_redirection(), "{case}: signed in anyway");
    }
    // An error response naming another issuer is a mix-up, not the provider's refusal.
    let client = browser();
    let started = client.get(server.url("/login/test")).send().await.unwrap();
    let state = crate::support::query_value(&location(&started), "state").unwrap();
    let url = server.url(&format!(
        "/auth/oidc/test/callback?state={state}&error=access_denied&iss=https%3A%2F%2Fevil.example"
    ));
    let html = page(&client, &url).await;
    assert!(html.contains("does not match the sign-in"), "{html}");
}

/// ID tokens signed with each algorithm a provider commonly uses verify against its JWKS.
#[tokio::test]
async fn rs256_ps256_es256_and_eddsa_signatures_verify() {
    use jsonwebtoken::Algorithm::{ES256, PS256, RS256};
    let (provider, server) = setup("").await;
    let keys = vec![
        TestKey::fixture("rs", RS256),
        TestKey::fixture("ps", PS256),
        TestKey::fixture("es", ES256),
        TestKey::new("ed"),
    ];
    for signer in &keys {
        // Every key is published from the start: only the signer changes.
        provider.rotate_keys(keys.clone(), signer.clone());
        let response = sign_in(&server, &browser()).await;
        assert_eq!(location(&response), "/", "signed with `{}`", signer.kid);
    }
}

/// The portal says how long ago the second factor was used (`auth_time`), as
/// `aws:MultiFactorAuthAge` will count it.
#[tokio::test]
async fn mfa_age_comes_from_auth_time() {
    let (provider, server) = setup("").await;
    provider.mint_with(patched(
        |m| json!({"amr": ["mfa"], "auth_time": m.now - 330}),
    ));
    let client = browser();
    assert_eq!(location(&sign_in(&server, &client).await), "/");
    let html = page(&client, &server.url("/")).await;
    assert!(
        html.contains("<dt>Multi-factor</dt><dd>yes, 5 min ago"),
        "{html}"
    );
}

fn base64_url(value: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Finding #10.8: discovery held a lock across the fetch and forgot failures, so five
/// sign-ins through a hanging provider answered after 10, 20, 30, 40 and 50 s. Now one
/// fetch serves all five under one timeout, and the failure is remembered: the next
/// sign-in answers 502 at once, without reaching the provider.
#[tokio::test]
async fn a_hanging_provider_is_asked_once_for_all_waiting_sign_ins() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", hanging.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = hanging.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    let server = ConfiguredServer::with_oidc(&issuer, "\n[limits]\nidp_timeout_seconds = 1").await;
    let started = Instant::now();
    let sign_ins: Vec<_> = (0..5)
        .map(|_| {
            let url = server.url("/login/test");
            tokio::spawn(async move { browser().get(url).send().await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for sign_in in sign_ins {
        statuses.push(sign_in.await.unwrap());
    }
    let waited = started.elapsed();
    assert!(statuses.iter().all(|s| *s == 502), "{statuses:?}");
    assert!(
        waited < Duration::from_secs(4),
        "the sign-ins were served one after another: {waited:?}"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "one fetch for all five"
    );
    let again = Instant::now();
    let status = browser()
        .get(server.url("/login/test"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 502);
    assert!(
        again.elapsed() < Duration::from_millis(500),
        "a dead provider answers at once"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "the failure was remembered"
    );
}

/// Every sign-in, made or refused, is one CloudTrail-shaped audit line with the mapping
/// decision, and no token or code in it.
#[tokio::test]
async fn sign_ins_are_audited_with_the_mapping_decision() {
    let (provider, server) = setup("\n[audit]\nfile = \"audit.jsonl\"").await;
    assert_eq!(location(&sign_in(&server, &browser()).await), "/");
    provider.mint_with(patched(|_| json!({"nonce": "not-ours"})));
    assert!(
        sign_in(&server, &browser())
            .await
            .status()
            .is_client_error()
    );
    let log = std::fs::read_to_string(server.folder().join("audit.jsonl")).unwrap();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{log}");
    let made = &events[0];
    assert_eq!(made["eventSource"], "signin.rolegate");
    assert_eq!(made["eventName"], "SignIn");
    assert_eq!(made["eventType"], "AwsConsoleSignIn");
    assert_eq!(made["userIdentity"]["userName"], "u-1");
    assert_eq!(made["userIdentity"]["identityProvider"], "test");
    assert!(
        made["responseElements"]["offeredRoles"].is_array(),
        "{made}"
    );
    assert!(made.get("errorCode").is_none());
    assert_eq!(events[1]["errorCode"], "ValidationError", "{}", events[1]);
    assert!(!log.contains("eyJ") && !log.contains("code="), "{log}");
}

/// `[login] straight_to_single_idp`: with one provider the sign-in page sends people straight
/// to it, except right after they signed out (which would sign them in again at once).
#[tokio::test]
async fn the_only_provider_is_chosen_at_once_except_after_signing_out() {
    let provider = TestProvider::start().await;
    let server =
        ConfiguredServer::with_oidc(&provider.issuer, "\n[login]\nstraight_to_single_idp = true")
            .await;
    let client = browser();
    let straight = client.get(server.url("/login")).send().await.unwrap();
    assert_eq!(location(&straight), "/login/test");
    assert_eq!(location(&sign_in(&server, &client).await), "/");
    let portal = page(&client, &server.url("/")).await;
    let csrf = crate::support::hidden_input(&portal, "csrf").unwrap();
    let signed_out = client
        .post(server.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let mark = signed_out
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("rolegate_signed_out=1"))
        .expect("signing out marks the browser")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let after = client
        .get(server.url("/login"))
        .header("cookie", &mark)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 200, "the choice is shown after signing out");
}
