//! pysaml2 as a real SAML identity provider (`tests/peers/saml/idp.py`), and rolegate
//! `serve` configured to sign in through it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};

use super::{RunningServer, config_folder, free_port, reserve_port};

/// A fresh RSA key and self-signed certificate named `name`, as PEM files in `folder`:
/// `{name}.key` and `{name}.crt`.
pub(crate) fn key_pair(folder: &Path, name: &str) -> (PathBuf, PathBuf) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut subject = X509NameBuilder::new().unwrap();
    subject.append_entry_by_text("CN", name).unwrap();
    let subject = subject.build();
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    builder.set_subject_name(&subject).unwrap();
    builder.set_issuer_name(&subject).unwrap();
    builder.set_pubkey(&key).unwrap();
    builder
        .set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    builder.sign(&key, MessageDigest::sha256()).unwrap();
    let key_file = folder.join(format!("{name}.key"));
    let cert_file = folder.join(format!("{name}.crt"));
    std::fs::write(&key_file, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&cert_file, builder.build().to_pem().unwrap()).unwrap();
    (key_file, cert_file)
}

/// The pysaml2 identity provider, running until dropped.
pub(crate) struct SamlIdpPeer {
    /// Its base URL; its metadata is at `{base}/metadata`, its entity id too.
    pub(crate) base: String,
    child: Child,
}

impl SamlIdpPeer {
    /// Starts it, signing every sign-on in as `person` (JSON: `name_id`, `attributes`),
    /// reading rolegate's SP metadata from `sp_metadata_url`; `signing` is the JSON object's
    /// `sign_response` / `sign_assertion` settings.
    pub(crate) fn start(
        folder: &Path,
        sp_metadata_url: &str,
        person: serde_json::Value,
        signing: serde_json::Value,
    ) -> Self {
        let peer = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/saml");
        let python = peer.join("venv/bin/python");
        assert!(
            python.is_file(),
            "pysaml2 is not installed: run `make test-deps` (a venv in {})",
            peer.display()
        );
        assert!(
            Path::new("/usr/bin/xmlsec1").is_file(),
            "pysaml2 needs Debian's xmlsec1: apt-get install xmlsec1"
        );
        let (key_file, cert_file) = key_pair(folder, "idp");
        let port = free_port();
        let mut settings = serde_json::json!({
            "port": port,
            "key_file": key_file,
            "cert_file": cert_file,
            "sp_metadata_url": sp_metadata_url,
            "person": person,
        });
        if let (Some(settings), Some(signing)) = (settings.as_object_mut(), signing.as_object()) {
            settings.extend(signing.clone());
        }
        let config = folder.join("idp.json");
        std::fs::write(&config, settings.to_string()).unwrap();
        let mut child = Command::new(&python)
            .arg(peer.join("idp.py"))
            .arg(&config)
            // pysaml2's use of deprecated cryptography modes is its own business.
            .env("PYTHONWARNINGS", "ignore")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {} ({e})", python.display()));
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the pysaml2 IdP did not start");
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for SamlIdpPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// rolegate `serve` with SAML provider `pysaml` whose metadata is at the peer, and the
/// peer itself; `directory` and `rules` are the YAML of `mappings/`.
pub(crate) struct SamlServer {
    pub(crate) running: RunningServer,
    pub(crate) idp: SamlIdpPeer,
    _folder: tempfile::TempDir,
}

impl SamlServer {
    /// Starts both. `extra_idp_keys` go in the `[[idp]]` table.
    pub(crate) async fn start(
        person: serde_json::Value,
        signing: serde_json::Value,
        extra_idp_keys: &str,
        (directory, rules): (&str, &str),
    ) -> Self {
        let reserved = reserve_port();
        let port = reserved.local_addr().unwrap().port();
        let public = format!("http://127.0.0.1:{port}");
        let folder = config_folder("");
        let idp = SamlIdpPeer::start(
            folder.path(),
            &format!("{public}/saml/metadata"),
            person,
            signing,
        );
        let (sp_key, sp_cert) = key_pair(folder.path(), "sp");
        std::fs::write(
            folder.path().join("rolegate.toml"),
            format!(
                "listen = \"127.0.0.1:{port}\"\npublic_url = \"{public}\"\n\n\
                 [keys]\nsaml_sp_key_file = \"{}\"\nsaml_sp_cert_file = \"{}\"\n\
                 session_signing_key_file = \"session.pem\"\n\n\
                 [[idp]]\nname = \"pysaml\"\nkind = \"saml\"\n\
                 metadata_url = \"{}/metadata\"\n{extra_idp_keys}\n",
                sp_key.display(),
                sp_cert.display(),
                idp.base
            ),
        )
        .unwrap();
        std::fs::write(folder.path().join("session.pem"), super::session_key_pem()).unwrap();
        std::fs::write(
            folder.path().join("mappings/directory/accounts.yaml"),
            directory,
        )
        .unwrap();
        std::fs::write(folder.path().join("mappings/rules/rules.yaml"), rules).unwrap();
        let config =
            rolegate::config::Config::load(&folder.path().join("rolegate.toml"), &|_| None)
                .unwrap();
        reserved.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(reserved).unwrap();
        let server = rolegate::server::Server::start_on(listener, config)
            .await
            .expect("server starts");
        Self {
            running: RunningServer::spawn(server),
            idp,
            _folder: folder,
        }
    }
}

impl std::ops::Deref for SamlServer {
    type Target = RunningServer;

    fn deref(&self) -> &RunningServer {
        &self.running
    }
}
