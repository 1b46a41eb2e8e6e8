//! Signing in through the demo OpenID Provider with the broker's real OIDC client, and the
//! attacks on that flow.

use crate::support::{
    DemoServer, approve_at_demo, browser, hidden_input, location, page, query_pairs, query_value,
    signed_in_as,
};

/// Walks a browser from `/login/demo` to the callback URL the demo provider redirects to,
/// signing in as `subject`. Returns the callback URL (not yet visited).
async fn callback_for(
    server: &DemoServer,
    client: &reqwest::Client,
    start: &str,
    subject: &str,
) -> String {
    let response = client.get(server.url(start)).send().await.unwrap();
    let authorize = location(&response);
    assert!(
        authorize.starts_with(&server.url("/demo-idp/authorize?")),
        "{authorize}"
    );
    let page = client.get(&authorize).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Alice Admin") && html.contains("Carol Contractor"),
        "{html}"
    );
    approve_at_demo(server, client, &authorize, subject).await
}

#[tokio::test]
async fn demo_sign_in_reaches_the_portal_with_the_providers_claims() {
    let server = DemoServer::start().await;
    let client = browser();
    let portal = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(location(&portal), "/login");
    let login = page(&client, &server.url("/login")).await;
    assert!(login.contains("href=\"/login/demo\""), "{login}");

    let callback = callback_for(&server, &client, "/login/demo", "demo-bob").await;
    let params = query_pairs(&callback);
    assert!(
        params
            .iter()
            .any(|(k, v)| k == "iss" && *v == server.url("/demo-idp"))
    );
    let done = client.get(&callback).send().await.unwrap();
    assert_eq!(location(&done), "/");
    let cookie = done.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("rolegate_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let page = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Bob Builder"), "{html}");
    assert!(html.contains("AWS_staging_ReadOnly"), "{html}");
    assert!(html.contains("<code>pwd mfa</code>"), "{html}");
    // The sample rules grant Bob these roles, each checked against its trust policy.
    let marker = "<span class=\"role-name\"><strong>";
    let offered: Vec<&str> = html
        .match_indices(marker)
        .map(|(i, _)| &html[i + marker.len()..])
        .map(|s| &s[..s.find('<').unwrap()])
        .collect();
    assert_eq!(
        offered,
        ["ReadOnly", "Developer", "Developer", "ReadOnly"],
        "{html}"
    );
    for account in ["Production", "Sandbox", "Staging"] {
        assert!(
            html.contains(&format!("</svg>{account} <span")),
            "{account} missing: {html}"
        );
    }
    assert!(
        html.contains("granted by alias-group-convention, staff-read-staging"),
        "{html}"
    );
}

#[tokio::test]
async fn person_without_mfa_is_shown_without_it() {
    let server = DemoServer::start().await;
    let client = signed_in_as(&server, "demo-carol").await;
    let html = page(&client, &server.url("/")).await;
    assert!(html.contains("Carol Contractor"));
    assert!(html.contains("<dt>Multi-factor</dt><dd>no"), "{html}");
    // Her production group is refused by the deny rules whatever the time of day.
    assert!(!html.contains("</svg>Production <span"), "{html}");
}

#[tokio::test]
async fn session_id_changes_at_sign_in() {
    let server = DemoServer::start().await;
    let client = browser();
    let started = client.get(server.url("/login/demo")).send().await.unwrap();
    let before = session_cookie(&started);
    let authorize = location(&started);
    let mut form = query_pairs(&authorize);
    form.push(("subject".into(), "demo-alice".into()));
    let approved = client
        .post(server.url("/demo-idp/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let done = client.get(location(&approved)).send().await.unwrap();
    let after = session_cookie(&done);
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(
        id(&before),
        id(&after),
        "session fixation: the id must be rotated"
    );
}

#[tokio::test]
async fn callback_replayed_after_success_is_refused() {
    let server = DemoServer::start().await;
    let client = browser();
    let callback = callback_for(&server, &client, "/login/demo", "demo-alice").await;
    assert_eq!(location(&client.get(&callback).send().await.unwrap()), "/");
    let replay = client.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), 400);
}

#[tokio::test]
async fn callback_from_another_browser_is_refused() {
    let server = DemoServer::start().await;
    let victim = browser();
    let callback = callback_for(&server, &victim, "/login/demo", "demo-alice").await;
    // Login CSRF / code injection: the attacker's browser (no pending sign-in) uses it.
    let attacker = browser();
    let response = attacker.get(&callback).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(html.contains("was not started in this browser"), "{html}");
    assert!(!html.contains("code="), "no code echoed: {html}");
}

#[tokio::test]
async fn wrong_state_is_refused() {
    let server = DemoServer::start().await;
    let client = browser();
    let callback = callback_for(&server, &client, "/login/demo", "demo-alice").await;
    let tampered: String = callback
        .split('&')
        .map(|part| {
            if part.starts_with("state=") {
                "state=forged".to_owned()
            } else {
                part.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(client.get(&tampered).send().await.unwrap().status(), 400);
    // The real state still works once: a forged attempt does not consume it.
    assert_eq!(location(&client.get(&callback).send().await.unwrap()), "/");
}

#[tokio::test]
async fn mix_up_issuer_in_callback_is_refused() {
    let server = DemoServer::start().await;
    let client = browser();
    let callback = callback_for(&server, &client, "/login/demo", "demo-alice").await;
    let mut url = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let value = if k == "iss" {
                "https://evil.example".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let response = client.get(url.as_str()).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("does not match the sign-in")
    );
}

#[tokio::test]
async fn provider_error_is_shown_without_echoing_its_text() {
    let server = DemoServer::start().await;
    let client = browser();
    let started = client.get(server.url("/login/demo")).send().await.unwrap();
    let state = query_value(&location(&started), "state").unwrap();
    let url = format!(
        "{}?state={state}&error=access_denied%3Cscript%3E&error_description=%3Cscript%3Ealert(1)%3C/script%3E",
        server.url("/auth/oidc/demo/callback")
    );
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(html.contains("did not sign you in"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
}

#[tokio::test]
async fn return_to_outside_the_origin_is_ignored() {
    let server = DemoServer::start().await;
    for (target, expected) in [
        ("%2F%2Fevil.example", "/"),
        ("https%3A%2F%2Fevil.example", "/"),
        ("%2Fconsole%3Fa%3D1", "/console?a=1"),
    ] {
        let client = browser();
        let callback = callback_for(
            &server,
            &client,
            &format!("/login/demo?return_to={target}"),
            "demo-bob",
        )
        .await;
        let done = client.get(&callback).send().await.unwrap();
        assert_eq!(location(&done), expected, "return_to={target}");
    }
}

#[tokio::test]
async fn unknown_provider_is_a_404_page() {
    let server = DemoServer::start().await;
    let response = browser()
        .get(server.url("/login/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("no identity provider by that name")
    );
}

#[tokio::test]
async fn sign_out_needs_the_csrf_token_and_ends_the_session() {
    let server = DemoServer::start().await;
    let client = signed_in_as(&server, "demo-alice").await;
    let html = page(&client, &server.url("/")).await;
    let csrf = hidden_input(&html, "csrf").expect("sign-out form carries a CSRF token");

    let forged = client
        .post(server.url("/logout"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let missing = client
        .post(server.url("/logout"))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    assert_eq!(
        client.get(server.url("/")).send().await.unwrap().status(),
        200,
        "still signed in"
    );

    let out = client
        .post(server.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&out), "/login");
    assert_eq!(
        location(&client.get(server.url("/")).send().await.unwrap()),
        "/login"
    );
}

#[tokio::test]
async fn authorization_code_works_once_at_the_demo_token_endpoint() {
    let server = DemoServer::start().await;
    let client = browser();
    let callback = callback_for(&server, &client, "/login/demo", "demo-alice").await;
    let code = query_value(&callback, "code").unwrap();
    // The broker redeems it; an attacker who saw the code cannot (no secret, no verifier).
    assert_eq!(location(&client.get(&callback).send().await.unwrap()), "/");
    let stolen = browser()
        .post(server.url("/demo-idp/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 401);
    let body: serde_json::Value = stolen.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn demo_provider_refuses_unregistered_redirect_uri() {
    let server = DemoServer::start().await;
    let url = format!(
        "{}?response_type=code&client_id=rolegate-demo&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&scope=openid&state=s&code_challenge=abc&code_challenge_method=S256",
        server.url("/demo-idp/authorize")
    );
    let response = browser().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(!response.headers().contains_key("location"));
}

#[tokio::test]
async fn demo_provider_requires_pkce() {
    let server = DemoServer::start().await;
    let response = demo_authorize(&server, &[]).await;
    assert_eq!(response.status(), 400);
}

/// A request to the demo provider's authorization endpoint for rolegate's client, with
/// `extra` parameters.
async fn demo_authorize(server: &DemoServer, extra: &[(&str, &str)]) -> reqwest::Response {
    let redirect = server.url("/auth/oidc/demo/callback");
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", "rolegate-demo"),
        ("redirect_uri", redirect.as_str()),
        ("scope", "openid"),
        ("state", "s"),
    ];
    query.extend_from_slice(extra);
    browser()
        .get(server.url("/demo-idp/authorize"))
        .query(&query)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn demo_discovery_and_jwks_describe_the_provider() {
    let server = DemoServer::start().await;
    let client = browser();
    let discovery: serde_json::Value = client
        .get(server.url("/demo-idp/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], server.url("/demo-idp"));
    assert_eq!(discovery["token_endpoint"], server.url("/demo-idp/token"));
    let jwks: serde_json::Value = client
        .get(server.url("/demo-idp/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private key material"
    );
}

/// Finding #10.5: each cookieless `/login/{idp}` made a browser session living 8 h; 20,000
/// starts added 40 MB that never came back. Pre-sign-in state now lives as long as the
/// sign-in may take (10 minutes), a browser keeps at most 5 pending sign-ins, and the
/// store returns to its baseline once they expire.
#[tokio::test]
async fn unauthenticated_sign_in_starts_expire_with_the_pending_sign_in() {
    use std::sync::Arc;
    use std::time::Duration;

    use rolegate::clock::ManualClock;

    let clock = Arc::new(ManualClock::starting_now());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bound = listener.local_addr().unwrap();
    let state = rolegate::server::demo_state(
        bound,
        rolegate::config::PublicUrl::parse(&format!("http://{bound}")).unwrap(),
        clock.clone(),
    )
    .unwrap();
    tokio::spawn(axum::serve(listener, rolegate::web::app(state.clone())).into_future());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = format!("http://{bound}/login/demo");
    let start = |cookie: Option<String>| {
        let mut request = client.get(&url);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let entries = || async { state.stores.health.entry_count().await.unwrap() };
    let baseline = entries().await;
    const FLOOD: u64 = 2_000;
    for _ in 0..FLOOD {
        let response = start(None).await.unwrap();
        assert_eq!(response.status(), 303);
        let cookie = session_cookie(&response);
        let cookie = cookie.as_str();
        // Finding #10.10: a browser-session cookie, gone when the browser closes.
        assert!(cookie.starts_with("rolegate_session="), "{cookie}");
        assert!(!cookie.to_ascii_lowercase().contains("max-age"), "{cookie}");
        assert!(!cookie.to_ascii_lowercase().contains("expires"), "{cookie}");
    }
    // One browser session and one pending `state` per start, nothing else.
    assert_eq!(entries().await, baseline + 2 * FLOOD);
    // One browser starting again and again keeps at most five pending sign-ins.
    let first = start(None).await.unwrap();
    let cookie = session_cookie(&first).split(';').next().unwrap().to_owned();
    for _ in 0..50 {
        let again = start(Some(cookie.clone())).await.unwrap();
        assert_eq!(again.status(), 303);
    }
    assert_eq!(entries().await, baseline + 2 * FLOOD + 1 + 5);
    clock.advance(Duration::from_secs(601));
    assert_eq!(
        entries().await,
        baseline,
        "everything expired with the sign-ins"
    );
}

/// Finding #10.10: an empty `code_challenge` was accepted as PKCE; RFC 7636 wants 43 to 128
/// unreserved characters.
#[tokio::test]
async fn demo_provider_refuses_an_empty_or_short_code_challenge() {
    let server = DemoServer::start().await;
    for challenge in ["", "abc", &"a".repeat(129), &format!("{}!", "a".repeat(43))] {
        let pkce = [
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ];
        let response = demo_authorize(&server, &pkce).await;
        assert_eq!(response.status(), 400, "`{challenge}`");
    }
}

/// Finding #10.10: a malformed token request got an HTML page; OAuth clients get RFC 6749's
/// JSON error.
#[tokio::test]
async fn demo_token_endpoint_answers_malformed_requests_as_oauth_json() {
    let server = DemoServer::start().await;
    let response = browser()
        .post(server.url("/demo-idp/token"))
        .form(&[("code", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

/// The sign-in page remembers the provider this browser chose last (a cookie naming the
/// provider, not the person), lists it first and marks it; a cookie naming no configured
/// provider changes nothing and is never echoed.
#[tokio::test]
async fn the_sign_in_page_remembers_the_last_provider_chosen() {
    let server = DemoServer::start().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let fresh = page(&client, &server.url("/login")).await;
    assert!(
        fresh.contains("OpenID Connect") && !fresh.contains("last used"),
        "{fresh}"
    );
    let started = client.get(server.url("/login/demo")).send().await.unwrap();
    let cookie = started
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("rolegate_last_idp="))
        .expect("the choice is remembered")
        .to_owned();
    assert!(
        cookie.starts_with("rolegate_last_idp=demo;")
            && cookie.contains("HttpOnly")
            && cookie.contains("Path=/login"),
        "{cookie}"
    );
    let login_with = |cookie: &'static str| {
        let request = client.get(server.url("/login")).header("cookie", cookie);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let remembered = login_with("rolegate_last_idp=demo").await;
    assert!(
        remembered.contains("OpenID Connect · last used"),
        "{remembered}"
    );
    let tampered = login_with("rolegate_last_idp=<script>alert(1)</script>").await;
    assert!(
        !tampered.contains("last used") && !tampered.contains("alert(1)"),
        "{tampered}"
    );
}

/// The browser-session `Set-Cookie` of `response` (beside the last-provider cookie).
fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("rolegate_session="))
        .expect("a browser-session cookie")
        .to_owned()
}
