//! Reading directory files: every `*.yaml`, `*.yml` and `*.json` file in the directory
//! folder (or one file), in name order, each with a top-level `accounts:` list.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::types::{AccountId, RoleName, role_arn, validate_path};
use super::{Account, Directory, DirectoryError, DirectoryProblem, LinkedProvider, Origin, Role};
use crate::policy::{Policy, PolicyKind, counted_size};

/// AWS managed policies every directory has, by name.
const BUILTIN_POLICIES: [(&str, &str); 4] = [
    (
        "AdministratorAccess",
        include_str!("builtin/AdministratorAccess.json"),
    ),
    (
        "PowerUserAccess",
        include_str!("builtin/PowerUserAccess.json"),
    ),
    (
        "ReadOnlyAccess",
        include_str!("builtin/ReadOnlyAccess.json"),
    ),
    (
        "ViewOnlyAccess",
        include_str!("builtin/ViewOnlyAccess.json"),
    ),
];

/// IAM's limits on a role.
const MAX_MANAGED_POLICIES: usize = 20;
const MAX_INLINE_POLICY_SIZE: usize = 10_240;
const MAX_TAGS: usize = 50;
const MIN_SESSION: u64 = 3_600;
const MAX_SESSION: u64 = 43_200;
/// IAM: client ids one OIDC identity provider accepts.
const MAX_AUDIENCES: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    accounts: Vec<Spanned<RawAccount>>,
}

/// An account id may be written quoted or as a bare number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IdText {
    Text(String),
    Number(u64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    id: Spanned<IdText>,
    alias: Spanned<String>,
    name: Option<String>,
    colour: Option<Spanned<String>>,
    #[serde(default)]
    identity_providers: Vec<Spanned<RawIdentityProvider>>,
    #[serde(default)]
    policies: Vec<Spanned<RawPolicy>>,
    #[serde(default)]
    roles: Vec<Spanned<RawRole>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIdentityProvider {
    /// `saml-provider/<name>`.
    saml: Option<String>,
    /// `oidc-provider/<host and path>`.
    oidc: Option<String>,
    /// The configured IdP it stands for.
    idp: String,
    /// OIDC only: client ids accepted as `aud` besides the IdP's own.
    #[serde(default)]
    audiences: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: Spanned<String>,
    document: Option<Spanned<serde_json::Value>>,
    document_file: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    name: Spanned<String>,
    path: Option<Spanned<String>>,
    #[serde(default)]
    description: String,
    trust_policy: Option<Spanned<serde_json::Value>>,
    trust_policy_file: Option<Spanned<String>>,
    #[serde(default)]
    managed_policies: Vec<Spanned<String>>,
    #[serde(default)]
    inline_policies: Vec<Spanned<RawPolicy>>,
    permissions_boundary: Option<Spanned<String>>,
    max_session_duration: Option<Spanned<u64>>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

fn line<T>(spanned: &Spanned<T>) -> u32 {
    u32::try_from(spanned.referenced.line()).unwrap_or(u32::MAX)
}

/// Collects problems while building.
struct Builder {
    problems: Vec<DirectoryProblem>,
    policies: HashMap<String, Policy>,
}

impl Builder {
    fn problem(&mut self, file: &Path, line: Option<u32>, reason: impl Into<String>) {
        self.problems.push(DirectoryProblem {
            file: file.to_owned(),
            line,
            reason: reason.into(),
        });
    }
}

/// The files to read: `path` itself, or the YAML/JSON files in it, in name order.
fn files(path: &Path) -> Result<Vec<PathBuf>, DirectoryProblem> {
    let unreadable = |e: std::io::Error| DirectoryProblem {
        file: path.to_owned(),
        line: None,
        reason: format!("cannot read: {e}"),
    };
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(unreadable)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "json")
                )
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Loads the directory at `path` (a folder or one file).
pub fn load(path: &Path) -> Result<Directory, DirectoryError> {
    let files = files(path).map_err(|p| DirectoryError { problems: vec![p] })?;
    let mut sources = Vec::with_capacity(files.len());
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => sources.push((file, text)),
            Err(e) => {
                return Err(DirectoryError {
                    problems: vec![DirectoryProblem {
                        file,
                        line: None,
                        reason: format!("cannot read: {e}"),
                    }],
                });
            }
        }
    }
    load_sources(&sources)
}

/// Builds the directory from files given as `(path, text)`; `document_file` references
/// resolve against each path's folder.
pub fn load_sources(sources: &[(PathBuf, String)]) -> Result<Directory, DirectoryError> {
    let mut builder = Builder {
        problems: Vec::new(),
        policies: HashMap::new(),
    };
    for (name, text) in BUILTIN_POLICIES {
        let arn = format!("arn:aws:iam::aws:policy/{name}");
        match Policy::parse(text, PolicyKind::Managed, &arn) {
            Ok(policy) => {
                builder.policies.insert(arn, policy);
            }
            Err(e) => builder.problem(Path::new(name), None, format!("built-in policy: {e}")),
        }
    }
    let mut raw_accounts = Vec::new();
    for (file, text) in sources {
        match serde_saphyr::from_str::<RawFile>(text) {
            Ok(raw) => raw_accounts.extend(raw.accounts.into_iter().map(|a| (file.clone(), a))),
            Err(e) => {
                let line = e
                    .location()
                    .map(|l| u32::try_from(l.line()).unwrap_or(u32::MAX));
                builder.problem(file, line, e.without_snippet().to_string());
            }
        }
    }
    // Customer managed policies first, so roles in any file can attach them.
    let mut accounts = Vec::new();
    for (file, raw) in &raw_accounts {
        if let Some(id) = builder.account_id(file, &raw.value.id) {
            builder.customer_policies(file, &id, &raw.value.policies);
        }
    }
    for (file, raw) in raw_accounts {
        if let Some(account) = builder.account(&file, raw) {
            accounts.push(account);
        }
    }
    builder.check_unique(&accounts);
    if !builder.problems.is_empty() {
        return Err(DirectoryError {
            problems: builder.problems,
        });
    }
    accounts.sort_by(|a, b| a.alias.cmp(&b.alias));
    let by_id = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.clone(), i))
        .collect();
    let by_alias = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.alias.clone(), i))
        .collect();
    let trust_keys = accounts
        .iter()
        .flat_map(|a| a.roles.iter())
        .flat_map(|r| r.trust_policy.referenced_keys())
        .collect();
    Ok(Directory {
        accounts,
        by_id,
        by_alias,
        policies: builder.policies,
        trust_keys,
    })
}

impl Builder {
    fn account_id(&mut self, file: &Path, raw: &Spanned<IdText>) -> Option<AccountId> {
        let text = match &raw.value {
            IdText::Text(text) => text.clone(),
            IdText::Number(n) if n.to_string().len() == 12 => n.to_string(),
            IdText::Number(n) => {
                self.problem(
                    file,
                    Some(line(raw)),
                    format!("account id {n} has fewer than 12 digits: quote it, e.g. id: \"0{n}\""),
                );
                return None;
            }
        };
        AccountId::parse(&text)
            .map_err(|e| self.problem(file, Some(line(raw)), e))
            .ok()
    }

    fn customer_policies(&mut self, file: &Path, account: &AccountId, raw: &[Spanned<RawPolicy>]) {
        for policy in raw {
            let name = &policy.value.name;
            if !valid_policy_name(&name.value) {
                self.problem(
                    file,
                    Some(line(name)),
                    format!(
                        "`{}` is not a policy name (1-128 of letters, digits, +=,.@_-)",
                        name.value
                    ),
                );
                continue;
            }
            let arn = format!("arn:aws:iam::{account}:policy/{}", name.value);
            let parsed =
                self.policy_document(file, &policy.value, &arn, PolicyKind::Managed, line(policy));
            if let Some(parsed) = parsed
                && self.policies.insert(arn.clone(), parsed).is_some()
            {
                self.problem(
                    file,
                    Some(line(name)),
                    format!("policy `{arn}` is defined twice"),
                );
            }
        }
    }

    /// The document of a policy entry (`document` or `document_file`), parsed as `kind`.
    fn policy_document(
        &mut self,
        file: &Path,
        raw: &RawPolicy,
        arn: &str,
        kind: PolicyKind,
        at: u32,
    ) -> Option<Policy> {
        let (text, at) = match (&raw.document, &raw.document_file) {
            (Some(document), None) => (document.value.to_string(), line(document)),
            (None, Some(path)) => self.read_relative(file, path)?,
            _ => {
                self.problem(
                    file,
                    Some(at),
                    format!(
                        "policy `{}` needs `document` or `document_file` (one of them)",
                        raw.name.value
                    ),
                );
                return None;
            }
        };
        self.parse_policy(file, &text, kind, arn, at)
    }

    fn read_relative(&mut self, file: &Path, relative: &Spanned<String>) -> Option<(String, u32)> {
        let path = file
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&relative.value);
        match std::fs::read_to_string(&path) {
            Ok(text) => Some((text, line(relative))),
            Err(e) => {
                self.problem(
                    file,
                    Some(line(relative)),
                    format!("cannot read `{}`: {e}", path.display()),
                );
                None
            }
        }
    }

    fn parse_policy(
        &mut self,
        file: &Path,
        text: &str,
        kind: PolicyKind,
        name: &str,
        at: u32,
    ) -> Option<Policy> {
        match Policy::parse(text, kind, name) {
            Ok(policy) => Some(policy),
            Err(error) => {
                for finding in error.findings {
                    self.problem(
                        file,
                        Some(at),
                        format!("`{name}`: {}: {}", finding.path, finding.reason),
                    );
                }
                None
            }
        }
    }

    fn account(&mut self, file: &Path, raw: Spanned<RawAccount>) -> Option<Account> {
        let at = line(&raw);
        let raw = raw.value;
        let id = self.account_id(file, &raw.id)?;
        let alias = raw.alias.value.clone();
        if !valid_alias(&alias) {
            self.problem(
                file,
                Some(line(&raw.alias)),
                format!("alias `{alias}` must be 3-63 characters of a-z, 0-9 and -"),
            );
        }
        let colour = match &raw.colour {
            Some(c) if valid_colour(&c.value) => c.value.clone(),
            Some(c) => {
                self.problem(
                    file,
                    Some(line(c)),
                    format!("colour `{}` must be #rrggbb", c.value),
                );
                String::new()
            }
            None => "#546e7a".to_owned(),
        };
        let identity_providers = self.identity_providers(file, &id, &raw.identity_providers);
        let roles = raw
            .roles
            .into_iter()
            .filter_map(|r| self.role(file, &id, r))
            .collect::<Vec<_>>();
        let mut seen = std::collections::HashSet::new();
        for role in &roles {
            if !seen.insert(role.name.as_str().to_ascii_lowercase()) {
                self.problem(
                    file,
                    Some(role.origin.line),
                    format!(
                        "role `{}` is defined twice in account {id} (names are case-insensitive)",
                        role.name
                    ),
                );
            }
        }
        Some(Account {
            display_name: raw.name.unwrap_or_else(|| alias.clone()),
            alias,
            colour,
            roles,
            identity_providers,
            origin: Origin {
                file: file.into(),
                line: at,
            },
            id,
        })
    }

    fn identity_providers(
        &mut self,
        file: &Path,
        account: &AccountId,
        raw: &[Spanned<RawIdentityProvider>],
    ) -> BTreeMap<String, LinkedProvider> {
        let mut providers = BTreeMap::new();
        for entry in raw {
            let at = Some(line(entry));
            let arn = match (&entry.value.saml, &entry.value.oidc) {
                (Some(name), None)
                    if !name.is_empty()
                        && name.len() <= 128
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) =>
                {
                    format!("arn:aws:iam::{account}:saml-provider/{name}")
                }
                (None, Some(host))
                    if !host.is_empty()
                        && !host.contains("://")
                        && !host.contains(char::is_whitespace) =>
                {
                    format!("arn:aws:iam::{account}:oidc-provider/{host}")
                }
                (Some(name), None) => {
                    self.problem(
                        file,
                        at,
                        format!("`{name}` is not a SAML provider name (letters, digits, ._-)"),
                    );
                    continue;
                }
                (None, Some(host)) => {
                    self.problem(file, at, format!("`{host}` is not an OIDC provider: write the issuer's host and path, without https://"));
                    continue;
                }
                _ => {
                    self.problem(file, at, "an identity provider entry needs `saml: <name>` or `oidc: <host>` (one of them)");
                    continue;
                }
            };
            let Some(audiences) = self.audiences(file, at, &entry.value) else {
                continue;
            };
            if providers
                .insert(entry.value.idp.clone(), LinkedProvider { arn, audiences })
                .is_some()
            {
                self.problem(
                    file,
                    at,
                    format!(
                        "identity provider `{}` is linked twice in account {account}",
                        entry.value.idp
                    ),
                );
            }
        }
        providers
    }

    /// An entry's extra audiences: OIDC only, IAM's limits (100 client ids of 1–255 characters).
    fn audiences(
        &mut self,
        file: &Path,
        at: Option<u32>,
        entry: &RawIdentityProvider,
    ) -> Option<Vec<String>> {
        if entry.audiences.is_empty() {
            return Some(Vec::new());
        }
        if entry.oidc.is_none() {
            self.problem(
                file,
                at,
                "`audiences` belongs to an `oidc:` provider entry only",
            );
            return None;
        }
        if entry.audiences.len() > MAX_AUDIENCES {
            self.problem(
                file,
                at,
                format!(
                    "`audiences` lists {} client ids; IAM allows {MAX_AUDIENCES}",
                    entry.audiences.len()
                ),
            );
            return None;
        }
        if let Some(bad) = entry
            .audiences
            .iter()
            .find(|a| a.is_empty() || a.len() > 255 || a.chars().any(char::is_whitespace))
        {
            self.problem(
                file,
                at,
                format!("audience `{bad}` is not a client id (1–255 characters, no spaces)"),
            );
            return None;
        }
        Some(entry.audiences.clone())
    }

    fn role(&mut self, file: &Path, account: &AccountId, raw: Spanned<RawRole>) -> Option<Role> {
        let at = line(&raw);
        let raw = raw.value;
        let before = self.problems.len();
        let name = RoleName::parse(&raw.name.value)
            .map_err(|e| self.problem(file, Some(line(&raw.name)), e))
            .ok();
        let path = raw
            .path
            .as_ref()
            .map_or_else(|| "/".to_owned(), |p| p.value.clone());
        if let Err(e) = validate_path(&path) {
            self.problem(file, raw.path.as_ref().map(line), e);
        }
        let name = name?;
        let arn = role_arn(account, &path, &name);
        let trust_policy = match (&raw.trust_policy, &raw.trust_policy_file) {
            (Some(doc), None) => self.parse_policy(
                file,
                &doc.value.to_string(),
                PolicyKind::Trust,
                &format!("{arn} trust policy"),
                line(doc),
            ),
            (None, Some(path)) => self.read_relative(file, path).and_then(|(text, at)| {
                self.parse_policy(
                    file,
                    &text,
                    PolicyKind::Trust,
                    &format!("{arn} trust policy"),
                    at,
                )
            }),
            _ => {
                self.problem(
                    file,
                    Some(at),
                    format!(
                        "role `{name}` needs `trust_policy` or `trust_policy_file` (one of them)"
                    ),
                );
                None
            }
        };
        if raw.managed_policies.len() > MAX_MANAGED_POLICIES {
            self.problem(file, Some(at), format!("role `{name}` attaches {} managed policies; IAM allows at most {MAX_MANAGED_POLICIES}", raw.managed_policies.len()));
        }
        for policy in raw
            .managed_policies
            .iter()
            .chain(raw.permissions_boundary.iter())
        {
            if !self.policies.contains_key(&policy.value) {
                self.problem(
                    file,
                    Some(line(policy)),
                    format!(
                        "managed policy `{}` is not in the directory (nor an AWS managed policy)",
                        policy.value
                    ),
                );
            }
        }
        let inline_policies: Vec<Policy> = raw
            .inline_policies
            .iter()
            .filter_map(|p| {
                self.policy_document(
                    file,
                    &p.value,
                    &format!("{arn} inline policy {}", p.value.name.value),
                    PolicyKind::Inline,
                    line(p),
                )
            })
            .collect();
        let inline_size: usize = inline_policies
            .iter()
            .map(|p| counted_size(&p.source))
            .sum();
        if inline_size > MAX_INLINE_POLICY_SIZE {
            self.problem(file, Some(at), format!("role `{name}`: inline policies total {inline_size} characters; IAM allows {MAX_INLINE_POLICY_SIZE}"));
        }
        let max_session = raw
            .max_session_duration
            .as_ref()
            .map_or(MIN_SESSION, |d| d.value);
        if !(MIN_SESSION..=MAX_SESSION).contains(&max_session) {
            self.problem(
                file,
                raw.max_session_duration.as_ref().map(line),
                format!(
                    "max_session_duration {max_session} must be 3600-43200 seconds (1-12 hours)"
                ),
            );
        }
        self.check_tags(file, at, &raw.tags);
        if self.problems.len() > before {
            return None;
        }
        Some(Role {
            arn,
            name,
            path,
            description: raw.description,
            trust_policy: trust_policy?,
            managed_policy_arns: raw.managed_policies.into_iter().map(|p| p.value).collect(),
            inline_policies,
            permissions_boundary: raw.permissions_boundary.map(|p| p.value),
            max_session_duration: Duration::from_secs(max_session),
            tags: raw.tags,
            origin: Origin {
                file: file.into(),
                line: at,
            },
        })
    }

    fn check_tags(&mut self, file: &Path, at: u32, tags: &BTreeMap<String, String>) {
        if tags.len() > MAX_TAGS {
            self.problem(
                file,
                Some(at),
                format!("{} tags; IAM allows at most {MAX_TAGS}", tags.len()),
            );
        }
        for (key, value) in tags {
            if let Err(e) = crate::directory::validate_tag(key, value) {
                self.problem(file, Some(at), e);
            }
        }
    }

    fn check_unique(&mut self, accounts: &[Account]) {
        let mut ids: HashMap<&AccountId, &Origin> = HashMap::new();
        let mut aliases: HashMap<&str, &Origin> = HashMap::new();
        for account in accounts {
            if let Some(first) = ids.insert(&account.id, &account.origin) {
                self.problem(
                    &account.origin.file,
                    Some(account.origin.line),
                    format!("account {} is also defined at {first}", account.id),
                );
            }
            if let Some(first) = aliases.insert(&account.alias, &account.origin) {
                self.problem(
                    &account.origin.file,
                    Some(account.origin.line),
                    format!("alias `{}` is also used at {first}", account.alias),
                );
            }
        }
    }
}

fn valid_alias(alias: &str) -> bool {
    (3..=63).contains(&alias.len())
        && alias
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !alias.starts_with('-')
        && !alias.ends_with('-')
}

fn valid_colour(colour: &str) -> bool {
    colour.len() == 7
        && colour.starts_with('#')
        && colour.chars().skip(1).all(|c| c.is_ascii_hexdigit())
}

fn valid_policy_name(name: &str) -> bool {
    (1..=128).contains(&name.len()) && name.chars().all(super::is_iam_name_char)
}
