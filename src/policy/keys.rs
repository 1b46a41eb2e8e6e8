//! The global condition keys rolegate knows about a request, turned into a
//! [`RequestContext`]. Only keys with a known value are set, so `…IfExists` and `Null`
//! behave as on AWS.

use std::collections::BTreeMap;
use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::context::RequestContext;

/// `aws:PrincipalType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    /// A role session.
    AssumedRole,
    /// A federated user (SAML or web identity, before a role is assumed).
    FederatedUser,
    /// An IAM user.
    User,
    /// An account root.
    Account,
}

impl PrincipalType {
    fn as_str(self) -> &'static str {
        match self {
            PrincipalType::AssumedRole => "AssumedRole",
            PrincipalType::FederatedUser => "FederatedUser",
            PrincipalType::User => "User",
            PrincipalType::Account => "Account",
        }
    }
}

/// Global keys of one request; fill what is known.
#[derive(Debug, Clone, Default)]
pub struct GlobalKeys<'a> {
    /// `aws:PrincipalArn` (for a session: the role's ARN).
    pub principal_arn: Option<&'a str>,
    /// `aws:PrincipalAccount`.
    pub principal_account: Option<&'a str>,
    /// `aws:PrincipalType`.
    pub principal_type: Option<PrincipalType>,
    /// `aws:userid` (for a session: `<role id>:<session name>`).
    pub userid: Option<&'a str>,
    /// `aws:username` (IAM users only).
    pub username: Option<&'a str>,
    /// `aws:PrincipalTag/<key>`.
    pub principal_tags: Option<&'a BTreeMap<String, String>>,
    /// `aws:RequestTag/<key>` and `aws:TagKeys`.
    pub request_tags: Option<&'a BTreeMap<String, String>>,
    /// `aws:CurrentTime` and `aws:EpochTime`.
    pub now: Option<SystemTime>,
    /// `aws:SourceIp`.
    pub source_ip: Option<&'a str>,
    /// `aws:MultiFactorAuthPresent` and, when present, `aws:MultiFactorAuthAge` (seconds
    /// since the second factor was used).
    pub mfa: Option<(bool, Option<u64>)>,
    /// `aws:TokenIssueTime`.
    pub token_issue_time: Option<SystemTime>,
    /// `aws:SourceIdentity`.
    pub source_identity: Option<&'a str>,
    /// `aws:FederatedProvider`.
    pub federated_provider: Option<&'a str>,
    /// `aws:SecureTransport`.
    pub secure_transport: Option<bool>,
}

/// ISO 8601 in UTC, as AWS writes `aws:CurrentTime`.
pub fn iso8601(at: SystemTime) -> String {
    OffsetDateTime::from(at)
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

impl GlobalKeys<'_> {
    /// Adds every known key to `context`.
    pub fn apply(&self, context: &mut RequestContext) {
        let mut set = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                context.insert_one(key, value);
            }
        };
        set("aws:PrincipalArn", self.principal_arn.map(str::to_owned));
        set(
            "aws:PrincipalAccount",
            self.principal_account.map(str::to_owned),
        );
        set(
            "aws:PrincipalType",
            self.principal_type.map(|t| t.as_str().to_owned()),
        );
        set("aws:userid", self.userid.map(str::to_owned));
        set("aws:username", self.username.map(str::to_owned));
        set("aws:CurrentTime", self.now.map(iso8601));
        set(
            "aws:EpochTime",
            self.now.map(|t| crate::clock::unix_seconds(t).to_string()),
        );
        set("aws:SourceIp", self.source_ip.map(str::to_owned));
        set(
            "aws:MultiFactorAuthPresent",
            self.mfa.map(|(present, _)| present.to_string()),
        );
        set(
            "aws:MultiFactorAuthAge",
            self.mfa.and_then(|(_, age)| age).map(|a| a.to_string()),
        );
        set("aws:TokenIssueTime", self.token_issue_time.map(iso8601));
        set(
            "aws:SourceIdentity",
            self.source_identity.map(str::to_owned),
        );
        set(
            "aws:FederatedProvider",
            self.federated_provider.map(str::to_owned),
        );
        set(
            "aws:SecureTransport",
            self.secure_transport.map(|s| s.to_string()),
        );
        for (key, value) in self.principal_tags.into_iter().flatten() {
            context.insert_one(format!("aws:PrincipalTag/{key}"), value.clone());
        }
        if let Some(tags) = self.request_tags {
            for (key, value) in tags {
                context.insert_one(format!("aws:RequestTag/{key}"), value.clone());
            }
            context.insert("aws:TagKeys", tags.keys().cloned().collect());
        }
    }

    /// A new context holding the known keys.
    pub fn to_context(&self) -> RequestContext {
        let mut context = RequestContext::default();
        self.apply(&mut context);
        context
    }
}

/// Adds an identity provider's claims under `<prefix>:<claim>` (e.g. `saml:sub`,
/// `login.example.com:aud`): strings as one value, lists of strings as several; other
/// shapes are skipped.
pub fn add_claims(
    context: &mut RequestContext,
    prefix: &str,
    claims: &serde_json::Map<String, serde_json::Value>,
) {
    add_claims_where(context, prefix, claims, |_| true);
}

/// [`add_claims`] for the claims whose key (`<prefix>:<claim>`, lowercase) `wanted` accepts:
/// a caller that knows which keys its policies read copies only those.
pub fn add_claims_where(
    context: &mut RequestContext,
    prefix: &str,
    claims: &serde_json::Map<String, serde_json::Value>,
    wanted: impl Fn(&str) -> bool,
) {
    for (name, value) in claims {
        let key = format!("{prefix}:{name}").to_ascii_lowercase();
        if !wanted(&key) {
            continue;
        }
        let values: Vec<String> = match value {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Number(n) => vec![n.to_string()],
            serde_json::Value::Bool(b) => vec![b.to_string()],
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => continue,
        };
        context.insert(key, values);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn known_keys_are_set_and_unknown_ones_absent() {
        let tags = BTreeMap::from([("team".to_owned(), "platform".to_owned())]);
        let request_tags = BTreeMap::from([
            ("env".to_owned(), "prod".to_owned()),
            ("cc".to_owned(), "1".to_owned()),
        ]);
        let keys = GlobalKeys {
            principal_arn: Some("arn:aws:iam::123456789012:role/Admin"),
            principal_type: Some(PrincipalType::AssumedRole),
            principal_tags: Some(&tags),
            request_tags: Some(&request_tags),
            now: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            mfa: Some((true, Some(42))),
            ..GlobalKeys::default()
        };
        let context = keys.to_context();
        assert_eq!(
            context.get("aws:CurrentTime").unwrap(),
            ["2023-11-14T22:13:20Z"]
        );
        assert_eq!(context.get("aws:EpochTime").unwrap(), ["1700000000"]);
        assert_eq!(context.get("aws:PrincipalTag/team").unwrap(), ["platform"]);
        assert_eq!(context.get("aws:TagKeys").unwrap(), ["cc", "env"]);
        assert_eq!(context.get("aws:RequestTag/env").unwrap(), ["prod"]);
        assert_eq!(context.get("aws:MultiFactorAuthAge").unwrap(), ["42"]);
        assert_eq!(context.get("aws:PrincipalType").unwrap(), ["AssumedRole"]);
        assert!(context.get("aws:SourceIp").is_none());
        assert!(context.get("aws:username").is_none());
    }

    #[test]
    fn claims_become_prefixed_keys() {
        let claims =
            serde_json::json!({"sub": "u1", "amr": ["pwd", "mfa"], "nested": {"x": 1}, "n": 3});
        let mut context = RequestContext::default();
        add_claims(
            &mut context,
            "login.example.com",
            claims.as_object().unwrap(),
        );
        assert_eq!(context.get("login.example.com:sub").unwrap(), ["u1"]);
        assert_eq!(
            context.get("login.example.com:amr").unwrap(),
            ["pwd", "mfa"]
        );
        assert_eq!(context.get("login.example.com:n").unwrap(), ["3"]);
        assert!(context.get("login.example.com:nested").is_none());
    }
}
