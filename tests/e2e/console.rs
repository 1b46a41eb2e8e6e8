//! The console through the demo: the portal's "Sign in" and "Access keys" start role
//! sessions through the one assume path; the console home shows the session, its policies
//! and a simulator over exactly its policies; the access keys page is never cached; signing
//! out of a role session revokes it. Every form refuses a missing CSRF token, and every bad
//! address gets a clear page with the right status.

use crate::support::{DemoServer, hidden_input, location, page, signed_in_as};

const SANDBOX_DEVELOPER: &str = "arn:aws:iam::123456789012:role/Developer";
const PRODUCTION_READONLY: &str = "arn:aws:iam::345678901234:role/ReadOnly";

/// Signs in to `role_arn` from the portal; the console address it lands on.
async fn sign_in_to_role(
    server: &DemoServer,
    browser: &reqwest::Client,
    role_arn: &str,
    then: &str,
) -> reqwest::Response {
    let portal = page(browser, &server.url("/")).await;
    let csrf = hidden_input(&portal, "csrf").unwrap();
    browser
        .post(server.url("/assume"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("role_arn", role_arn),
            ("then", then),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn signing_in_to_a_role_opens_its_console_home() {
    let server = DemoServer::start().await;
    let bob = signed_in_as(&server, "demo-bob").await;
    let portal = page(&bob, &server.url("/")).await;
    assert!(
        portal.contains(&format!("name=\"role_arn\" value=\"{SANDBOX_DEVELOPER}\"")),
        "the portal offers a sign-in button per role: {portal}"
    );

    let forged = bob
        .post(server.url("/assume"))
        .form(&[("csrf", "forged"), ("role_arn", SANDBOX_DEVELOPER)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "no CSRF token, no session");

    let started = sign_in_to_role(&server, &bob, SANDBOX_DEVELOPER, "console").await;
    let console = location(&started);
    let id = console.strip_prefix("/console/").unwrap().to_owned();
    assert!(id.starts_with("ASIA") && id.len() == 20, "{console}");
    let home = bob.get(server.url(&console)).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    for expected in [
        "Developer <span class=\"at\">@ sandbox</span>",
        "session <code>bob@example.com</code>",
        "arn:aws:sts::123456789012:assumed-role/Developer/bob@example.com",
        "arn:aws:iam::aws:policy/PowerUserAccess",
        "data-expires=",
        "<script src=\"/static/console.js\" defer></script>",
        // What can I do: PowerUserAccess by service, each line probed through the engine.
        "<td><code>Every service</code></td><td><strong>full access</strong></td><td><code>all but account:*, all but iam:*, all but organizations:*</code></td>",
        "<td><code>iam</code></td><td>partial</td>",
        "<td><code>account</code></td><td>read</td>",
        "<td><code>organizations</code></td><td>read</td>",
    ] {
        assert!(html.contains(expected), "{expected} missing: {html}");
    }
    assert!(
        !html.contains("SecretAccessKey") && !html.contains("eyJ"),
        "no secret or token on the console home"
    );
    // A one-hour session, as the mapping offers it.
    assert!(html.contains(">in 60 min</time>"), "{html}");

    // `/console` goes to the newest open session.
    let latest = bob.get(server.url("/console")).send().await.unwrap();
    assert_eq!(location(&latest), console);
}

#[tokio::test]
async fn the_simulator_decides_with_the_sessions_policies() {
    let server = DemoServer::start().await;
    let bob = signed_in_as(&server, "demo-bob").await;
    let console = location(&sign_in_to_role(&server, &bob, SANDBOX_DEVELOPER, "console").await);
    let home = page(&bob, &server.url(&console)).await;
    let csrf = hidden_input(&home, "csrf").unwrap();
    let simulate = |action: &'static str, context: &'static str| {
        let bob = bob.clone();
        let url = server.url(&format!("{console}/simulate"));
        let csrf = csrf.clone();
        async move {
            let response = bob
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("action", action),
                    ("resource", "*"),
                    ("context", context),
                ])
                .send()
                .await
                .unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, html) = simulate("s3:GetObject", "").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<strong>allowed</strong> by arn:aws:iam::aws:policy/PowerUserAccess"),
        "{html}"
    );
    let (_, html) = simulate("iam:CreateUser", "").await;
    assert!(
        html.contains("<strong>implicitDeny</strong>"),
        "PowerUserAccess has no IAM: {html}"
    );
    let (status, html) = simulate("s3:GetObject", "{not json").await;
    assert_eq!(
        status, 200,
        "a bad context is the form's problem, shown on the page"
    );
    assert!(html.contains("the context is not a JSON object"), "{html}");
    let refused = bob
        .post(server.url(&format!("{console}/simulate")))
        .form(&[("action", "s3:GetObject")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        403,
        "the simulator form needs the CSRF token too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_keys_are_shown_once_per_request_and_never_cached() {
    let server = DemoServer::start().await;
    let bob = signed_in_as(&server, "demo-bob").await;
    let started = sign_in_to_role(&server, &bob, SANDBOX_DEVELOPER, "credentials").await;
    let address = location(&started);
    assert!(address.starts_with("/credentials/ASIA"), "{address}");
    let response = bob.get(server.url(&address)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let id = address.strip_prefix("/credentials/").unwrap();
    for expected in [
        format!("export AWS_ACCESS_KEY_ID=&#34;{id}&#34;"),
        "export AWS_SECRET_ACCESS_KEY=".to_owned(),
        "export AWS_SESSION_TOKEN=&#34;eyJ".to_owned(),
        format!("AWS_ENDPOINT_URL_STS=&#34;{}", server.url("/sts")),
        "set -x AWS_ACCESS_KEY_ID".to_owned(),
        "$Env:AWS_ACCESS_KEY_ID".to_owned(),
        format!("set AWS_ACCESS_KEY_ID={id}"),
        "aws_session_token = eyJ".to_owned(),
        "credential_process = rolegate credentials".to_owned(),
    ] {
        assert!(html.contains(&expected), "{expected} missing: {html}");
    }
    // The secret is the one the STS derives: GetCallerIdentity with it would verify; here,
    // it is 40 characters and the same on every view.
    let secret = |html: &str| {
        let start = html.find("AWS_SECRET_ACCESS_KEY=&#34;").unwrap() + 27;
        html[start..start + 40].to_owned()
    };
    let again = page(&bob, &server.url(&address)).await;
    assert_eq!(secret(&html), secret(&again));
    // And they work: botocore signs GetCallerIdentity with them.
    let token_start = html.find("AWS_SESSION_TOKEN=&#34;").unwrap() + 23;
    let token = &html[token_start..token_start + html[token_start..].find("&#34;").unwrap()];
    let whoami = crate::support::aws::boto3(&serde_json::json!({
        "op": "whoami", "endpoint": server.url("/sts"),
        "credentials": {"AccessKeyId": id, "SecretAccessKey": secret(&html), "SessionToken": token},
    }));
    assert_eq!(
        whoami["Arn"], "arn:aws:sts::123456789012:assumed-role/Developer/bob@example.com",
        "{whoami}"
    );
}

#[tokio::test]
async fn bad_console_addresses_and_refused_roles_get_clear_pages() {
    let server = DemoServer::start().await;
    let bob = signed_in_as(&server, "demo-bob").await;
    let carol = signed_in_as(&server, "demo-carol").await;

    // A forged or another browser's session id.
    let bobs = location(&sign_in_to_role(&server, &bob, SANDBOX_DEVELOPER, "console").await);
    for (who, address) in [
        (&bob, "/console/ASIAAAAAAAAAAAAAAAAA".to_owned()),
        (&carol, bobs.clone()),
    ] {
        let response = who.get(server.url(&address)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{address}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("not open in this browser") && html.contains("request id"),
            "{html}"
        );
        assert!(
            html.contains("href=\"/\""),
            "a way back to the portal: {html}"
        );
    }
    let keys = bob
        .get(server.url("/credentials/ASIAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    assert_eq!(keys.status(), 404);

    // A role the mapping does not offer (Carol has no MFA: production is denied to her).
    let refused = sign_in_to_role(&server, &carol, PRODUCTION_READONLY, "console").await;
    assert_eq!(refused.status(), 403);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("is not among the roles the mapping rules offer you"),
        "{html}"
    );
    // An unknown role.
    let unknown = sign_in_to_role(
        &server,
        &bob,
        "arn:aws:iam::123456789012:role/Nope",
        "console",
    )
    .await;
    assert_eq!(unknown.status(), 403);
}

#[tokio::test]
async fn signing_out_of_a_role_session_revokes_it() {
    let server = DemoServer::start().await;
    let bob = signed_in_as(&server, "demo-bob").await;
    let console = location(&sign_in_to_role(&server, &bob, SANDBOX_DEVELOPER, "console").await);
    let id = console.strip_prefix("/console/").unwrap().to_owned();
    let keys = page(&bob, &server.url(&format!("/credentials/{id}"))).await;
    let token_start = keys.find("AWS_SESSION_TOKEN=&#34;").unwrap() + 23;
    let token = &keys[token_start..token_start + keys[token_start..].find("&#34;").unwrap()];
    let authorize = |token: String| {
        let url = server.url("/api/v1/authorize");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({"session_token": token, "action": "s3:GetObject", "resource": "*"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(authorize(token.to_owned()).await, 200);

    let home = page(&bob, &server.url(&console)).await;
    let csrf = hidden_input(&home, "csrf").unwrap();
    let forged = bob
        .post(server.url(&format!("{console}/sign-out")))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(
        authorize(token.to_owned()).await,
        200,
        "a forged sign-out revokes nothing"
    );

    let signed_out = bob
        .post(server.url(&format!("{console}/sign-out")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&signed_out), "/");
    assert_eq!(
        authorize(token.to_owned()).await,
        401,
        "the session is revoked everywhere"
    );
    let gone = bob.get(server.url(&console)).send().await.unwrap();
    assert_eq!(gone.status(), 404, "and closed in this browser");
    let portal = bob.get(server.url("/")).send().await.unwrap();
    assert_eq!(
        portal.status(),
        200,
        "the person stays signed in to the portal"
    );
}

#[tokio::test]
async fn switch_role_chains_into_another_account_and_goes_back() {
    let server = DemoServer::start().await;
    let bob = signed_in_as(&server, "demo-bob").await;
    let sandbox = location(&sign_in_to_role(&server, &bob, SANDBOX_DEVELOPER, "console").await);
    let from = sandbox.strip_prefix("/console/").unwrap().to_owned();
    let form = page(&bob, &server.url(&format!("/switch-role?from={from}"))).await;
    assert!(form.contains("name=\"account\""), "{form}");
    let csrf = hidden_input(&form, "csrf").unwrap();
    let switch = |fields: Vec<(&'static str, String)>| {
        let bob = bob.clone();
        let url = server.url("/switch-role");
        async move { bob.post(url).form(&fields).send().await.unwrap() }
    };
    let target = |account: &str, role: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("from", from.clone()),
            ("account", account.to_owned()),
            ("role", role.to_owned()),
            ("display_name", "stg-deploy".to_owned()),
            ("colour", "green".to_owned()),
        ]
    };

    let mut forged = target("staging", "Deployer");
    forged[0].1 = "forged".into();
    assert_eq!(switch(forged).await.status(), 403);
    let bad_account = switch(target("nowhere", "Deployer")).await;
    assert_eq!(bad_account.status(), 400);
    let html = bad_account.text().await.unwrap();
    assert!(
        html.contains("there is no account `nowhere`") && html.contains("nothing was changed"),
        "{html}"
    );
    let bad_role = switch(target("staging", "Nope")).await;
    assert_eq!(bad_role.status(), 400);
    let refused = switch(target("staging", "ReadOnly")).await;
    assert_eq!(refused.status(), 403);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("no statement of the trust policy of `arn:aws:iam::234567890123:role/ReadOnly` allows sts:AssumeRole for arn:aws:sts::123456789012:assumed-role/Developer/bob@example.com"),
        "the refusal names what refused: {html}"
    );

    let switched = switch(target("234567890123", "Deployer")).await;
    let staging = location(&switched);
    assert!(
        staging.starts_with("/console/ASIA") && staging != sandbox,
        "{staging}"
    );
    let home = page(&bob, &server.url(&staging)).await;
    for expected in [
        "Deployer <span class=\"at\">@ staging</span>",
        "arn:aws:sts::234567890123:assumed-role/Deployer/bob@example.com",
        ">in 60 min</time>",
        &format!("<a href=\"/console/{from}\">Back to Developer @ sandbox</a>"),
        ">stg-deploy</a>",
        // The developer boundary denies IAM: PowerUserAccess's IAM actions are not granted.
        "<td><code>iam</code></td><td>no access</td>",
    ] {
        assert!(home.contains(expected), "{expected} missing: {home}");
    }
    let back = bob.get(server.url(&sandbox)).send().await.unwrap();
    assert_eq!(back.status(), 200, "the role switched from stays open");
    // The history prefills the form, for every browser of the person.
    let other_browser = signed_in_as(&server, "demo-bob").await;
    let other =
        location(&sign_in_to_role(&server, &other_browser, SANDBOX_DEVELOPER, "console").await);
    let other_home = page(&other_browser, &server.url(&other)).await;
    assert!(other_home.contains(">stg-deploy</a>"), "{other_home}");
}

#[tokio::test]
async fn a_revoked_role_session_shows_that_it_has_ended() {
    let server = DemoServer::start().await;
    let bob = signed_in_as(&server, "demo-bob").await;
    let console = location(&sign_in_to_role(&server, &bob, SANDBOX_DEVELOPER, "console").await);
    let id = console.strip_prefix("/console/").unwrap().to_owned();
    assert_eq!(
        bob.get(server.url(&console)).send().await.unwrap().status(),
        200
    );

    // An administrator revokes every session of Bob's.
    let alice = signed_in_as(&server, "demo-alice").await;
    let admin = page(
        &alice,
        &server.url("/admin/sessions?idp=demo&subject=demo-bob"),
    )
    .await;
    assert!(admin.contains(&id), "{admin}");
    let csrf = hidden_input(&admin, "csrf").unwrap();
    let revoked = alice
        .post(server.url("/admin/sessions/revoke"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("revoke", "person"),
            ("idp", "demo"),
            ("subject", "demo-bob"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);

    for address in [console.clone(), format!("/credentials/{id}")] {
        let gone = bob.get(server.url(&address)).send().await.unwrap();
        assert_eq!(gone.status(), 410, "{address}");
        let html = gone.text().await.unwrap();
        assert!(
            html.contains("This role session has ended") && html.contains("href=\"/\""),
            "{html}"
        );
        assert!(
            !html.contains("AWS_SECRET_ACCESS_KEY"),
            "no credentials of an ended session"
        );
    }
    // Bob is still signed in to the portal and may start a new session.
    let again = sign_in_to_role(&server, &bob, SANDBOX_DEVELOPER, "console").await;
    assert!(location(&again).starts_with("/console/ASIA"));
}
