//! The directory: accounts, their roles, customer managed policies, the identity-provider
//! principals that link a configured IdP to an account's trust policies, and AWS-style
//! managed policies. Loaded from YAML or JSON files; policies are IAM JSON.
//!
//! Knows nothing of HTTP or sessions.

mod error;
mod load;
mod types;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

pub use error::{DirectoryError, DirectoryProblem};
pub use load::{load, load_sources};
pub use types::{AccountId, RoleName, is_iam_name_char, role_arn, validate_path};

use crate::policy::Policy;

/// Where something was defined: file and line, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file (shared: every rule and role of a file names it).
    pub file: std::sync::Arc<std::path::Path>,
    /// 1-based line.
    pub line: u32,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One account.
#[derive(Debug, Clone)]
pub struct Account {
    /// The 12-digit id.
    pub id: AccountId,
    /// A short lowercase name, unique, used in rules and URLs.
    pub alias: String,
    /// What people see.
    pub display_name: String,
    /// A CSS colour for the account's badge, e.g. `#2e7d32`.
    pub colour: String,
    /// The roles, in file order.
    pub roles: Vec<Role>,
    /// Federated principals: configured IdP name → its provider in this account.
    pub identity_providers: BTreeMap<String, LinkedProvider>,
    /// Where it was defined.
    pub origin: Origin,
}

/// A configured IdP as an account's IAM identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedProvider {
    /// `arn:aws:iam::<account>:saml-provider/<name>` or `…:oidc-provider/<host and path>`.
    pub arn: String,
    /// For an OIDC provider, the audiences (client ids) `AssumeRoleWithWebIdentity` accepts
    /// besides the IdP's own client id, like the client id list of an IAM OIDC provider.
    pub audiences: Vec<String>,
}

/// One role.
#[derive(Debug, Clone)]
pub struct Role {
    /// `arn:aws:iam::<account>:role/<path><name>`.
    pub arn: String,
    /// The name.
    pub name: RoleName,
    /// The path, `/` by default.
    pub path: String,
    /// What the role is for.
    pub description: String,
    /// Who may assume it.
    pub trust_policy: Policy,
    /// Attached managed policies (ARNs, all known to the directory).
    pub managed_policy_arns: Vec<String>,
    /// Inline policies.
    pub inline_policies: Vec<Policy>,
    /// The permissions boundary (a managed policy ARN).
    pub permissions_boundary: Option<String>,
    /// The longest session (1 to 12 hours).
    pub max_session_duration: Duration,
    /// Role tags.
    pub tags: BTreeMap<String, String>,
    /// Where it was defined.
    pub origin: Origin,
}

/// Every account, role and policy.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    accounts: Vec<Account>,
    by_id: HashMap<AccountId, usize>,
    by_alias: HashMap<String, usize>,
    policies: HashMap<String, Policy>,
    /// Every context key (lowercase) some role's trust policy reads.
    trust_keys: std::collections::HashSet<String>,
}

impl Directory {
    /// The accounts, sorted by alias.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// The account with this id or alias.
    pub fn account(&self, id_or_alias: &str) -> Option<&Account> {
        let index = self
            .by_id
            .get(id_or_alias)
            .or_else(|| self.by_alias.get(id_or_alias))?;
        self.accounts.get(*index)
    }

    /// The role `name` in `account` (id or alias).
    pub fn role(&self, account: &str, name: &str) -> Option<(&Account, &Role)> {
        let account = self.account(account)?;
        let role = account.roles.iter().find(|r| r.name.as_str() == name)?;
        Some((account, role))
    }

    /// The role with this ARN.
    pub fn role_by_arn(&self, arn: &str) -> Option<(&Account, &Role)> {
        let account_id = crate::policy::Arn::parse(arn)?.account;
        let account = self.account(account_id)?;
        let role = account.roles.iter().find(|r| r.arn == arn)?;
        Some((account, role))
    }

    /// A managed policy (customer or AWS) by ARN.
    pub fn policy(&self, arn: &str) -> Option<&Policy> {
        self.policies.get(arn)
    }

    /// Whether some trust policy reads the context key `lowercase_key`.
    pub fn trust_reads(&self, lowercase_key: &str) -> bool {
        self.trust_keys.contains(lowercase_key)
    }

    /// Every role with its account.
    pub fn roles(&self) -> impl Iterator<Item = (&Account, &Role)> {
        self.accounts
            .iter()
            .flat_map(|a| a.roles.iter().map(move |r| (a, r)))
    }
}

/// Checks an IAM tag: key 1–128 and value 0–256 characters of letters, digits, white space
/// and `_ . : / = + - @`.
pub fn validate_tag(key: &str, value: &str) -> Result<(), String> {
    let allowed = |c: char| {
        c.is_alphanumeric()
            || c.is_whitespace()
            || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
    };
    let key_length = key.chars().count();
    if !(1..=128).contains(&key_length) || !key.chars().all(allowed) {
        return Err(format!(
            "tag key `{key}` must be 1-128 characters of letters, digits, spaces and _.:/=+-@"
        ));
    }
    if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
        return Err(format!("tag key `{key}`: the `aws:` prefix is reserved"));
    }
    if value.chars().count() > 256 || !value.chars().all(allowed) {
        return Err(format!(
            "tag `{key}`: value must be at most 256 characters of letters, digits, spaces and _.:/=+-@"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
