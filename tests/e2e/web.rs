//! The HTTP edge: health, errors with request ids, headers, malformed input.

use crate::support::{DemoServer, browser, page};

#[tokio::test]
async fn health_and_readiness_answer() {
    let server = DemoServer::start().await;
    let client = browser();
    assert_eq!(page(&client, &server.url("/healthz")).await, "ok\n");
    assert_eq!(page(&client, &server.url("/readyz")).await, "ready\n");
}

#[tokio::test]
async fn unknown_path_gets_an_error_page_with_the_request_id() {
    let server = DemoServer::start().await;
    let response = browser()
        .get(server.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
    let html = response.text().await.unwrap();
    assert!(html.contains(&request_id), "{html}");
    assert!(
        html.contains("href=\"/login\""),
        "a link to start over: {html}"
    );
}

#[tokio::test]
async fn malformed_form_gets_our_page_not_the_parser_text() {
    let server = DemoServer::start().await;
    let response = browser()
        .post(server.url("/logout"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("csrf=<script>&csrf=again")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let html = response.text().await.unwrap();
    assert!(html.contains("The request was malformed."), "{html}");
    assert!(
        !html.contains("<script>") && !html.contains("deserialize"),
        "{html}"
    );
}

#[tokio::test]
async fn wrong_method_gets_our_page() {
    let server = DemoServer::start().await;
    let response = browser().delete(server.url("/login")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert!(response.headers().contains_key("allow"));
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("does not accept that kind of request")
    );
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let server = DemoServer::start().await;
    let response = browser().get(server.url("/login")).send().await.unwrap();
    let headers = response.headers();
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
}

#[tokio::test]
async fn stylesheet_is_served_locally() {
    let server = DemoServer::start().await;
    let response = browser()
        .get(server.url("/static/rolegate.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/css; charset=utf-8"
    );
    let missing = browser()
        .get(server.url("/static/../Cargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn api_errors_are_json() {
    let server = DemoServer::start().await;
    let response = browser()
        .get(server.url("/api/v1/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], 404);
    assert!(body["error"]["request_id"].as_str().unwrap().len() == 36);
}

#[tokio::test]
async fn readiness_follows_the_redis_store() {
    use rolegate::config::Config;
    use rolegate::server::Server;

    let redis = crate::support::redis::RedisServer::start();
    let dir = crate::support::config_folder(&format!(
        "listen = \"127.0.0.1:0\"\nstore = \"{}\"\n",
        redis.url
    ));
    // A shared store needs the session signing key every instance shares.
    let key = crate::support::session_key_pem();
    let env = |name: &str| (name == "ROLEGATE_KEYS_SESSION_SIGNING_KEY").then(|| key.clone());
    let config = Config::load(&dir.path().join("rolegate.toml"), &env).unwrap();
    let server = Server::start(config).await.unwrap();
    let base = format!("http://{}", server.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));
    let client = browser();
    assert_eq!(
        client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    drop(redis);
    let response = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("cannot reach its session store")
    );
    assert_eq!(
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Finding #10.7: a page that needs the browser session is a 503 with a clear page and
    // Retry-After while the store is down, never a 500.
    let portal = client
        .get(format!("{base}/"))
        .header("cookie", "rolegate_session=J8pX1v0k3m9Qw2e5r7t1yA")
        .send()
        .await
        .unwrap();
    assert_eq!(portal.status(), 503);
    assert!(portal.headers().contains_key("retry-after"));
    let html = portal.text().await.unwrap();
    assert!(html.contains("cannot reach its session store"), "{html}");
    let _ = stop.send(());
}

#[tokio::test]
async fn serve_fails_to_start_when_redis_is_unreachable() {
    use rolegate::config::Config;
    use rolegate::server::Server;

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = crate::support::config_folder(&format!(
        "listen = \"127.0.0.1:0\"\nstore = \"redis://:pw@127.0.0.1:{port}/0\"\n"
    ));
    let config = Config::load(&dir.path().join("rolegate.toml"), &|_| None).unwrap();
    let error = format!(
        "{:#}",
        Server::start(config)
            .await
            .err()
            .expect("no Redis, no start")
    );
    assert!(error.contains("opening the store"), "{error}");
    assert!(!error.contains(":pw@"), "password hidden: {error}");
}

/// Finding #10.10: an incoming `x-request-id` was echoed whatever it held; it is kept only
/// when short and of a safe alphabet, otherwise replaced by a fresh one.
#[tokio::test]
async fn only_safe_incoming_request_ids_are_kept() {
    let server = DemoServer::start().await;
    let client = browser();
    let echoed = |id: &'static str| {
        let request = client
            .get(server.url("/healthz"))
            .header("x-request-id", id);
        async move {
            let response = request.send().await.unwrap();
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(echoed("lb-7f3a.91_x").await, "lb-7f3a.91_x");
    for unsafe_id in ["<script>alert(1)</script>", "a b", "x\"y"] {
        let replaced = echoed(unsafe_id).await;
        assert_eq!(replaced.len(), 36, "{unsafe_id} → {replaced}");
    }
    let long: &'static str = Box::leak("a".repeat(65).into_boxed_str());
    assert_eq!(echoed(long).await.len(), 36);
}

/// Finding #10.10: HSTS is sent when browsers reach rolegate over https, and only then.
#[tokio::test]
async fn hsts_is_sent_only_when_the_public_url_is_https() {
    use rolegate::config::PublicUrl;
    use rolegate::server::Server;

    let plain = DemoServer::start().await;
    let response = browser().get(plain.url("/healthz")).send().await.unwrap();
    assert!(!response.headers().contains_key("strict-transport-security"));
    let tls = Server::start_demo(
        "127.0.0.1:0".parse().unwrap(),
        Some(PublicUrl::parse("https://sso.example.com").unwrap()),
    )
    .await
    .unwrap();
    let address = tls.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tls.run_until(async move {
        let _ = stopped.await;
    }));
    let response = browser()
        .get(format!("http://{address}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let _ = stop.send(());
}
