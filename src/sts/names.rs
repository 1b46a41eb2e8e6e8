//! STS identifiers, each checked once in its constructor.

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::directory::is_iam_name_char;

/// A RoleSessionName: 2–64 characters of `[\w+=,.@-]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleSessionName(String);

impl RoleSessionName {
    /// Validates `text` with STS's rule.
    pub fn parse(text: &str) -> Result<Self, String> {
        if (2..=64).contains(&text.len()) && text.chars().all(is_iam_name_char) {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "Value '{text}' at 'roleSessionName' failed to satisfy constraint: Member must \
                 satisfy regular expression pattern: [\\w+=,.@-]* and have length 2 to 64"
            ))
        }
    }

    /// A session name for a person signing in to a role, as IAM Identity Center names its
    /// sessions after the user: `preferred` (an email address or a subject) with characters
    /// STS does not allow replaced by `-`, at most 64 characters, at least 2.
    pub fn for_person(preferred: &str) -> Self {
        let mut name: String = preferred
            .chars()
            .map(|c| if is_iam_name_char(c) { c } else { '-' })
            .take(64)
            .collect();
        if name.len() < 2 {
            name = format!("user-{name}");
        }
        Self(name)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RoleSessionName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<RoleSessionName> for String {
    fn from(value: RoleSessionName) -> Self {
        value.0
    }
}

impl fmt::Display for RoleSessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 4648 base32 digits: what follows `ASIA` in an access key id.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A temporary access key id: `ASIA` and 16 characters of `[A-Z2-7]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccessKeyId(String);

impl AccessKeyId {
    /// A fresh random id (80 random bits).
    pub fn generate() -> Self {
        let mut bytes = [0_u8; 10];
        rand::rng().fill_bytes(&mut bytes);
        let mut bits = 0_u32;
        let mut held = 0_u32;
        let mut id = String::with_capacity(20);
        id.push_str("ASIA");
        for byte in bytes {
            bits = (bits << 8) | u32::from(byte);
            held += 8;
            while held >= 5 {
                held -= 5;
                let digit = usize::try_from((bits >> held) & 31).unwrap_or(0);
                id.push(char::from(BASE32.get(digit).copied().unwrap_or(b'A')));
            }
        }
        Self(id)
    }

    /// Validates `text`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let ok = text.len() == 20
            && text.starts_with("ASIA")
            && text.bytes().skip(4).all(|b| BASE32.contains(&b));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err("The security token included in the request is invalid.".into())
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccessKeyId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<AccessKeyId> for String {
    fn from(value: AccessKeyId) -> Self {
        value.0
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The stable unique id of a role, as AWS shows it in `AssumedRoleId`: `AROA` and 17
/// base32 characters, derived from the role's ARN so every instance agrees.
pub fn role_id(role_arn: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(role_arn.as_bytes());
    let mut id = String::from("AROA");
    id.extend(
        digest
            .iter()
            .take(17)
            .map(|b| char::from(BASE32.get(usize::from(b % 32)).copied().unwrap_or(b'A'))),
    );
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persons_session_name_keeps_only_what_sts_allows() {
        assert_eq!(
            RoleSessionName::for_person("alice@example.com").as_str(),
            "alice@example.com"
        );
        assert_eq!(
            RoleSessionName::for_person("Jürgen Ünal").as_str(),
            "J-rgen--nal"
        );
        assert_eq!(RoleSessionName::for_person("x").as_str(), "user-x");
        let long = RoleSessionName::for_person(&"a".repeat(100));
        assert_eq!(long.as_str().len(), 64);
        for name in ["alice@example.com", "Jürgen Ünal", "x", "é"] {
            let made = RoleSessionName::for_person(name);
            assert!(RoleSessionName::parse(made.as_str()).is_ok(), "{name}");
        }
    }

    #[test]
    fn session_names_follow_sts_rules() {
        for ok in [
            "ab",
            "alice@example.com",
            "a+b=c,d.e@f-g_h",
            &"x".repeat(64),
        ] {
            assert!(RoleSessionName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a",
            "",
            "has space",
            "slash/no",
            "ü-umlaut",
            &"x".repeat(65),
        ] {
            assert!(RoleSessionName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn access_key_ids_are_asia_and_sixteen_base32_characters() {
        let id = AccessKeyId::generate();
        assert_eq!(id.as_str().len(), 20);
        assert!(AccessKeyId::parse(id.as_str()).is_ok());
        assert_ne!(AccessKeyId::generate(), id);
        for bad in [
            "AKIAIOSFODNN7EXAMPLE",
            "ASIA0000000000000000",
            "ASIA",
            "asiaabcdefghijklmnop",
        ] {
            assert!(AccessKeyId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_ids_are_stable_per_role() {
        let a = role_id("arn:aws:iam::123456789012:role/Admin");
        assert_eq!(a, role_id("arn:aws:iam::123456789012:role/Admin"));
        assert_ne!(a, role_id("arn:aws:iam::123456789012:role/ReadOnly"));
        assert_eq!(a.len(), 21);
        assert!(a.starts_with("AROA"));
    }
}
