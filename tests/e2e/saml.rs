//! Signing in through the demo identity provider's SAML face with the broker's real SAML
//! service provider, the "Select a role" page it leads to, and the attacks on the flow.

use crate::support::{
    DemoServer, browser, hidden_input, location, page, query_value, unescape_html,
};

/// The SAMLResponse the demo provider posts for `subject`, answering the sign-in `client`
/// started at `/login/demo-saml`.
async fn saml_response_for(server: &DemoServer, client: &reqwest::Client, subject: &str) -> String {
    let started = client
        .get(server.url("/login/demo-saml"))
        .send()
        .await
        .unwrap();
    let sso = location(&started);
    assert!(
        sso.starts_with(&server.url("/demo-idp/saml/sso?SAMLRequest=")),
        "{sso}"
    );
    assert_eq!(
        query_value(&sso, "SigAlg").as_deref(),
        Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    );
    assert!(query_value(&sso, "Signature").is_some(), "{sso}");
    let chooser = client.get(&sso).send().await.unwrap();
    assert_eq!(chooser.status(), 200);
    let html = chooser.text().await.unwrap();
    let request_id = hidden_input(&html, "request_id").expect("the chooser names the request");
    let posted = client
        .post(server.url("/demo-idp/saml/sso"))
        .form(&[
            ("subject", subject),
            ("request_id", &request_id),
            ("relay_state", "/"),
        ])
        .send()
        .await
        .unwrap();
    let html = posted.text().await.unwrap();
    assert!(
        html.contains(&format!("action=\"{}\"", server.url("/saml/acs"))),
        "{html}"
    );
    let value = hidden_input(&html, "SAMLResponse").expect("the page posts a SAMLResponse");
    unescape_html(&value)
}

/// Posts `response` to the ACS, as the provider's page does (a cross-site post carries no
/// session cookie, so it is sent by a cookieless client).
async fn post_to_acs(server: &DemoServer, response: &str) -> reqwest::Response {
    browser()
        .post(server.url("/saml/acs"))
        .form(&[("SAMLResponse", response), ("RelayState", "/")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_sign_in_page_offers_both_protocols_and_the_sp_publishes_its_metadata() {
    let server = DemoServer::start().await;
    let login = page(&browser(), &server.url("/login")).await;
    assert!(login.contains("href=\"/login/demo-saml\""), "{login}");
    assert!(
        login.contains("SAML 2.0") && login.contains("OpenID Connect"),
        "{login}"
    );
    let metadata = browser()
        .get(server.url("/saml/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        metadata.headers()["content-type"],
        "application/samlmetadata+xml"
    );
    let xml = metadata.text().await.unwrap();
    for expected in [
        format!("entityID=\"{}\"", server.url("/saml/metadata")),
        format!("Location=\"{}\"", server.url("/saml/acs")),
        format!("Location=\"{}\"", server.url("/saml/slo")),
        "use=\"signing\"".to_owned(),
        "use=\"encryption\"".to_owned(),
        "AuthnRequestsSigned=\"true\"".to_owned(),
        "WantAssertionsSigned=\"true\"".to_owned(),
    ] {
        assert!(xml.contains(&expected), "{expected} missing from {xml}");
    }
}

#[tokio::test]
async fn a_person_with_several_asserted_roles_selects_one_and_its_console_opens() {
    let server = DemoServer::start().await;
    let client = browser();
    let response = saml_response_for(&server, &client, "demo-bob").await;
    let acs = post_to_acs(&server, &response).await;
    let continue_at = location(&acs);
    assert!(
        continue_at.starts_with("/saml/continue?ticket="),
        "{continue_at}"
    );
    let joined = client.get(server.url(&continue_at)).send().await.unwrap();
    assert_eq!(location(&joined), "/select-role?return_to=%2F");
    let html = page(&client, &server.url("/select-role")).await;
    assert!(html.contains("Select a role"), "{html}");
    assert!(
        html.contains("Account: sandbox") && html.contains("Account: staging"),
        "{html}"
    );
    assert!(
        html.contains("arn:aws:iam::234567890123:role/ReadOnly"),
        "{html}"
    );
    let csrf = hidden_input(&html, "csrf").unwrap();
    let chosen = client
        .post(server.url("/select-role"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("role_arn", "arn:aws:iam::234567890123:role/ReadOnly"),
            ("remember", "1"),
        ])
        .send()
        .await
        .unwrap();
    let console = location(&chosen);
    assert!(console.starts_with("/console/ASIA"), "{console}");
    let home = page(&client, &server.url(&console)).await;
    assert!(home.contains("ReadOnly @ staging"), "{home}");
    // The choice is remembered: the page now opens it at once (portal.js submits the form).
    let again = page(&client, &server.url("/select-role")).await;
    assert!(again.contains("id=\"autostart\""), "{again}");
    assert!(
        again.contains("value=\"arn:aws:iam::234567890123:role/ReadOnly\" checked"),
        "{again}"
    );
    let stay = page(&client, &server.url("/select-role?stay=1")).await;
    assert!(!stay.contains("id=\"autostart\""), "{stay}");
}

#[tokio::test]
async fn a_saml_person_is_offered_what_the_rules_and_trust_policies_allow() {
    let server = DemoServer::start().await;
    let client = browser();
    let response = saml_response_for(&server, &client, "demo-carol").await;
    let continue_at = location(&post_to_acs(&server, &response).await);
    let joined = client.get(server.url(&continue_at)).send().await.unwrap();
    // Carol's provider asserts no roles: straight to the portal.
    assert_eq!(location(&joined), "/");
    let portal = page(&client, &server.url("/")).await;
    assert!(portal.contains("Carol Contractor"), "{portal}");
    assert!(portal.contains("ReadOnly"), "{portal}");
}

#[tokio::test]
async fn a_replayed_response_is_refused() {
    let server = DemoServer::start().await;
    let client = browser();
    let response = saml_response_for(&server, &client, "demo-carol").await;
    let first = post_to_acs(&server, &response).await;
    assert!(
        first.status().is_redirection(),
        "{}",
        first.text().await.unwrap()
    );
    let replay = post_to_acs(&server, &response).await;
    assert_eq!(replay.status(), 400);
    let html = replay.text().await.unwrap();
    assert!(
        html.contains("answers no request") || html.contains("already used"),
        "{html}"
    );
}

#[tokio::test]
async fn a_tampered_response_is_refused_with_the_check_that_failed() {
    let server = DemoServer::start().await;
    let client = browser();
    let response = saml_response_for(&server, &client, "demo-carol").await;
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let xml = String::from_utf8(engine.decode(&response).unwrap()).unwrap();
    let tampered = xml.replace("carol@contractors.example.net", "alice@example.com");
    assert_ne!(xml, tampered);
    let refused = post_to_acs(&server, &engine.encode(tampered)).await;
    assert_eq!(refused.status(), 400);
    let html = refused.text().await.unwrap();
    assert!(html.contains("signature does not verify"), "{html}");
}

#[tokio::test]
async fn a_ticket_does_not_sign_in_a_browser_that_did_not_ask() {
    // Login CSRF: the attacker signs in as themself and hands the victim the next step.
    let server = DemoServer::start().await;
    let attacker = browser();
    let response = saml_response_for(&server, &attacker, "demo-carol").await;
    let continue_at = location(&post_to_acs(&server, &response).await);
    let victim = browser();
    let refused = victim.get(server.url(&continue_at)).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(
        location(&victim.get(server.url("/")).send().await.unwrap()),
        "/login"
    );
    // The ticket was spent, so the attacker cannot use it either.
    let spent = attacker.get(server.url(&continue_at)).send().await.unwrap();
    assert_eq!(spent.status(), 400);
}

#[tokio::test]
async fn an_oversized_or_malformed_response_is_refused_cleanly() {
    let server = DemoServer::start().await;
    let huge = "A".repeat(600 * 1024);
    let too_big = post_to_acs(&server, &huge).await;
    assert_eq!(too_big.status(), 413);
    let not_base64 = post_to_acs(&server, "%%%not base64%%%").await;
    assert_eq!(not_base64.status(), 400);
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let dtd = engine.encode(
        "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">&x;</samlp:Response>",
    );
    let refused = post_to_acs(&server, &dtd).await;
    assert_eq!(refused.status(), 400);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("DOCTYPE") && !html.contains("root:"),
        "{html}"
    );
}
