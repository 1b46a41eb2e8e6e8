//! `[limits]` and `[session]`: timeouts and caps of the HTTP edge, and the browser-session
//! cookie. Every limit has a default that suits one instance behind a load balancer.

use std::time::Duration;

use toml::Spanned;

use super::ConfigError;
use super::raw::{RawLimits, RawSession};
use super::source::Source;

/// Timeouts and caps that keep slow or idle clients from holding the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long a client may take to send a request's headers; also how long a kept-alive
    /// connection may wait idle for its next request before it is closed.
    pub header_read_timeout: Duration,
    /// How long one request may take, body and handler included (408 past it).
    pub request_timeout: Duration,
    /// How many connections are served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long one outgoing request to an identity provider may take.
    pub idp_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 512,
            idp_timeout: Duration::from_secs(10),
        }
    }
}

/// What the browser-session cookie is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionCookie {
    /// Gone when the browser closes (no `Max-Age`); the server still ends idle sessions.
    #[default]
    BrowserSession,
    /// Carries `Max-Age`, so a sign-in survives a browser restart until the idle timeout.
    Persistent,
}

/// The most seconds any timeout may be set to.
const MAX_TIMEOUT_SECONDS: u64 = 3600;
/// The most connections `max_connections` may allow.
const MAX_CONNECTIONS: u64 = 1_000_000;

impl Source<'_> {
    pub(super) fn limits(&self, raw: &RawLimits) -> Result<Limits, ConfigError> {
        let defaults = Limits::default();
        let seconds = |value: &Option<Spanned<u64>>, key: &str, default: Duration| {
            self.bounded(value, &format!("limits.{key}"), MAX_TIMEOUT_SECONDS)
                .map(|v| v.map_or(default, Duration::from_secs))
        };
        Ok(Limits {
            header_read_timeout: seconds(
                &raw.header_read_timeout_seconds,
                "header_read_timeout_seconds",
                defaults.header_read_timeout,
            )?,
            request_timeout: seconds(
                &raw.request_timeout_seconds,
                "request_timeout_seconds",
                defaults.request_timeout,
            )?,
            max_connections: self
                .bounded(
                    &raw.max_connections,
                    "limits.max_connections",
                    MAX_CONNECTIONS,
                )?
                .map_or(defaults.max_connections, |v| {
                    usize::try_from(v).unwrap_or(usize::MAX)
                }),
            idp_timeout: seconds(
                &raw.idp_timeout_seconds,
                "idp_timeout_seconds",
                defaults.idp_timeout,
            )?,
        })
    }

    /// A whole number from 1 to `max`, when given.
    fn bounded(
        &self,
        value: &Option<Spanned<u64>>,
        key: &str,
        max: u64,
    ) -> Result<Option<u64>, ConfigError> {
        match value {
            Some(v) if !(1..=max).contains(v.get_ref()) => Err(self.invalid(
                v.span(),
                key,
                format!("must be from 1 to {max}, not {}", v.get_ref()),
            )),
            Some(v) => Ok(Some(*v.get_ref())),
            None => Ok(None),
        }
    }

    pub(super) fn session_cookie(&self, raw: &RawSession) -> SessionCookie {
        if raw.persistent_cookie == Some(true) {
            SessionCookie::Persistent
        } else {
            SessionCookie::BrowserSession
        }
    }
}
