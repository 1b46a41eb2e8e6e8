//! Who makes a request, and the `Principal` / `NotPrincipal` element that names them.

use super::arn::Arn;

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A role session: `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    AssumedRole {
        /// The session ARN.
        session_arn: String,
        /// The account.
        account: String,
        /// The role's name (the session ARN carries no path).
        role_name: String,
    },
    /// An IAM role itself: `arn:aws:iam::<account>:role/<path><name>`.
    Role {
        /// The role ARN.
        arn: String,
        /// The account.
        account: String,
    },
    /// An IAM user.
    User {
        /// The user ARN.
        arn: String,
        /// The account.
        account: String,
    },
    /// An account's root: `arn:aws:iam::<account>:root`.
    Root {
        /// The account.
        account: String,
    },
    /// A federated identity provider: a `saml-provider/…` or `oidc-provider/…` ARN, or a
    /// well-known provider host such as `accounts.google.com`.
    Federated {
        /// The provider ARN or host.
        provider: String,
    },
    /// An AWS service, e.g. `ec2.amazonaws.com`.
    Service(String),
    /// No principal at all (anonymous).
    Anonymous,
}

impl std::fmt::Display for Principal {
    /// The principal as a policy names it: its ARN, provider, service or `account:root`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::AssumedRole { session_arn, .. } => f.write_str(session_arn),
            Principal::Role { arn, .. } | Principal::User { arn, .. } => f.write_str(arn),
            Principal::Root { account } => write!(f, "arn:aws:iam::{account}:root"),
            Principal::Federated { provider } => f.write_str(provider),
            Principal::Service(service) => f.write_str(service),
            Principal::Anonymous => f.write_str("anonymous"),
        }
    }
}

impl Principal {
    /// Reads a caller ARN: an assumed-role session, role, user, root, or federated provider.
    pub fn from_arn(text: &str) -> Result<Self, String> {
        let arn = Arn::parse(text).ok_or_else(|| format!("`{text}` is not an ARN"))?;
        let account = arn.account.to_owned();
        let resource = arn.resource;
        match (arn.service, resource.split_once('/')) {
            ("sts", Some(("assumed-role", rest))) => {
                let (role_name, _session) = rest.split_once('/').ok_or_else(|| {
                    format!("`{text}`: an assumed-role ARN ends in <role>/<session>")
                })?;
                Ok(Principal::AssumedRole {
                    session_arn: text.to_owned(),
                    account,
                    role_name: role_name.to_owned(),
                })
            }
            ("iam", Some(("role", _))) => Ok(Principal::Role {
                arn: text.to_owned(),
                account,
            }),
            ("iam", Some(("user", _))) => Ok(Principal::User {
                arn: text.to_owned(),
                account,
            }),
            ("iam", Some(("saml-provider" | "oidc-provider", _))) => Ok(Principal::Federated {
                provider: text.to_owned(),
            }),
            ("iam", None) if resource == "root" => Ok(Principal::Root { account }),
            _ => Err(format!(
                "`{text}` is not a role session, role, user, root or identity-provider ARN"
            )),
        }
    }

    /// The caller's account, when it has one.
    pub fn account(&self) -> Option<&str> {
        match self {
            Principal::AssumedRole { account, .. }
            | Principal::Role { account, .. }
            | Principal::User { account, .. }
            | Principal::Root { account } => Some(account),
            Principal::Federated { provider } => Arn::parse(provider).map(|a| a.account),
            Principal::Service(_) | Principal::Anonymous => None,
        }
    }

    /// The ARN used for `aws:PrincipalArn`: for a session, its role's ARN is not known
    /// without the path, so the session ARN is used.
    pub fn arn(&self) -> Option<&str> {
        match self {
            Principal::AssumedRole { session_arn, .. } => Some(session_arn),
            Principal::Role { arn, .. } | Principal::User { arn, .. } => Some(arn),
            Principal::Federated { provider } => Some(provider),
            Principal::Root { .. } | Principal::Service(_) | Principal::Anonymous => None,
        }
    }
}

/// How a `Principal` element matched a caller; resource policies treat these differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalMatch {
    /// Through the caller's account (`"AWS": "123456789012"` or its root ARN): delegation
    /// to that account's own policies.
    Account,
    /// Through the caller's role ARN: the role's sessions, still limited by their
    /// permissions boundary and session policies.
    Role,
    /// The caller exactly: session ARN, user ARN, `*`, a federated provider, a service.
    Direct,
}

/// The principals a `Principal` element names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrincipalSet {
    /// `"Principal": "*"` or `{"AWS": "*"}`.
    pub everyone: bool,
    /// `AWS` values: account ids and ARNs.
    pub aws: Vec<String>,
    /// `Federated` values.
    pub federated: Vec<String>,
    /// `Service` values.
    pub service: Vec<String>,
    /// `CanonicalUser` values.
    pub canonical_user: Vec<String>,
}

impl PrincipalSet {
    /// How this set matches `caller`, if it does (the strongest way).
    pub fn matches(&self, caller: &Principal) -> Option<PrincipalMatch> {
        if self.everyone {
            return Some(PrincipalMatch::Direct);
        }
        match caller {
            Principal::Federated { provider } => self
                .federated
                .iter()
                .any(|f| f == provider || oidc_host(provider) == Some(f.as_str()))
                .then_some(PrincipalMatch::Direct),
            Principal::Service(service) => self
                .service
                .contains(service)
                .then_some(PrincipalMatch::Direct),
            Principal::Anonymous => None,
            _ => self
                .aws
                .iter()
                .filter_map(|value| aws_match(value, caller))
                .max(),
        }
    }
}

/// `token.actions.githubusercontent.com` from `arn:aws:iam::1:oidc-provider/token.actions…`.
fn oidc_host(provider: &str) -> Option<&str> {
    Arn::parse(provider)?
        .resource
        .strip_prefix("oidc-provider/")
}

fn aws_match(value: &str, caller: &Principal) -> Option<PrincipalMatch> {
    let caller_account = caller.account()?;
    if value == caller_account {
        return Some(PrincipalMatch::Account);
    }
    let arn = Arn::parse(value)?;
    if arn.service == "iam" && arn.resource == "root" {
        return (arn.account == caller_account).then_some(PrincipalMatch::Account);
    }
    match caller {
        Principal::AssumedRole {
            session_arn,
            account,
            role_name,
        } => {
            if value == session_arn {
                return Some(PrincipalMatch::Direct);
            }
            let names_role = arn.service == "iam"
                && arn.account == account
                && arn.resource.starts_with("role/")
                && arn.resource.rsplit('/').next() == Some(role_name.as_str());
            names_role.then_some(PrincipalMatch::Role)
        }
        Principal::Role {
            arn: caller_arn, ..
        } => (value == caller_arn).then_some(PrincipalMatch::Role),
        Principal::User {
            arn: caller_arn, ..
        } => (value == caller_arn).then_some(PrincipalMatch::Direct),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Principal {
        Principal::from_arn("arn:aws:sts::123456789012:assumed-role/Admin/alice").unwrap()
    }

    fn aws(values: &[&str]) -> PrincipalSet {
        PrincipalSet {
            aws: values.iter().map(|v| v.to_string()).collect(),
            ..PrincipalSet::default()
        }
    }

    #[test]
    fn session_matches_itself_its_role_and_its_account() {
        let s = session();
        assert_eq!(
            aws(&["arn:aws:sts::123456789012:assumed-role/Admin/alice"]).matches(&s),
            Some(PrincipalMatch::Direct)
        );
        assert_eq!(
            aws(&["arn:aws:iam::123456789012:role/ops/Admin"]).matches(&s),
            Some(PrincipalMatch::Role)
        );
        assert_eq!(
            aws(&["123456789012"]).matches(&s),
            Some(PrincipalMatch::Account)
        );
        assert_eq!(
            aws(&["arn:aws:iam::123456789012:root"]).matches(&s),
            Some(PrincipalMatch::Account)
        );
        assert_eq!(
            aws(&["arn:aws:iam::123456789012:role/Other"]).matches(&s),
            None
        );
        assert_eq!(
            aws(&["arn:aws:iam::999999999999:role/Admin"]).matches(&s),
            None
        );
        assert_eq!(
            aws(&["arn:aws:sts::123456789012:assumed-role/Admin/bob"]).matches(&s),
            None
        );
    }

    #[test]
    fn federated_matches_by_arn_or_oidc_host() {
        let caller =
            Principal::from_arn("arn:aws:iam::123456789012:oidc-provider/login.example.com")
                .unwrap();
        let by_arn = PrincipalSet {
            federated: vec!["arn:aws:iam::123456789012:oidc-provider/login.example.com".into()],
            ..Default::default()
        };
        let by_host = PrincipalSet {
            federated: vec!["login.example.com".into()],
            ..Default::default()
        };
        assert_eq!(by_arn.matches(&caller), Some(PrincipalMatch::Direct));
        assert_eq!(by_host.matches(&caller), Some(PrincipalMatch::Direct));
        assert_eq!(
            aws(&["123456789012"]).matches(&caller),
            None,
            "an AWS principal is not a federated one"
        );
    }

    #[test]
    fn bad_caller_arns_are_rejected() {
        assert!(Principal::from_arn("arn:aws:sts::1:assumed-role/NoSession").is_err());
        assert!(Principal::from_arn("arn:aws:s3:::bucket").is_err());
        assert!(Principal::from_arn("alice").is_err());
    }
}
