//! Sign-in against a real OpenID Provider, panva's `oidc-provider`: the test is the browser
//! (cookie jar, redirects followed one by one, the provider's development login and consent
//! forms posted). Each person reaches the portal with exactly the roles the sample mappings
//! grant their groups, and signing out ends the session at the provider too.

use std::path::Path;

use crate::support::peers::{OidcProviderPeer, form_action, through_provider_pages};
use crate::support::{ConfiguredServer, browser, hidden_input, page, reserve_port};

/// rolegate's client id at the provider: the sample trust policies require it as `aud`.
const CLIENT_ID: &str = "rolegate-demo";

/// Copies the sample mappings, the directory linking its accounts to IdP `corp` instead of
/// `demo` (the rules are unchanged: the one for `idp: demo` must not match).
fn sample_mappings_for_corp(folder: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings");
    for sub in ["directory", "rules"] {
        for entry in std::fs::read_dir(root.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let text = if sub == "directory" {
                text.replace("idp: demo", "idp: corp")
            } else {
                text
            };
            let target = folder
                .join("mappings")
                .join(sub)
                .join(path.file_name().unwrap());
            std::fs::write(target, text).unwrap();
        }
    }
}

struct Setup {
    provider: OidcProviderPeer,
    server: ConfiguredServer,
}

async fn setup() -> Setup {
    let reserved = reserve_port();
    let port = reserved.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let provider = OidcProviderPeer::start(
        CLIENT_ID,
        &format!("{base}/auth/oidc/corp/callback"),
        &format!("{base}/login"),
    );
    let server = ConfiguredServer::start(
        reserved,
        "corp",
        (CLIENT_ID, &provider.issuer),
        "display_name = \"Corp SSO\"\nscopes = [\"openid\", \"email\", \"profile\", \"groups\"]\nuserinfo = true",
        sample_mappings_for_corp,
    )
    .await;
    Setup { provider, server }
}

/// Signs in as `login` through the provider's pages; the browser ends on rolegate's `/`.
async fn sign_in(setup: &Setup, client: &reqwest::Client, login: &str) {
    let home = setup.server.url("/");
    let reached = through_provider_pages(client, &setup.server.url("/login/corp"), login, |url| {
        url == home
    })
    .await;
    assert_eq!(reached, home);
}

/// `alias/Role` for each role the portal offers, sorted.
fn offered(html: &str) -> Vec<String> {
    let mut roles = crate::support::portal_roles(html);
    roles.sort();
    roles
}

#[tokio::test]
async fn each_person_gets_exactly_the_roles_their_groups_map_to() {
    let setup = setup().await;
    // No MFA at this provider: the deny rule keeps everyone out of production.
    for (login, name, expected) in [
        (
            "alice",
            "Alice Admin",
            vec!["sandbox/Admin", "staging/ReadOnly"],
        ),
        (
            "bob",
            "Bob Builder",
            vec!["sandbox/Developer", "staging/Developer", "staging/ReadOnly"],
        ),
    ] {
        let client = browser();
        sign_in(&setup, &client, login).await;
        let html = page(&client, &setup.server.url("/")).await;
        assert!(html.contains(name), "{login}: {html}");
        assert!(
            html.contains(&format!("<code>{login}</code>")),
            "{login}: {html}"
        );
        assert_eq!(offered(&html), expected, "{login}: {html}");
    }
}

#[tokio::test]
async fn sign_out_ends_the_session_here_and_at_the_provider() {
    let setup = setup().await;
    let client = browser();
    sign_in(&setup, &client, "bob").await;
    let portal = client.get(setup.server.url("/")).send().await.unwrap();
    let html = portal.text().await.unwrap();
    let csrf = hidden_input(&html, "csrf").unwrap();
    let out = client
        .post(setup.server.url("/logout"))
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    // A same-origin page continues to the provider (a redirect answering the form post
    // would be blocked by the CSP's form-action in browsers).
    assert_eq!(out.status(), 200);
    let signing_out = out.text().await.unwrap();
    let end_session = continue_link(&signing_out);
    assert!(
        signing_out.contains(&format!(
            "content=\"0; url={}\"",
            html_escaped(&end_session)
        )),
        "{signing_out}"
    );
    assert!(
        end_session.starts_with(&setup.provider.issuer),
        "not sent to the provider: {end_session}"
    );
    assert!(
        end_session.contains("client_id=rolegate-demo"),
        "{end_session}"
    );
    assert!(
        !end_session.contains("id_token_hint"),
        "a token in the URL: {end_session}"
    );
    // Signed out here at once.
    let portal = client.get(setup.server.url("/")).send().await.unwrap();
    assert!(portal.status().is_redirection());
    // The provider asks for confirmation, then sends the browser back to rolegate.
    let html = page(&client, &end_session).await;
    let action = form_action(&html, &end_session);
    let xsrf = hidden_input(&html, "xsrf").expect("the provider's logout form");
    let done = client
        .post(&action)
        .form(&[("xsrf", xsrf.as_str()), ("logout", "yes")])
        .send()
        .await
        .unwrap();
    assert!(done.status().is_redirection(), "{}", done.status());
    let mut back = done.headers()["location"].to_str().unwrap().to_owned();
    // oidc-provider may pass through its own success step before returning.
    for _ in 0..3 {
        if back.starts_with(&setup.server.url("/login")) {
            break;
        }
        let next = client.get(&back).send().await.unwrap();
        back = next.headers()["location"].to_str().unwrap().to_owned();
    }
    assert!(back.starts_with(&setup.server.url("/login")), "{back}");
    // The provider's session is gone: signing in again shows its login form.
    let again = client
        .get(setup.server.url("/login/corp"))
        .send()
        .await
        .unwrap();
    let at_provider = again.headers()["location"].to_str().unwrap().to_owned();
    let interaction = client.get(&at_provider).send().await.unwrap();
    let next = interaction.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let next = url::Url::parse(&at_provider).unwrap().join(&next).unwrap();
    let login_page = page(&client, next.as_str()).await;
    assert_eq!(
        hidden_input(&login_page, "prompt").as_deref(),
        Some("login"),
        "{login_page}"
    );
}

/// The `Continue` link of rolegate's signing-out page, unescaped.
fn continue_link(html: &str) -> String {
    let start = html
        .find("<a class=\"button\" href=\"")
        .expect("a continue link")
        + 24;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&#38;", "&")
}

fn html_escaped(url: &str) -> String {
    url.replace('&', "&#38;")
}

/// Finding #10.3: in a real browser the sign-out redirect to the provider was blocked by
/// rolegate's own CSP (`form-action 'self'`), so the provider session survived and the next
/// sign-in was silent. Chromium now reaches the provider's sign-out, comes back, and the
/// next sign-in asks for the password again.
#[tokio::test]
async fn sign_out_in_a_real_browser_ends_the_provider_session() {
    use crate::support::chromium::Chromium;

    let setup = setup().await;
    let chromium = Chromium::start().await;
    let browser = &chromium.client;
    browser
        .goto(&setup.server.url("/login/corp"))
        .await
        .unwrap();
    chromium.fill("input[name=login]", "bob").await;
    chromium.fill("input[name=password]", "any password").await;
    chromium.click("button[type=submit]").await;
    chromium
        .wait_for_url("the consent page", |url| url.contains("/interaction/"))
        .await;
    chromium.click("button[type=submit]").await;
    let portal = setup.server.url("/");
    chromium
        .wait_for_url("the portal", |url| url == portal)
        .await;
    chromium.click("form.signout button[type=submit]").await;
    let issuer = setup.provider.issuer.clone();
    chromium
        .wait_for_url("the provider's sign-out", |url| url.starts_with(&issuer))
        .await;
    chromium.click("button[name=logout][value=yes]").await;
    let login = setup.server.url("/login");
    chromium
        .wait_for_url("rolegate's sign-in page", |url| url.starts_with(&login))
        .await;
    browser
        .goto(&setup.server.url("/login/corp"))
        .await
        .unwrap();
    chromium.fill("input[name=login]", "bob").await;
}
