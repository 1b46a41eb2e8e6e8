//! What a sign-in carries from its start to its callback: the pending sign-in kept in the
//! browser session, the options passed to the provider, and the callback's parameters.

use openidconnect::core::CoreAuthPrompt;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::config::IdpName;
use crate::idp::SignInError;

/// A sign-in this browser started and has not finished; kept in the browser session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    /// The provider it was started with.
    pub idp: IdpName,
    /// The `state` sent to the provider.
    pub state: String,
    pub(super) nonce: String,
    pub(super) pkce_verifier: String,
    /// Where to go once signed in: a same-origin relative path.
    pub return_to: String,
    /// When it started (Unix seconds).
    pub started_at: u64,
    /// The `max_age` asked for: the ID token's `auth_time` must be at most this old.
    #[serde(default)]
    pub(super) max_age: Option<u64>,
}

/// What the person (or the link they followed) asked of the provider, passed on as OIDC
/// Core 3.1.2.1 `prompt` and `max_age`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInOptions {
    /// `prompt` values, each one of `none`, `login`, `consent`, `select_account`.
    pub prompts: Vec<CoreAuthPrompt>,
    /// `max_age` in seconds.
    pub max_age: Option<u64>,
}

/// The largest `max_age` passed on: a year.
const MAX_AGE_LIMIT: u64 = 366 * 24 * 3600;

impl SignInOptions {
    /// Reads `prompt` (space-separated) and `max_age` as given in a query string.
    pub fn parse(prompt: Option<&str>, max_age: Option<&str>) -> Result<Self, SignInError> {
        let mut prompts = Vec::new();
        for value in prompt
            .unwrap_or_default()
            .split(' ')
            .filter(|v| !v.is_empty())
        {
            let prompt = match value {
                "none" => CoreAuthPrompt::None,
                "login" => CoreAuthPrompt::Login,
                "consent" => CoreAuthPrompt::Consent,
                "select_account" => CoreAuthPrompt::SelectAccount,
                _ => return Err(SignInError::BadOption("prompt")),
            };
            if !prompts.contains(&prompt) {
                prompts.push(prompt);
            }
        }
        // OIDC Core 3.1.2.1: `none` stands alone.
        if prompts.contains(&CoreAuthPrompt::None) && prompts.len() > 1 {
            return Err(SignInError::BadOption("prompt"));
        }
        let max_age = match max_age {
            None => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .ok()
                    .filter(|age| *age <= MAX_AGE_LIMIT)
                    .ok_or(SignInError::BadOption("max_age"))?,
            ),
        };
        Ok(Self { prompts, max_age })
    }
}

impl PendingSignIn {
    /// Whether `state` is this sign-in's, compared in constant time.
    pub fn has_state(&self, state: &str) -> bool {
        self.state.as_bytes().ct_eq(state.as_bytes()).into()
    }
}

/// What the provider sent back to the redirect URI.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` we sent.
    pub state: Option<String>,
    /// RFC 9207 issuer identification.
    pub iss: Option<String>,
    /// An OAuth error code instead of a code.
    pub error: Option<String>,
}
