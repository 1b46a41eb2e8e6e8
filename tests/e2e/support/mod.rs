//! Shared test scaffolding: servers on free loopback ports, browsers with cookie jars.

pub(crate) mod aws;
pub(crate) mod chromium;
pub(crate) mod oidc_provider;
pub(crate) mod peers;
pub(crate) mod redis;
pub(crate) mod saml_peer;

use std::net::SocketAddr;

use rolegate::server::Server;
use tokio::sync::oneshot;

/// A rolegate server running in this process until dropped.
pub(crate) struct RunningServer {
    pub(crate) base: String,
    stop: Option<oneshot::Sender<()>>,
}

impl RunningServer {
    fn spawn(server: Server) -> Self {
        let base = server.public_url().origin();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(server.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            base,
            stop: Some(stop),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `rolegate demo` in this process.
pub(crate) struct DemoServer(RunningServer);

impl DemoServer {
    pub(crate) async fn start() -> Self {
        let server = Server::start_demo(SocketAddr::from(([127, 0, 0, 1], 0)), None)
            .await
            .expect("demo server starts");
        Self(RunningServer::spawn(server))
    }
}

impl std::ops::Deref for DemoServer {
    type Target = RunningServer;

    fn deref(&self) -> &RunningServer {
        &self.0
    }
}

/// A temporary folder holding `rolegate.toml` with `text`, and the default (empty)
/// `mappings/directory` and `mappings/rules` folders it points to.
pub(crate) fn config_folder(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mappings/directory")).unwrap();
    std::fs::create_dir_all(dir.path().join("mappings/rules")).unwrap();
    std::fs::write(dir.path().join("rolegate.toml"), text).unwrap();
    dir
}

/// A browser: keeps cookies, does not follow redirects (tests follow them step by step).
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser signed in to `server` through the demo provider as `subject`.
pub(crate) async fn signed_in_as(server: &DemoServer, subject: &str) -> reqwest::Client {
    let client = browser();
    let started = client.get(server.url("/login/demo")).send().await.unwrap();
    let callback = approve_at_demo(server, &client, &location(&started), subject).await;
    let done = client.get(callback).send().await.unwrap();
    assert_eq!(location(&done), "/");
    client
}

/// Approves the demo provider's authorization request `authorize` (a URL) as `subject`;
/// returns the callback URL the provider redirects to (not yet visited).
pub(crate) async fn approve_at_demo(
    server: &DemoServer,
    client: &reqwest::Client,
    authorize: &str,
    subject: &str,
) -> String {
    let mut form = query_pairs(authorize);
    form.push(("subject".into(), subject.into()));
    let approved = client
        .post(server.url("/demo-idp/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    location(&approved)
}

/// The `Location` header of a redirect.
pub(crate) fn location(response: &reqwest::Response) -> String {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {}",
        response.status()
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The query parameters of `url`.
pub(crate) fn query_pairs(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The value of query parameter `name` in `url`, if present.
pub(crate) fn query_value(url: &str, name: &str) -> Option<String> {
    query_pairs(url)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The value of hidden input `name` in an HTML page.
pub(crate) fn hidden_input(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// `text` with the character references askama writes (`&#43;`, `&amp;`, …) decoded, as a
/// browser decodes an attribute value before it submits it.
pub(crate) fn unescape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A loopback socket on a free port, held until the server takes it (no other test can
/// take the port in between).
pub(crate) fn reserve_port() -> std::net::TcpListener {
    std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap()
}

/// A free loopback port (free a moment ago: bind it soon), for servers in other processes.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `rolegate serve` in this process with memory stores, configured with one OIDC provider
/// `name` at `issuer` (plus `extra_idp_keys` in its `[[idp]]` table).
pub(crate) struct ConfiguredServer {
    running: RunningServer,
    _folder: tempfile::TempDir,
}

impl ConfiguredServer {
    /// Provider `test`, empty mappings, any free port.
    pub(crate) async fn with_oidc(issuer: &str, extra_idp_keys: &str) -> Self {
        let client = (oidc_provider::CLIENT_ID, issuer);
        Self::start(reserve_port(), "test", client, extra_idp_keys, |_| {}).await
    }

    /// Provider `name` on the `reserved` socket, where rolegate is client `client_id` of
    /// `issuer` (with [`oidc_provider::CLIENT_SECRET`]); `prepare` may fill the config
    /// folder's `mappings/`.
    pub(crate) async fn start(
        reserved: std::net::TcpListener,
        name: &str,
        (client_id, issuer): (&str, &str),
        extra_idp_keys: &str,
        prepare: impl FnOnce(&std::path::Path),
    ) -> Self {
        let port = reserved.local_addr().unwrap().port();
        let folder = config_folder(&format!(
            "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\n\
             [[idp]]\nname = \"{name}\"\nkind = \"oidc\"\nissuer = \"{issuer}\"\n\
             client_id = \"{client_id}\"\n{extra_idp_keys}\n"
        ));
        prepare(folder.path());
        let path = folder.path().join("rolegate.toml");
        let secret_variable = format!("ROLEGATE_IDP_{}_CLIENT_SECRET", name.to_uppercase());
        let env = |variable: &str| {
            (variable == secret_variable).then(|| oidc_provider::CLIENT_SECRET.to_owned())
        };
        let config = rolegate::config::Config::load(&path, &env).unwrap();
        reserved.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(reserved).unwrap();
        let server = Server::start_on(listener, config)
            .await
            .expect("server starts");
        Self {
            running: RunningServer::spawn(server),
            _folder: folder,
        }
    }
}

impl ConfiguredServer {
    /// The folder holding its `rolegate.toml`.
    pub(crate) fn folder(&self) -> &std::path::Path {
        self._folder.path()
    }
}

impl std::ops::Deref for ConfiguredServer {
    type Target = RunningServer;

    fn deref(&self) -> &RunningServer {
        &self.running
    }
}

/// The body of `GET url` through `client`, whatever the status.
pub(crate) async fn page(client: &reqwest::Client, url: &str) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// A fresh EC P-256 PKCS#8 PEM key, as `[keys] session_signing_key_file` holds.
pub(crate) fn session_key_pem() -> String {
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let key = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
}

/// `alias/Role` of each role the portal lists, in page order.
pub(crate) fn portal_roles(html: &str) -> Vec<String> {
    let mut roles = Vec::new();
    for account in html.split("<li class=\"account\"").skip(1) {
        let meta = account.find("<span class=\"meta\">").unwrap() + 19;
        let alias = account[meta..].split(" · ").next().unwrap();
        for role in account.split("<span class=\"role-name\"><strong>").skip(1) {
            roles.push(format!("{alias}/{}", &role[..role.find('<').unwrap()]));
        }
    }
    roles
}
