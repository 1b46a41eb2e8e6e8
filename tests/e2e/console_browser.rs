//! The console in a real browser (Debian's headless Chromium over WebDriver): a person signs
//! in through the demo IdP, filters the portal, stars a favourite, signs in to a role, reads
//! the console home, runs the simulator, switches role into another account, goes back,
//! opens the access keys page and signs out. Every page is screenshotted at desktop and
//! phone widths under `target/e2e/` and checked with axe-core: any serious or critical
//! violation fails the test.

use crate::support::DemoServer;
use crate::support::chromium::Chromium;

/// Screenshots the page as `name` and asserts axe finds nothing serious on it.
async fn check_page(chromium: &Chromium, name: &str, violations: &mut Vec<String>) {
    chromium.screenshots(name).await;
    for violation in chromium.accessibility_violations().await {
        violations.push(format!("{name}: {violation}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_morning_in_the_console_in_a_real_browser() {
    let server = DemoServer::start().await;
    let chromium = Chromium::start().await;
    let browser = &chromium.client;
    let mut violations = Vec::new();

    browser.goto(&server.url("/login")).await.unwrap();
    check_page(&chromium, "01-sign-in", &mut violations).await;
    chromium.click("ul.choices a.button").await;
    chromium
        .wait_for_url("the demo provider", |url| url.contains("/demo-idp/"))
        .await;
    check_page(&chromium, "02-demo-idp", &mut violations).await;
    chromium
        .click("input[value=demo-bob] ~ button.person")
        .await;
    let portal = server.url("/");
    chromium
        .wait_for_url("the portal", |url| url == portal)
        .await;
    check_page(&chromium, "03-portal", &mut violations).await;

    // Filter as you type (JS) and without JS (the form).
    chromium.fill("#filter", "stag").await;
    let hidden = browser
        .execute(
            "return [...document.querySelectorAll('li.account')].filter(a => a.hidden).length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(hidden, 2, "typing hides the accounts that do not match");
    chromium.click("form.filter button[type=submit]").await;
    chromium
        .wait_for_url("the filtered portal", |url| url.ends_with("/?q=stag"))
        .await;
    check_page(&chromium, "04-portal-filtered", &mut violations).await;

    // Star staging's ReadOnly: it comes first.
    chromium
        .click("button[aria-label='Favourite role ReadOnly in staging']")
        .await;
    chromium
        .wait_for_url("the portal again", |url| url.contains("/?q=stag"))
        .await;
    let html = chromium.source().await;
    assert!(
        html.contains("aria-pressed=\"true\" aria-label=\"Favourite role ReadOnly in staging\""),
        "{html}"
    );

    // Sign in to sandbox's Developer from the unfiltered portal.
    browser.goto(&portal).await.unwrap();
    chromium
        .click("button[aria-label='Sign in to Developer in sandbox']")
        .await;
    let console = chromium
        .wait_for_url("the console home", |url| url.contains("/console/ASIA"))
        .await;
    let html = chromium.source().await;
    assert!(
        html.contains("Developer <span class=\"at\">@ sandbox</span>"),
        "{html}"
    );
    check_page(&chromium, "05-console-home", &mut violations).await;
    let countdown = browser
        .execute(
            "return document.querySelector('time[data-expires]').textContent",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        countdown.as_str().unwrap_or_default().contains(" s"),
        "the countdown ticks in seconds: {countdown}"
    );

    // The simulator.
    chromium.fill("input[name=action]", "iam:CreateUser").await;
    chromium.click("form.playground button[type=submit]").await;
    chromium
        .wait_for_url("the simulation", |url| url.contains("/simulate"))
        .await;
    let html = chromium.source().await;
    assert!(html.contains("<strong>implicitDeny</strong>"), "{html}");
    check_page(&chromium, "06-simulator", &mut violations).await;

    // Switch role into staging's Deployer, then back.
    browser.goto(&console).await.unwrap();
    chromium
        .click("nav.role-menu a[href^='/switch-role']")
        .await;
    chromium
        .wait_for_url("the switch-role form", |url| url.contains("/switch-role?"))
        .await;
    check_page(&chromium, "07-switch-role", &mut violations).await;
    chromium.fill("input[name=account]", "staging").await;
    chromium.fill("input[name=role]", "Deployer").await;
    chromium
        .fill("input[name=display_name]", "stg-deploy")
        .await;
    chromium.click("input[name=colour][value=green]").await;
    chromium.click("form.playground button[type=submit]").await;
    let switched = chromium
        .wait_for_url("the switched console", |url| {
            url.contains("/console/ASIA") && url != console
        })
        .await;
    let html = chromium.source().await;
    assert!(
        html.contains("Deployer <span class=\"at\">@ staging</span>"),
        "{html}"
    );
    check_page(&chromium, "08-switched", &mut violations).await;
    chromium.click("nav.role-menu a[href^='/console/']").await;
    chromium
        .wait_for_url("back to the first role", |url| url == console)
        .await;

    // Access keys of the switched session.
    let id = switched.rsplit('/').next().unwrap().to_owned();
    browser
        .goto(&server.url(&format!("/credentials/{id}")))
        .await
        .unwrap();
    let html = chromium.source().await;
    assert!(html.contains("AWS_SESSION_TOKEN"), "{html}");
    check_page(&chromium, "09-access-keys", &mut violations).await;

    // Sign out of the role session, then of everything.
    browser.goto(&console).await.unwrap();
    chromium
        .click("form[action$='/sign-out'] button[type=submit]")
        .await;
    chromium
        .wait_for_url("the portal", |url| url == portal)
        .await;
    chromium.click("form.signout button[type=submit]").await;
    chromium
        .wait_for_url("signed out", |url| url != portal)
        .await;
    check_page(&chromium, "10-signed-out", &mut violations).await;

    assert!(
        violations.is_empty(),
        "axe-core found serious or critical problems:\n{}",
        violations.join("\n")
    );
}

/// The admin pages in the same browser, checked the same way: an admin signs in, reads the
/// mapping rules, finds a role's sessions and revokes one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_pages_in_a_real_browser() {
    let server = DemoServer::start().await;
    let chromium = Chromium::start().await;
    let browser = &chromium.client;
    let mut violations = Vec::new();
    browser.goto(&server.url("/login/demo")).await.unwrap();
    chromium
        .click("input[value=demo-alice] ~ button.person")
        .await;
    let portal = server.url("/");
    chromium
        .wait_for_url("the portal", |url| url == portal)
        .await;
    chromium
        .click("button[aria-label='Sign in to Admin in sandbox']")
        .await;
    chromium
        .wait_for_url("the console home", |url| url.contains("/console/ASIA"))
        .await;

    browser.goto(&server.url("/admin/mappings")).await.unwrap();
    check_page(&chromium, "11-admin-mappings", &mut violations).await;
    chromium
        .click("nav.admin-nav a[href='/admin/sessions']")
        .await;
    chromium
        .wait_for_url("the sessions page", |url| url.ends_with("/admin/sessions"))
        .await;
    chromium.fill("input[name=account]", "sandbox").await;
    chromium.click("form.playground button[type=submit]").await;
    chromium
        .wait_for_url("the sandbox's sessions", |url| {
            url.contains("account=sandbox")
        })
        .await;
    let html = chromium.source().await;
    assert!(html.contains("demo/demo-alice"), "{html}");
    check_page(&chromium, "12-admin-sessions", &mut violations).await;
    chromium
        .click("button[aria-label^='Revoke session ASIA']")
        .await;
    chromium
        .wait_for_url("the revocation", |url| {
            url.ends_with("/admin/sessions/revoke")
        })
        .await;
    let html = chromium.source().await;
    assert!(html.contains("is revoked."), "{html}");
    assert!(
        violations.is_empty(),
        "axe-core found serious or critical problems:\n{}",
        violations.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_sign_in_and_select_a_role_in_a_real_browser() {
    let server = DemoServer::start().await;
    let chromium = Chromium::start().await;
    let browser = &chromium.client;
    let mut violations = Vec::new();
    browser.goto(&server.url("/login/demo-saml")).await.unwrap();
    chromium
        .wait_for_url("the demo SAML provider", |url| {
            url.contains("/demo-idp/saml/sso")
        })
        .await;
    check_page(&chromium, "13-demo-saml-idp", &mut violations).await;
    // The provider's page posts the response to the ACS by itself (portal.js).
    chromium
        .click("input[value=demo-bob] ~ button.person")
        .await;
    chromium
        .wait_for_url("Select a role", |url| url.contains("/select-role"))
        .await;
    check_page(&chromium, "14-select-role", &mut violations).await;
    chromium
        .click("input[value='arn:aws:iam::234567890123:role/ReadOnly']")
        .await;
    chromium.click("input[name=remember]").await;
    chromium.click("form.select-role button[type=submit]").await;
    chromium
        .wait_for_url("the console home", |url| url.contains("/console/ASIA"))
        .await;
    let html = chromium.source().await;
    assert!(html.contains("ReadOnly @ staging"), "{html}");
    assert!(
        violations.is_empty(),
        "axe-core found serious or critical problems:\n{}",
        violations.join("\n")
    );
}
