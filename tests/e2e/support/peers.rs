//! Real peers the end-to-end tests run against, installed by `make test-deps`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// panva's `oidc-provider` (OpenID Certified), from `tests/peers/oidc-provider`, running
/// until dropped.
pub(crate) struct OidcProviderPeer {
    pub(crate) issuer: String,
    child: Child,
}

impl OidcProviderPeer {
    /// Starts it for client `client_id` whose callback is `redirect_uri`.
    pub(crate) fn start(client_id: &str, redirect_uri: &str, post_logout: &str) -> Self {
        let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/oidc-provider");
        assert!(
            folder.join("node_modules/oidc-provider").is_dir(),
            "oidc-provider is not installed: run `make test-deps` (npm ci in {})",
            folder.display()
        );
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&folder)
            .env("CLIENT_ID", client_id)
            .env("CLIENT_SECRET", super::oidc_provider::CLIENT_SECRET)
            .env("REDIRECT_URI", redirect_uri)
            .env("POST_LOGOUT_REDIRECT_URI", post_logout)
            .stdout(Stdio::piped())
            // Its warnings about development settings are expected here.
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node ({e}): install Node.js 20 or newer"));
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        // Keep reading what it prints, so that it never writes to a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let issuer = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("oidc-provider did not start: {line:?}"))
            .to_owned();
        Self { issuer, child }
    }
}

impl OidcProviderPeer {
    /// An ID token the provider issues to its `deploy-pipeline` client after `login` signs in:
    /// the authorization code flow, the test being both the browser and the client.
    pub(crate) async fn workload_id_token(&self, login: &str) -> String {
        const CLIENT: &str = "deploy-pipeline";
        const REDIRECT: &str = "http://127.0.0.1:9/deploy-pipeline/callback";
        let client = crate::support::browser();
        let mut start = url::Url::parse(&format!("{}/auth", self.issuer)).unwrap();
        start
            .query_pairs_mut()
            .append_pair("client_id", CLIENT)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid")
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("state", "workload-state")
            .append_pair("nonce", "workload-nonce");
        let back = through_provider_pages(&client, start.as_str(), login, |url| {
            url.starts_with(REDIRECT)
        })
        .await;
        let back = url::Url::parse(&back).unwrap();
        let code = back
            .query_pairs()
            .find(|(name, _)| name == "code")
            .unwrap_or_else(|| panic!("no code in {back}"))
            .1
            .into_owned();
        let response = client
            .post(format!("{}/token", self.issuer))
            .basic_auth(CLIENT, Some(super::oidc_provider::CLIENT_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ])
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 200, "token endpoint: {body}");
        body["id_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no id_token in {body}"))
            .to_owned()
    }
}

impl Drop for OidcProviderPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `action` of the first form in `html`, made absolute against `base`.
pub(crate) fn form_action(html: &str, base: &str) -> String {
    let start = html.find("action=\"").expect("a form") + 8;
    let action = &html[start..start + html[start..].find('"').unwrap()];
    url::Url::parse(base)
        .unwrap()
        .join(action)
        .unwrap()
        .to_string()
}

/// Follows redirects from `start` one by one as a browser would, answering the provider's
/// development login (as `login`) and consent forms, until a redirect goes to a URL for which
/// `arrived` holds; that URL.
pub(crate) async fn through_provider_pages(
    client: &reqwest::Client,
    start: &str,
    login: &str,
    arrived: impl Fn(&str) -> bool,
) -> String {
    let absolute = |base: &str, next: &str| {
        url::Url::parse(base)
            .unwrap()
            .join(next)
            .unwrap()
            .to_string()
    };
    let mut url = start.to_owned();
    for _ in 0..20 {
        let response = client.get(&url).send().await.unwrap();
        if response.status().is_redirection() {
            url = absolute(&url, response.headers()["location"].to_str().unwrap());
            if arrived(&url) {
                return url;
            }
            continue;
        }
        let status = response.status();
        let html = response.text().await.unwrap();
        assert_eq!(status, 200, "{url}: {html}");
        let action = form_action(&html, &url);
        let prompt = crate::support::hidden_input(&html, "prompt").expect("a provider prompt");
        let mut form = vec![("prompt", prompt.clone())];
        if prompt == "login" {
            form.push(("login", login.to_owned()));
            form.push(("password", "any password".to_owned()));
        }
        let posted = client.post(&action).form(&form).send().await.unwrap();
        assert!(
            posted.status().is_redirection(),
            "{action}: {}",
            posted.status()
        );
        url = absolute(&action, posted.headers()["location"].to_str().unwrap());
        if arrived(&url) {
            return url;
        }
    }
    panic!("{login} did not get through the provider's pages from {start}");
}
