//! The configuration file: one TOML document, environment overrides, and validation that
//! points at the file, line and key of every problem.
//!
//! Knows nothing of HTTP. Secrets are never read from the TOML itself: the file names an
//! environment variable or a file that holds them.

mod admin;
mod client_auth;
mod error;
mod idp;
mod limits;
mod raw;
mod source;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use url::Url;

pub use admin::{Admin, AtIdp};
pub use client_auth::{ClientAuth, ClientKey};
pub use error::{ConfigError, Location};
pub use idp::{
    DEFAULT_CLOCK_SKEW, DEFAULT_MFA_ACR_VALUES, DEFAULT_MFA_AUTHN_CONTEXTS, IdpConfig, IdpName,
    IdpProtocol, Logo, OidcSettings, SamlAttributeNames, SamlMetadataSource, SamlSettings,
    SignedElements,
};
pub use limits::{Limits, SessionCookie};

use raw::RawConfig;
use source::Source;

/// Looks up an environment variable; a parameter so that tests need not touch the process.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The validated configuration of one rolegate instance.
#[derive(Debug)]
pub struct Config {
    /// The socket address the HTTP server binds.
    pub listen: SocketAddr,
    /// The origin browsers and identity providers use to reach rolegate.
    pub public_url: PublicUrl,
    /// Where sessions and one-time values are kept.
    pub store: StoreSpec,
    /// The folder of accounts, roles, policies and IdP principals.
    pub directory: PathBuf,
    /// The folder (or file) of mapping rules.
    pub mappings: PathBuf,
    /// Key material.
    pub keys: Keys,
    /// Who may use the admin pages.
    pub admin: Admin,
    /// The configured identity providers, in file order.
    pub idps: Vec<IdpConfig>,
    /// Timeouts and caps of the HTTP edge.
    pub limits: Limits,
    /// What the browser-session cookie is.
    pub session_cookie: SessionCookie,
    /// `[login] straight_to_single_idp`: with exactly one provider, the sign-in page sends
    /// people straight to it (not right after signing out).
    pub straight_to_single_idp: bool,
    /// The audit log file (appended); standard output when not set.
    pub audit_file: Option<PathBuf>,
}

/// Key material read from files or the environment.
#[derive(Debug, Default)]
pub struct Keys {
    /// PEM private key that signs role-session tokens.
    pub session_signing_key: Option<SecretString>,
    /// PEM private key of the SAML service provider.
    pub saml_sp_key: Option<SecretString>,
    /// PEM certificate of the SAML service provider.
    pub saml_sp_cert: Option<String>,
}

/// The external origin of rolegate, e.g. `https://sso.example.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(Url);

impl PublicUrl {
    /// Parses an `http` or `https` origin with no path, query or fragment.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "scheme must be http or https, not `{}`",
                url.scheme()
            ));
        }
        if url.host_str().is_none() {
            return Err("must name a host".into());
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err("must be an origin only: no path, query or fragment".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry credentials".into());
        }
        Ok(Self(url))
    }

    /// The URL of `path` (which starts with `/`) under this origin.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    /// The origin without a trailing slash, e.g. `https://sso.example.com`.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// Whether browsers reach rolegate over TLS (cookies are then marked `Secure`).
    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }
}

/// Where the broker keeps its state.
#[derive(Debug, Clone)]
pub enum StoreSpec {
    /// In this process's memory: one instance only.
    Memory,
    /// A Redis server shared by every instance.
    Redis(RedisUrl),
}

/// A `redis://` or `rediss://` URL; it may hold a password, so it is kept secret.
#[derive(Debug, Clone)]
pub struct RedisUrl(SecretString);

impl RedisUrl {
    /// Parses a `redis://` or `rediss://` URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = Url::parse(text).map_err(|_| "not a URL".to_string())?;
        if !matches!(url.scheme(), "redis" | "rediss") {
            return Err("must be `memory` or a `redis://` / `rediss://` URL".into());
        }
        if url.host_str().is_none() {
            return Err("the Redis URL must name a host".into());
        }
        Ok(Self(SecretString::from(text.to_owned())))
    }

    /// The full URL, password included: hand it only to the Redis client.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with any password replaced, for logs and `rolegate check`.
    pub fn redacted(&self) -> String {
        match Url::parse(self.expose()) {
            Ok(mut url) if url.password().is_some() => {
                // Setting a password only fails for URLs that cannot have one.
                let _ = url.set_password(Some("[redacted]"));
                url.to_string()
            }
            Ok(url) => url.to_string(),
            Err(_) => "[unparsable]".into(),
        }
    }
}

impl StoreSpec {
    /// Parses `memory` or a Redis URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "memory" {
            return Ok(Self::Memory);
        }
        RedisUrl::parse(text).map(Self::Redis)
    }

    /// A description safe to print.
    pub fn describe(&self) -> String {
        match self {
            StoreSpec::Memory => "memory".into(),
            StoreSpec::Redis(url) => url.redacted(),
        }
    }
}

const DEFAULT_DIRECTORY: &str = "mappings/directory";
const DEFAULT_MAPPINGS: &str = "mappings/rules";

impl Config {
    /// Reads and validates the configuration file at `path`, with `env` supplying overrides
    /// (`ROLEGATE_LISTEN`, `ROLEGATE_PUBLIC_URL`, `ROLEGATE_STORE`) and secrets.
    pub fn load(path: &Path, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text, env)
    }

    /// Validates `text` as if it had been read from `path`.
    pub fn parse(path: &Path, text: &str, env: EnvLookup<'_>) -> Result<Self, ConfigError> {
        let source = Source::new(path, text, env);
        let raw: RawConfig = toml::from_str(text).map_err(|e| source.syntax_error(&e))?;
        source.build(raw)
    }
}

impl Source<'_> {
    fn build(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let listen = self.overridable("listen", "ROLEGATE_LISTEN", raw.listen.as_ref(), |v| {
            v.parse::<SocketAddr>()
                .map_err(|_| format!("`{v}` is not an address such as `127.0.0.1:8080`"))
        })?;
        let listen = listen.unwrap_or_else(default_listen);
        let public_url = match self.overridable(
            "public_url",
            "ROLEGATE_PUBLIC_URL",
            raw.public_url.as_ref(),
            PublicUrl::parse,
        )? {
            Some(url) => url,
            None => PublicUrl::parse(&format!("http://{listen}"))
                .map_err(|reason| self.invalid_at_start("public_url", reason))?,
        };
        let store = self
            .overridable(
                "store",
                "ROLEGATE_STORE",
                raw.store.as_ref(),
                StoreSpec::parse,
            )?
            .unwrap_or(StoreSpec::Memory);
        let directory =
            self.existing_path("directory", raw.directory.as_ref(), DEFAULT_DIRECTORY)?;
        let mappings = self.existing_path("mappings", raw.mappings.as_ref(), DEFAULT_MAPPINGS)?;
        let keys = self.keys(&raw.keys)?;
        let idps = self.idps(raw.idp)?;
        let admin = self.admin(&raw.admin, &idps)?;
        let limits = self.limits(&raw.limits)?;
        Ok(Config {
            listen,
            public_url,
            store,
            directory,
            mappings,
            keys,
            admin,
            idps,
            limits,
            session_cookie: self.session_cookie(&raw.session),
            straight_to_single_idp: raw.login.straight_to_single_idp.unwrap_or(false),
            audit_file: raw.audit.file.as_ref().map(|f| self.resolve(f.get_ref())),
        })
    }

    fn keys(&self, raw: &raw::RawKeys) -> Result<Keys, ConfigError> {
        Ok(Keys {
            session_signing_key: self
                .pem_secret(
                    "keys.session_signing_key_file",
                    "ROLEGATE_KEYS_SESSION_SIGNING_KEY",
                    raw.session_signing_key_file.as_ref(),
                )?
                .map(SecretString::from),
            saml_sp_key: self
                .pem_secret(
                    "keys.saml_sp_key_file",
                    "ROLEGATE_KEYS_SAML_SP_KEY",
                    raw.saml_sp_key_file.as_ref(),
                )?
                .map(SecretString::from),
            saml_sp_cert: self.pem_secret(
                "keys.saml_sp_cert_file",
                "ROLEGATE_KEYS_SAML_SP_CERT",
                raw.saml_sp_cert_file.as_ref(),
            )?,
        })
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

#[cfg(test)]
mod tests;
