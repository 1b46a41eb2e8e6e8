//! The admin pages: who may see them, the rule list, and the playground.

use crate::support::{DemoServer, browser, hidden_input, location, page, signed_in_as};

#[tokio::test]
async fn only_admins_see_the_mappings_page() {
    let server = DemoServer::start().await;
    let anonymous = browser()
        .get(server.url("/admin/mappings"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&anonymous), "/login?return_to=%2Fadmin%2Fmappings");
    let bob = signed_in_as(&server, "demo-bob").await;
    let refused = bob.get(server.url("/admin/mappings")).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("for rolegate administrators")
    );
    let alice = signed_in_as(&server, "demo-alice").await;
    let page = alice
        .get(server.url("/admin/mappings"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for rule in [
        "aws-group-convention",
        "production-needs-mfa",
        "contractors-never-production",
    ] {
        assert!(
            html.contains(&format!("<code>{rule}</code>")),
            "{rule} missing"
        );
    }
    assert!(html.contains("Generation 1, loaded"), "{html}");
    assert!(
        html.contains("mappings/rules/10-conventions.yaml:3"),
        "rule origins are shown: {html}"
    );
}

#[tokio::test]
async fn playground_explains_pasted_claims() {
    let server = DemoServer::start().await;
    let alice = signed_in_as(&server, "demo-alice").await;
    let html = page(&alice, &server.url("/admin/mappings")).await;
    let csrf = hidden_input(&html, "csrf").unwrap();
    let claims = r#"{"sub": "u1", "email": "u1@example.com", "email_verified": true, "aud": "rolegate-demo", "amr": ["pwd", "mfa"], "groups": ["AWS_staging_Developer"]}"#;
    let response = alice
        .post(server.url("/admin/mappings/test"))
        .form(&[("csrf", csrf.as_str()), ("idp", "demo"), ("claims", claims)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<strong>staging / Developer</strong>"),
        "{html}"
    );
    assert!(html.contains("granted by alias-group-convention"), "{html}");
    assert!(
        html.contains("<code>admins-sandbox</code></td><td>not matched</td>"),
        "{html}"
    );
}

#[tokio::test]
async fn playground_uses_a_recent_sign_in() {
    let server = DemoServer::start().await;
    let _bob = signed_in_as(&server, "demo-bob").await;
    let alice = signed_in_as(&server, "demo-alice").await;
    let html = page(&alice, &server.url("/admin/mappings")).await;
    assert!(html.contains("Bob Builder via demo (demo-bob)"), "{html}");
    let csrf = hidden_input(&html, "csrf").unwrap();
    // Newest first: Alice is 0, Bob is 1.
    let response = alice
        .post(server.url("/admin/mappings/test"))
        .form(&[("csrf", csrf.as_str()), ("recent", "1"), ("idp", "demo")])
        .send()
        .await
        .unwrap();
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<strong>staging / Developer</strong>"),
        "{html}"
    );
    assert!(
        html.contains("demo-bob"),
        "the claims used are shown: {html}"
    );
}

#[tokio::test]
async fn playground_reports_bad_claims_and_needs_the_csrf_token() {
    let server = DemoServer::start().await;
    let alice = signed_in_as(&server, "demo-alice").await;
    let html = page(&alice, &server.url("/admin/mappings")).await;
    let csrf = hidden_input(&html, "csrf").unwrap();
    for (claims, problem) in [
        ("{not json", "the claims are not JSON (line 1, column 2)"),
        ("[1, 2]", "the claims must be a JSON object"),
        (
            r#"{"email": "x@example.com"}"#,
            "the claims need a string `sub`",
        ),
    ] {
        let response = alice
            .post(server.url("/admin/mappings/test"))
            .form(&[("csrf", csrf.as_str()), ("idp", "demo"), ("claims", claims)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.text().await.unwrap().contains(problem),
            "{problem}"
        );
    }
    let forged = alice
        .post(server.url("/admin/mappings/test"))
        .form(&[("csrf", "forged"), ("idp", "demo"), ("claims", "{}")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}

/// Finding #10.2: with two providers, a partner provider's user in a group named like the
/// admin group, or whose `sub` is an admin's, was an admin. Admin entries now name their
/// provider, and only that provider's people match them.
#[tokio::test]
async fn admin_entries_match_only_people_of_the_provider_they_name() {
    use crate::support::oidc_provider::{CLIENT_ID, TestProvider, patched};
    use serde_json::json;

    let corp = TestProvider::start().await;
    let partner = TestProvider::start().await;
    let extra = format!(
        "\n[[idp]]\nname = \"partner\"\nkind = \"oidc\"\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret_env = \"ROLEGATE_IDP_TEST_CLIENT_SECRET\"\n\n\
         [admin]\ngroups = [\"test:rolegate-admins\"]\nsubjects = [\"test:alice\"]\n",
        partner.issuer
    );
    let server = crate::support::ConfiguredServer::with_oidc(&corp.issuer, &extra).await;
    let sign_in = |idp: &'static str| {
        let server = &server;
        async move {
            let client = browser();
            let started = client
                .get(server.url(&format!("/login/{idp}")))
                .send()
                .await
                .unwrap();
            let approved = client.get(location(&started)).send().await.unwrap();
            let done = client.get(location(&approved)).send().await.unwrap();
            assert_eq!(location(&done), "/", "{idp}");
            client
                .get(server.url("/admin/mappings"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    partner.mint_with(patched(
        |_| json!({"sub": "alice", "groups": ["rolegate-admins"]}),
    ));
    assert_eq!(sign_in("partner").await, 403, "a partner user is no admin");
    corp.mint_with(patched(|_| json!({"sub": "alice", "groups": []})));
    assert_eq!(sign_in("test").await, 200, "the corp subject is an admin");
    corp.mint_with(patched(
        |_| json!({"sub": "bob", "groups": ["rolegate-admins"]}),
    ));
    assert_eq!(
        sign_in("test").await,
        200,
        "the corp group's member is an admin"
    );
    corp.mint_with(patched(
        |_| json!({"sub": "carol", "groups": ["developers"]}),
    ));
    assert_eq!(sign_in("test").await, 403, "others are not");
}

/// Finding #10.10: a signed-out post to an admin form sent the person, once signed in, to the
/// form's address, which answered 405; it now leads back to the form's page.
#[tokio::test]
async fn a_signed_out_form_post_returns_to_its_page_after_sign_in() {
    let server = DemoServer::start().await;
    let posted = browser()
        .post(server.url("/admin/mappings/test"))
        .form(&[("csrf", "x"), ("claims", "{}")])
        .send()
        .await
        .unwrap();
    let login = location(&posted);
    assert_eq!(login, "/login?return_to=%2Fadmin%2Fmappings%2Ftest");
    let alice = signed_in_as(&server, "demo-alice").await;
    let back = alice
        .get(server.url("/admin/mappings/test"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&back), "/admin/mappings");
}
