//! The STS Query API's wire format: parameters in (form body or query string), AWS's XML
//! out, for every success and error shape rolegate answers with.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::assume::{AssumeRequest, RoleSession};
use super::error::{StsError, StsErrorCode};
use crate::policy::iso8601;

/// The only API version.
pub const VERSION: &str = "2011-06-15";
/// The XML namespace of every answer.
const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// The longest web identity token accepted (AWS's limit).
pub const MAX_WEB_IDENTITY_TOKEN: usize = 20_000;
/// The longest `SAMLAssertion` STS takes (base64).
pub const MAX_SAML_ASSERTION: usize = 100_000;

/// A request's parameters, each name once.
#[derive(Debug, Default)]
pub struct Parameters(BTreeMap<String, String>);

impl Parameters {
    /// Reads form-encoded `text`; a parameter named twice is refused.
    pub fn parse(text: &[u8]) -> Result<Self, StsError> {
        let mut parameters = BTreeMap::new();
        for (name, value) in url::form_urlencoded::parse(text) {
            if parameters
                .insert(name.clone().into_owned(), value.into_owned())
                .is_some()
            {
                return Err(StsError::new(
                    StsErrorCode::InvalidParameterValue,
                    format!("The parameter {name} is given more than once"),
                ));
            }
        }
        Ok(Self(parameters))
    }

    /// The value of `name`, when given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The value of `name`, which must be given.
    pub fn required(&self, name: &str) -> Result<&str, StsError> {
        self.get(name).ok_or_else(|| {
            StsError::new(
                StsErrorCode::MissingParameter,
                format!("The request must contain the parameter {name}"),
            )
        })
    }

    /// `prefix.1`, `prefix.2`, … in order, until one is missing.
    fn members(&self, prefix: &str, suffix: &str) -> Vec<String> {
        (1..)
            .map_while(|n| {
                self.get(&format!("{prefix}.member.{n}{suffix}"))
                    .map(str::to_owned)
            })
            .collect()
    }

    /// A whole number parameter.
    fn number(&self, name: &str) -> Result<Option<u64>, StsError> {
        self.get(name)
            .map(|text| {
                text.parse::<u64>().map_err(|_| {
                    StsError::new(
                        StsErrorCode::ValidationError,
                        format!("1 validation error detected: Value '{text}' at '{name}' failed to satisfy constraint: Member must be a number"),
                    )
                })
            })
            .transpose()
    }
}

/// What a request asks for.
#[derive(Debug)]
pub enum Action {
    /// `AssumeRoleWithWebIdentity`: the token, and the session asked for.
    AssumeRoleWithWebIdentity {
        /// `WebIdentityToken`.
        token: String,
        /// The rest.
        request: Box<AssumeRequest>,
    },
    /// `AssumeRoleWithSAML`: the base64 assertion, the SAML provider's ARN, and the session
    /// asked for (its name, tags and source identity come from the assertion).
    AssumeRoleWithSaml {
        /// `SAMLAssertion`: a base64 `samlp:Response`.
        assertion: String,
        /// `PrincipalArn`: `arn:aws:iam::<account>:saml-provider/<name>`.
        principal_arn: String,
        /// `RoleArn`, `DurationSeconds`, `Policy`, `PolicyArns`.
        request: Box<AssumeRequest>,
    },
    /// `AssumeRole`, signed with a role session's credentials (role chaining).
    AssumeRole {
        /// The session asked for.
        request: Box<AssumeRequest>,
    },
    /// `GetCallerIdentity`.
    GetCallerIdentity,
}

impl Action {
    /// Reads `Action`, `Version` and the action's parameters.
    pub fn parse(parameters: &Parameters) -> Result<Self, StsError> {
        let action = parameters.required("Action")?;
        let version = parameters.get("Version").unwrap_or_default();
        if version != VERSION {
            return Err(StsError::new(
                StsErrorCode::InvalidAction,
                format!("Could not find operation {action} for version {version}"),
            ));
        }
        match action {
            "AssumeRoleWithWebIdentity" => {
                let token = parameters.required("WebIdentityToken")?;
                if token.len() < 4 || token.len() > MAX_WEB_IDENTITY_TOKEN {
                    return Err(StsError::new(
                        StsErrorCode::ValidationError,
                        format!(
                            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between 4 and {MAX_WEB_IDENTITY_TOKEN}"
                        ),
                    ));
                }
                Ok(Self::AssumeRoleWithWebIdentity {
                    token: token.to_owned(),
                    request: Box::new(assume_request(parameters)?),
                })
            }
            "AssumeRoleWithSAML" => {
                let assertion = parameters.required("SAMLAssertion")?;
                if assertion.len() < 4 || assertion.len() > MAX_SAML_ASSERTION {
                    return Err(StsError::new(
                        StsErrorCode::ValidationError,
                        format!(
                            "1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length between 4 and {MAX_SAML_ASSERTION}"
                        ),
                    ));
                }
                let principal_arn = parameters.required("PrincipalArn")?;
                if principal_arn.len() < 20 || principal_arn.len() > 2048 {
                    return Err(StsError::new(
                        StsErrorCode::ValidationError,
                        "1 validation error detected: Value at 'principalArn' failed to satisfy constraint: Member must have length between 20 and 2048",
                    ));
                }
                Ok(Self::AssumeRoleWithSaml {
                    assertion: assertion.to_owned(),
                    principal_arn: principal_arn.to_owned(),
                    request: Box::new(AssumeRequest {
                        role_arn: parameters.required("RoleArn")?.to_owned(),
                        duration_seconds: parameters.number("DurationSeconds")?,
                        policy: parameters.get("Policy").map(str::to_owned),
                        policy_arns: parameters.members("PolicyArns", ".arn"),
                        ..AssumeRequest::default()
                    }),
                })
            }
            "AssumeRole" => {
                if parameters.get("SerialNumber").is_some() || parameters.get("TokenCode").is_some()
                {
                    return Err(StsError::new(
                        StsErrorCode::ValidationError,
                        "MFA devices are not supported: the second factor is the one the identity provider checked",
                    ));
                }
                Ok(Self::AssumeRole {
                    request: Box::new(assume_request(parameters)?),
                })
            }
            "GetCallerIdentity" => Ok(Self::GetCallerIdentity),
            other => Err(StsError::new(
                StsErrorCode::InvalidAction,
                format!("Could not find operation {other} for version {version}"),
            )),
        }
    }

    /// The action's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::AssumeRoleWithWebIdentity { .. } => "AssumeRoleWithWebIdentity",
            Self::AssumeRoleWithSaml { .. } => "AssumeRoleWithSAML",
            Self::AssumeRole { .. } => "AssumeRole",
            Self::GetCallerIdentity => "GetCallerIdentity",
        }
    }
}

/// The parameters every AssumeRole* action shares.
fn assume_request(parameters: &Parameters) -> Result<AssumeRequest, StsError> {
    let keys = parameters.members("Tags", ".Key");
    let values = parameters.members("Tags", ".Value");
    if keys.len() != values.len() {
        return Err(StsError::new(
            StsErrorCode::InvalidParameterValue,
            "Every tag needs both a Key and a Value",
        ));
    }
    Ok(AssumeRequest {
        role_arn: parameters.required("RoleArn")?.to_owned(),
        role_session_name: parameters.required("RoleSessionName")?.to_owned(),
        duration_seconds: parameters.number("DurationSeconds")?,
        policy: parameters.get("Policy").map(str::to_owned),
        policy_arns: parameters.members("PolicyArns", ".arn"),
        tags: keys.into_iter().zip(values).collect(),
        transitive_tag_keys: parameters.members("TransitiveTagKeys", ""),
        source_identity: parameters.get("SourceIdentity").map(str::to_owned),
        external_id: parameters.get("ExternalId").map(str::to_owned),
    })
}

/// Escapes text for XML content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// `<name>text</name>`, escaped.
fn element(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", escape(text));
}

/// `<{Action}Response>` around `result`, with the request id.
fn response(action: &str, result: &str, request_id: &str) -> String {
    let mut out = String::with_capacity(result.len() + 256);
    let _ = write!(
        out,
        "<{action}Response xmlns=\"{NAMESPACE}\">\n  <{action}Result>{result}</{action}Result>\n  \
         <ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata>\n</{action}Response>\n",
        escape(request_id)
    );
    out
}

/// `AssumedRoleUser`, `Credentials`, `PackedPolicySize` and `SourceIdentity` of a session.
fn session_elements(out: &mut String, session: &RoleSession) {
    out.push_str("<AssumedRoleUser>");
    element(out, "AssumedRoleId", &session.assumed_role_id);
    element(out, "Arn", &session.claims.sub);
    out.push_str("</AssumedRoleUser><Credentials>");
    element(
        out,
        "AccessKeyId",
        session.credentials.access_key_id.as_str(),
    );
    element(
        out,
        "SecretAccessKey",
        secrecy::ExposeSecret::expose_secret(&session.credentials.secret_access_key),
    );
    element(out, "SessionToken", &session.credentials.session_token);
    let expiration =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(session.credentials.expiration);
    element(out, "Expiration", &iso8601(expiration));
    out.push_str("</Credentials>");
    if let Some(size) = session.packed_policy_size {
        element(out, "PackedPolicySize", &size.to_string());
    }
    if let Some(source) = &session.claims.srcid {
        element(out, "SourceIdentity", source);
    }
}

/// The `AssumeRoleWithWebIdentity` answer.
pub fn assume_role_with_web_identity_xml(
    session: &RoleSession,
    subject: &str,
    audience: &str,
    request_id: &str,
) -> String {
    let mut result = String::new();
    element(&mut result, "SubjectFromWebIdentityToken", subject);
    element(&mut result, "Audience", audience);
    session_elements(&mut result, session);
    // As IAM answers for an OIDC provider: the provider's ARN in the role's account.
    element(&mut result, "Provider", &session.provider);
    response("AssumeRoleWithWebIdentity", &result, request_id)
}

/// What `AssumeRoleWithSAML` answers about the assertion, beside the session.
#[derive(Debug, Clone, Copy)]
pub struct SamlFacts<'a> {
    /// The NameID.
    pub subject: &'a str,
    /// `persistent`, `transient`, or the NameID format's URI.
    pub subject_type: &'a str,
    /// The IdP's entity id.
    pub issuer: &'a str,
    /// The assertion's recipient: rolegate's ACS URL.
    pub audience: &'a str,
    /// AWS's hash of the issuer, the account and the provider's name.
    pub name_qualifier: &'a str,
}

/// The `AssumeRoleWithSAML` answer.
pub fn assume_role_with_saml_xml(
    session: &RoleSession,
    facts: &SamlFacts<'_>,
    request_id: &str,
) -> String {
    let mut result = String::new();
    element(&mut result, "Issuer", facts.issuer);
    session_elements(&mut result, session);
    element(&mut result, "Subject", facts.subject);
    element(&mut result, "SubjectType", facts.subject_type);
    element(&mut result, "NameQualifier", facts.name_qualifier);
    element(&mut result, "Audience", facts.audience);
    response("AssumeRoleWithSAML", &result, request_id)
}

/// The `AssumeRole` answer.
pub fn assume_role_xml(session: &RoleSession, request_id: &str) -> String {
    let mut result = String::new();
    session_elements(&mut result, session);
    response("AssumeRole", &result, request_id)
}

/// The `GetCallerIdentity` answer.
pub fn get_caller_identity_xml(
    arn: &str,
    user_id: &str,
    account: &str,
    request_id: &str,
) -> String {
    let mut result = String::new();
    element(&mut result, "Arn", arn);
    element(&mut result, "UserId", user_id);
    element(&mut result, "Account", account);
    response("GetCallerIdentity", &result, request_id)
}

/// AWS's error answer.
pub fn error_xml(error: &StsError, request_id: &str) -> String {
    let mut out = format!("<ErrorResponse xmlns=\"{NAMESPACE}\">\n  <Error>");
    element(&mut out, "Type", error.code.fault());
    element(&mut out, "Code", error.code.as_str());
    element(&mut out, "Message", &error.message);
    out.push_str("</Error>\n  ");
    element(&mut out, "RequestId", request_id);
    out.push_str("\n</ErrorResponse>\n");
    out
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::sts::{AccessKeyId, Credentials, OriginalIdentity, SessionClaims};

    fn session() -> RoleSession {
        RoleSession {
            claims: SessionClaims {
                iss: "https://sso.example.com".into(),
                sub: "arn:aws:sts::111122223333:assumed-role/Deployer/deploy-bot".into(),
                iat: 1_796_000_000,
                exp: 1_796_003_600,
                akid: "ASIAEXAMPLE234567ABC".into(),
                role: "arn:aws:iam::111122223333:role/Deployer".into(),
                acct: "111122223333".into(),
                name: "deploy-bot".into(),
                tags: [("team".to_owned(), "ops".to_owned())].into(),
                ttk: Vec::new(),
                srcid: Some("alice".into()),
                orig: OriginalIdentity {
                    idp: "corp".into(),
                    subject: "u-1".into(),
                    issuer: "https://login.example.com".into(),
                },
                pol: None,
                mfa: false,
                chain: false,
            },
            credentials: Credentials {
                access_key_id: AccessKeyId::parse("ASIAEXAMPLE234567ABC").unwrap(),
                secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                session_token: "eyJhbGciOiJFUzI1NiJ9.e30.c2lnbmF0dXJl".into(),
                expiration: 1_796_003_600,
            },
            assumed_role_id: "AROAEXAMPLEEXAMPLE123:deploy-bot".into(),
            packed_policy_size: Some(6),
            session_policies: Vec::new(),
            trusted_by: "trust#Corp".into(),
            provider: "arn:aws:iam::111122223333:oidc-provider/login.example.com".into(),
        }
    }

    #[test]
    fn assume_role_with_web_identity_response_shape() {
        insta::assert_snapshot!(assume_role_with_web_identity_xml(
            &session(),
            "u-1",
            "rolegate",
            "c6104cbe-af31-11e0-8154-cbc7ccf896c7",
        ));
    }

    #[test]
    fn assume_role_with_saml_response_shape() {
        let facts = SamlFacts {
            subject: "dana-7f3e",
            subject_type: "persistent",
            issuer: "https://idp.example.com/saml",
            audience: "https://sso.example.com/saml/acs",
            name_qualifier: "SJyx7cg7k2pdKMXKHMUmVkf+FXI=",
        };
        insta::assert_snapshot!(assume_role_with_saml_xml(
            &session(),
            &facts,
            "c6104cbe-af31-11e0-8154-cbc7ccf896c7",
        ));
    }

    #[test]
    fn assume_role_response_shape() {
        insta::assert_snapshot!(assume_role_xml(
            &session(),
            "c6104cbe-af31-11e0-8154-cbc7ccf896c7"
        ));
    }

    #[test]
    fn get_caller_identity_response_shape() {
        insta::assert_snapshot!(get_caller_identity_xml(
            "arn:aws:sts::111122223333:assumed-role/Deployer/deploy-bot",
            "AROAEXAMPLEEXAMPLE123:deploy-bot",
            "111122223333",
            "01234567-89ab-cdef-0123-456789abcdef",
        ));
    }

    #[test]
    fn error_response_shapes() {
        let cases = [
            StsError::new(
                StsErrorCode::AccessDenied,
                "Not authorized to perform sts:AssumeRole",
            ),
            StsError::new(
                StsErrorCode::SignatureDoesNotMatch,
                "The request signature we calculated does not match the signature you provided.",
            ),
            StsError::new(
                StsErrorCode::ServiceUnavailable,
                "The service is unavailable. Please try again later.",
            ),
            StsError::new(StsErrorCode::ValidationError, "a <tag> & an 'apostrophe'"),
        ];
        let rendered: Vec<String> = cases
            .iter()
            .map(|e| {
                format!(
                    "{} {}\n{}",
                    e.code.status(),
                    e.code.as_str(),
                    error_xml(e, "req-1")
                )
            })
            .collect();
        insta::assert_snapshot!(rendered.join("\n"));
    }

    #[test]
    fn parameters_are_read_once_each_and_members_in_order() {
        let parameters = Parameters::parse(
            b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2FR&RoleSessionName=s1\
              &Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.2.Key=b&Tags.member.2.Value=2\
              &TransitiveTagKeys.member.1=a&PolicyArns.member.1.arn=arn%3Ap&DurationSeconds=900",
        )
        .unwrap();
        let Action::AssumeRole { request } = Action::parse(&parameters).unwrap() else {
            panic!("not AssumeRole");
        };
        assert_eq!(request.role_arn, "arn:aws:iam::1:role/R");
        assert_eq!(
            request.tags,
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(request.transitive_tag_keys, ["a"]);
        assert_eq!(request.policy_arns, ["arn:p"]);
        assert_eq!(request.duration_seconds, Some(900));
        let twice = Parameters::parse(b"Action=A&Action=B").unwrap_err();
        assert_eq!(twice.code, StsErrorCode::InvalidParameterValue);
        let bad_number = Parameters::parse(b"Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=ab&DurationSeconds=lots").unwrap();
        assert_eq!(
            Action::parse(&bad_number).unwrap_err().code,
            StsErrorCode::ValidationError
        );
        let unpaired = Parameters::parse(b"Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=ab&Tags.member.1.Key=a").unwrap();
        assert_eq!(
            Action::parse(&unpaired).unwrap_err().code,
            StsErrorCode::InvalidParameterValue
        );
    }
}
