//! A real browser: Debian's headless Chromium driven through chromedriver (WebDriver), for
//! what only a browser enforces (CSP, redirects after form posts, cookies as browsers keep
//! them). `make test` installs `chromium` and `chromium-driver`.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

/// Chromium with a fresh profile, and the chromedriver that drives it, until dropped
/// (fantoccini's `close` can wait forever for its session task here, so the browser is
/// ended with chromedriver's process group instead).
pub(crate) struct Chromium {
    pub(crate) client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

/// The chromedriver process; dropping it ends its process group, browsers included.
struct Driver(Child);

impl Chromium {
    pub(crate) async fn start() -> Self {
        let port = super::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that dropping it ends the browsers it started too.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run chromedriver ({e}): install Debian's `chromium` and \
                     `chromium-driver` (`make test` installs them)"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ];
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": "/usr/bin/chromium", "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start Chromium: {e}"));
        Self {
            client,
            _driver: Driver(driver),
            _profile: profile,
        }
    }

    /// Waits until the page's URL satisfies `done`; the URL.
    pub(crate) async fn wait_for_url(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let url = self.client.current_url().await.unwrap().to_string();
            if done(&url) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "never reached {what}; stuck at {url}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The element `css`, once it is on the page.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
    }

    /// Clicks the element `css` once it is there.
    pub(crate) async fn click(&self, css: &str) {
        self.element(css).await.click().await.unwrap();
    }

    /// Types `text` into the field `css`.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        self.element(css).await.send_keys(text).await.unwrap();
    }
}

/// The page widths every screenshot is taken at: a desktop and a 375 px phone.
const WIDTHS: [(&str, u32, u32); 2] = [("desktop", 1280, 900), ("phone", 375, 812)];

impl Chromium {
    /// Saves screenshots of the current page at desktop and phone widths as
    /// `target/e2e/<name>-desktop.png` and `…-phone.png`.
    pub(crate) async fn screenshots(&self, name: &str) {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
        std::fs::create_dir_all(&folder).unwrap();
        for (label, width, height) in WIDTHS {
            self.client.set_window_size(width, height).await.unwrap();
            let png = self.client.screenshot().await.unwrap();
            assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot of {name}");
            std::fs::write(folder.join(format!("{name}-{label}.png")), png).unwrap();
        }
        let (_, width, height) = WIDTHS[0];
        self.client.set_window_size(width, height).await.unwrap();
    }

    /// Runs axe-core (from `tests/peers/axe`, injected from its file) on the current page at
    /// both widths; the serious and critical violations, as `rule: target` lines.
    pub(crate) async fn accessibility_violations(&self) -> Vec<String> {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/peers/axe/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&script).unwrap_or_else(|e| {
            panic!(
                "axe-core is not installed ({e}): run `make test-deps` (npm ci in tests/peers/axe)"
            )
        });
        let mut found = Vec::new();
        for (label, width, height) in WIDTHS {
            self.client.set_window_size(width, height).await.unwrap();
            self.client.execute(&source, vec![]).await.unwrap();
            let violations = self
                .client
                .execute_async(
                    "const done = arguments[arguments.length - 1];\
                     axe.run(document, {resultTypes: ['violations']})\
                       .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
                         .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))))\
                       .catch(e => done(['axe failed: ' + e]));",
                    vec![],
                )
                .await
                .unwrap();
            for violation in violations.as_array().cloned().unwrap_or_default() {
                found.push(format!(
                    "{label}: {}",
                    violation.as_str().unwrap_or_default()
                ));
            }
        }
        let (_, width, height) = WIDTHS[0];
        self.client.set_window_size(width, height).await.unwrap();
        found
    }

    /// The current page's HTML source.
    pub(crate) async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
