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

impl Drop for OidcProviderPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
