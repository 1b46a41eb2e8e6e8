//! Describing what went wrong without echoing what must not be echoed.

use openidconnect::RequestTokenError;
use serde_json::Value;

use crate::idp::SignInError;

/// An OAuth error code reduced to the characters RFC 6749 allows, so nothing the provider
/// (or an attacker) put in the URL is echoed verbatim.
pub(super) fn oauth_error_code(error: &str) -> String {
    error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(64)
        .collect()
}

/// The token endpoint's complaint, without echoing its response body (which could hold
/// tokens). An ID token whose claims do not parse (no `sub`, say) is an invalid ID token.
pub(super) fn token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse>(
    error: &RequestTokenError<RE, T>,
) -> SignInError {
    match error {
        RequestTokenError::Parse(e, body) if has_id_token(body) => {
            SignInError::InvalidIdToken(format!("unparsable ID token: {}", e.inner()))
        }
        RequestTokenError::ServerResponse(response) => {
            SignInError::TokenExchange(format!("token endpoint error {response}"))
        }
        RequestTokenError::Request(e) => {
            SignInError::TokenExchange(format!("request failed: {}", error_chain(e)))
        }
        RequestTokenError::Parse(e, _) => {
            SignInError::TokenExchange(format!("unparsable token response at {}", e.path()))
        }
        RequestTokenError::Other(message) => SignInError::TokenExchange(message.clone()),
    }
}

/// Whether a token response that did not parse is JSON holding an `id_token` string: then
/// the ID token's claims are what failed to parse.
fn has_id_token(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .is_ok_and(|response| response.get("id_token").is_some_and(Value::is_string))
}

/// An error and its sources, joined with `: `.
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
