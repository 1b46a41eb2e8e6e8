//! The directory's identifiers, each validated once in its constructor.

use std::fmt;

use serde::Serialize;

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AccountId(String);

impl AccountId {
    /// Validates `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!("`{text}` is not a 12-digit account id"))
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lets maps keyed by account id be searched with a `&str` (the derived `Hash` and `Eq` are
/// those of the digits).
impl std::borrow::Borrow<str> for AccountId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IAM role name: 1–64 characters of `[\w+=,.@-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RoleName(String);

/// Whether `c` is allowed in IAM role names and session names (`[\w+=,.@-]`).
pub fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
}

impl RoleName {
    /// Validates `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if (1..=64).contains(&text.len()) && text.chars().all(is_iam_name_char) {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not a role name: 1-64 characters of letters, digits and +=,.@_-"
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IAM path: `/`, or `/segment/…/` (at most 512 characters).
pub fn validate_path(path: &str) -> Result<(), String> {
    let ok = path.starts_with('/')
        && path.ends_with('/')
        && path.len() <= 512
        && !path.contains("//")
        && path.chars().all(|c| c == '/' || is_iam_name_char(c));
    if ok {
        Ok(())
    } else {
        Err(format!("`{path}` is not an IAM path: `/` or `/segment/…/`"))
    }
}

/// The ARN of role `name` at `path` in `account`.
pub fn role_arn(account: &AccountId, path: &str, name: &RoleName) -> String {
    format!("arn:aws:iam::{account}:role{path}{name}")
}
