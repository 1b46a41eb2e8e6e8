//! The one assume path: every role session, from the portal, the STS API or the CLI API,
//! is decided here. The target role's trust policy decides, with the caller's claims as
//! condition keys; the mapping rules' deny rules bind people too; STS's parameter rules
//! (durations, names, session policies, tags, source identity) are checked first.
//!
//! Pure: plain values in, a [`RoleSession`] or an STS-shaped error out. The caller stores
//! the session (see [`super::record`]).

use std::collections::BTreeMap;
use std::time::SystemTime;

use secrecy::SecretString;
use sha2::Digest;

use super::error::{StsError, StsErrorCode};
use super::keys::SessionKeys;
use super::names::{AccessKeyId, RoleSessionName, role_id};
use super::permissions::{SessionRequest, evaluate_session, session_context, session_principal};
use super::token::{OriginalIdentity, SessionClaims, issue};
use crate::clock::unix_seconds;
use crate::directory::{Account, Directory, Role, validate_tag};
use crate::idp::{Identity, Protocol};
use crate::mapping::{RuleSet, deny_rule_for};
use crate::policy::{
    AssumeAction, Decision, GlobalKeys, Policy, PolicyKind, Principal, RequestContext,
    StatementRef, TrustRequest, add_claims, counted_size, evaluate_trust,
};

/// AWS's shortest session.
pub const MIN_DURATION: u64 = 900;
/// AWS's default session length.
pub const DEFAULT_DURATION: u64 = 3600;
/// The most session tags one call may pass.
const MAX_TAGS: usize = 50;
/// The most managed session policy ARNs one call may pass.
const MAX_POLICY_ARNS: usize = 10;
/// The plaintext limit of inline and managed session policies together.
const MAX_SESSION_POLICY_CHARS: usize = 2048;

/// Who asks for a role session.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// A person or workload an identity provider vouched for: a signed-in browser, or a web
    /// identity token presented to `AssumeRoleWithWebIdentity`.
    Federated(&'a Identity),
    /// An existing role session calling `AssumeRole` (role chaining).
    RoleSession {
        /// Its token's claims.
        claims: &'a SessionClaims,
        /// Its session policies, which narrow what it may assume.
        session_policies: &'a [Policy],
        /// The person who began the chain, as their provider described them: the deny
        /// rules bind them at every link.
        original: &'a Identity,
    },
}

impl Caller<'_> {
    fn action(&self) -> AssumeAction {
        match self {
            Caller::Federated(identity) => match identity.protocol {
                Protocol::Oidc => AssumeAction::AssumeRoleWithWebIdentity,
                Protocol::Saml => AssumeAction::AssumeRoleWithSaml,
            },
            Caller::RoleSession { .. } => AssumeAction::AssumeRole,
        }
    }

    /// The person behind the call.
    fn person(&self) -> &Identity {
        match self {
            Caller::Federated(identity) => identity,
            Caller::RoleSession { original, .. } => original,
        }
    }
}

/// What a chained session inherits from the session that assumes it (AWS: transitive tags
/// and the source identity pass down a chain and cannot be changed).
#[derive(Debug, Default)]
struct Inherited {
    tags: BTreeMap<String, String>,
    transitive_tag_keys: Vec<String>,
    source_identity: Option<String>,
}

impl Inherited {
    fn from(caller: &Caller<'_>) -> Self {
        let Caller::RoleSession { claims, .. } = caller else {
            return Self::default();
        };
        Self {
            tags: claims
                .tags
                .iter()
                .filter(|(k, _)| claims.ttk.iter().any(|t| t.eq_ignore_ascii_case(k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            transitive_tag_keys: claims.ttk.clone(),
            source_identity: claims.srcid.clone(),
        }
    }
}

/// What the caller asks for, in STS's parameters.
#[derive(Debug, Clone, Default)]
pub struct AssumeRequest {
    /// `RoleArn`.
    pub role_arn: String,
    /// `RoleSessionName`.
    pub role_session_name: String,
    /// `DurationSeconds`.
    pub duration_seconds: Option<u64>,
    /// `Policy`: an inline session policy.
    pub policy: Option<String>,
    /// `PolicyArns.member.N.arn`: managed session policies.
    pub policy_arns: Vec<String>,
    /// `Tags.member.N.Key` / `.Value`, in order.
    pub tags: Vec<(String, String)>,
    /// `TransitiveTagKeys.member.N`.
    pub transitive_tag_keys: Vec<String>,
    /// `SourceIdentity`.
    pub source_identity: Option<String>,
    /// `ExternalId` (`AssumeRole` only), tested by trust policies as `sts:ExternalId`.
    pub external_id: Option<String>,
}

/// What the assume path reads: the directory, the rules, the keys, rolegate's issuer URL.
#[derive(Debug, Clone, Copy)]
pub struct Assumer<'a> {
    /// Accounts, roles and policies.
    pub directory: &'a Directory,
    /// The mapping rules (their deny rules apply).
    pub rules: &'a RuleSet,
    /// Session keys.
    pub keys: &'a SessionKeys,
    /// rolegate's public URL, the session tokens' `iss`.
    pub issuer: &'a str,
}

/// Temporary credentials.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// `ASIA…`.
    pub access_key_id: AccessKeyId,
    /// 40 characters.
    pub secret_access_key: SecretString,
    /// The signed session token.
    pub session_token: String,
    /// When they expire (Unix seconds).
    pub expiration: u64,
}

/// An issued role session.
#[derive(Debug, Clone)]
pub struct RoleSession {
    /// What its token says.
    pub claims: SessionClaims,
    /// Its credentials.
    pub credentials: Credentials,
    /// `AROA…:<session name>`.
    pub assumed_role_id: String,
    /// Session policies and tags as a percentage of what STS allows, when any were passed.
    pub packed_policy_size: Option<u32>,
    /// The session policies, as JSON texts (inline first, then the managed ones).
    pub session_policies: Vec<String>,
    /// The trust statement that allowed it (`policy#Sid` or `policy#index`).
    pub trusted_by: String,
    /// The federated provider ARN the caller came through, or the calling session's ARN.
    pub provider: String,
}

/// Decides `request` for `caller` at `now` and issues the session.
pub fn assume(
    assumer: &Assumer<'_>,
    caller: Caller<'_>,
    request: &AssumeRequest,
    now: SystemTime,
) -> Result<RoleSession, StsError> {
    let action = caller.action();
    let identity = caller.person();
    let chained = matches!(caller, Caller::RoleSession { .. });
    let session_name = RoleSessionName::parse(&request.role_session_name).map_err(|e| {
        StsError::new(
            StsErrorCode::ValidationError,
            format!("1 validation error detected: {e}"),
        )
    })?;
    let denied = || not_authorized(action);
    let (account, role) = assumer
        .directory
        .role_by_arn(&request.role_arn)
        .ok_or_else(|| denied().detail_also("no such role in the directory"))?;
    let duration = duration(request.duration_seconds, role, chained)?;
    let inherited = Inherited::from(&caller);
    let tags = session_tags(request, &inherited)?;
    let transitive_tag_keys = transitive_keys(request, &inherited);
    let source_identity = source_identity(request.source_identity.as_deref(), &inherited)?;
    let session_policies = session_policies(assumer.directory, request)?;
    let packed = packed_size(request, &tags)?;
    if let Some(rule) = deny_rule_for(assumer.rules, identity, account, role, now) {
        return Err(denied().detail_also(&format!("deny rule `{}` ({})", rule.id, rule.origin)));
    }
    let facts = TrustFacts {
        session_name: &session_name,
        tags: &tags,
        transitive_tag_keys: &transitive_tag_keys,
        source_identity: source_identity.as_deref(),
        external_id: request.external_id.as_deref(),
        now,
    };
    let (principal, context, provider) = match caller {
        Caller::Federated(identity) => {
            let provider = account
                .identity_providers
                .get(identity.idp.as_str())
                .map(|linked| &linked.arn)
                .ok_or_else(|| {
                    denied().detail_also(&format!(
                        "account `{}` links no provider to idp `{}`",
                        account.alias, identity.idp
                    ))
                })?;
            let principal = Principal::Federated {
                provider: provider.clone(),
            };
            (
                principal,
                federated_context(identity, provider, &facts),
                provider.clone(),
            )
        }
        Caller::RoleSession {
            claims,
            session_policies: caller_policies,
            ..
        } => {
            let context = session_context(claims, now, chained_context(&facts));
            // AWS: across accounts, the caller's own policies must allow sts:AssumeRole too.
            if claims.acct != account.id.as_str() {
                let allowed = evaluate_session(
                    assumer.directory,
                    claims,
                    caller_policies,
                    SessionRequest {
                        action: "sts:AssumeRole",
                        resource: &role.arn,
                        // The caller's side only: the trust policy below is the role's side.
                        resource_account: Some(&claims.acct),
                    },
                    &context,
                );
                if allowed.decision != Decision::Allow {
                    return Err(denied().detail_also(&format!(
                        "the policies of `{}` do not allow sts:AssumeRole on `{}` ({:?})",
                        claims.role, role.arn, allowed.decision
                    )));
                }
            }
            (session_principal(claims), context, claims.sub.clone())
        }
    };
    let trusted_by = trust(role, action, &principal, &context, &facts)?;
    let issued_at = unix_seconds(now);
    let access_key_id = AccessKeyId::generate();
    let claims = SessionClaims {
        iss: assumer.issuer.to_owned(),
        sub: assumed_role_arn(account, role, &session_name),
        iat: issued_at,
        exp: issued_at + duration,
        akid: access_key_id.as_str().to_owned(),
        role: role.arn.clone(),
        acct: account.id.to_string(),
        name: session_name.to_string(),
        tags,
        ttk: transitive_tag_keys,
        srcid: source_identity,
        orig: OriginalIdentity {
            idp: identity.idp.to_string(),
            subject: identity.subject.clone(),
            issuer: identity.issuer.clone(),
        },
        pol: policy_hash(&session_policies),
        mfa: identity.mfa,
        chain: chained,
    };
    let credentials = credentials(assumer.keys, &claims, access_key_id)?;
    Ok(RoleSession {
        assumed_role_id: format!("{}:{session_name}", role_id(&role.arn)),
        claims,
        credentials,
        packed_policy_size: packed,
        session_policies,
        trusted_by,
        provider,
    })
}

impl StsError {
    /// The same error with `detail` added for the log.
    fn detail_also(mut self, detail: &str) -> Self {
        self.detail = format!("{}; {detail}", self.detail);
        self
    }
}

/// AWS's refusal, which names nothing internal.
fn not_authorized(action: AssumeAction) -> StsError {
    StsError::new(
        StsErrorCode::AccessDenied,
        format!("Not authorized to perform {}", action.as_str()),
    )
}

/// `arn:aws:sts::<account>:assumed-role/<role name>/<session name>` (the path is not shown).
fn assumed_role_arn(account: &Account, role: &Role, session: &RoleSessionName) -> String {
    format!(
        "arn:aws:sts::{}:assumed-role/{}/{session}",
        account.id, role.name
    )
}

/// The session length: `DurationSeconds` (default one hour) from 900 s to the role's
/// maximum, and at most one hour when chained.
fn duration(asked: Option<u64>, role: &Role, chained: bool) -> Result<u64, StsError> {
    let max = role.max_session_duration.as_secs();
    let duration = asked.unwrap_or(DEFAULT_DURATION.min(max));
    if duration < MIN_DURATION {
        return Err(StsError::new(
            StsErrorCode::ValidationError,
            format!(
                "1 validation error detected: Value '{duration}' at 'durationSeconds' failed to \
                 satisfy constraint: Member must have value greater than or equal to {MIN_DURATION}"
            ),
        ));
    }
    // AWS: chained sessions are capped at 1 h, whatever the role allows.
    if chained && duration > DEFAULT_DURATION {
        return Err(StsError::new(
            StsErrorCode::ValidationError,
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed \
             by role chaining.",
        ));
    }
    if duration > max {
        return Err(StsError::new(
            StsErrorCode::ValidationError,
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    Ok(duration)
}

/// The session's tags: the call's, checked with STS's limits, and the inherited transitive
/// ones, which the call may not change; transitive keys must be among the call's tags.
fn session_tags(
    request: &AssumeRequest,
    inherited: &Inherited,
) -> Result<BTreeMap<String, String>, StsError> {
    let invalid = |message: String| StsError::new(StsErrorCode::InvalidParameterValue, message);
    if request.tags.len() > MAX_TAGS {
        return Err(invalid(format!(
            "at most {MAX_TAGS} session tags may be passed"
        )));
    }
    let mut tags = BTreeMap::new();
    for (key, value) in &request.tags {
        validate_tag(key, value).map_err(invalid)?;
        // Tag keys are case-insensitive in IAM: `Team` and `team` are one key.
        if tags.keys().any(|k: &String| k.eq_ignore_ascii_case(key)) {
            return Err(invalid(format!("Duplicate tag keys found: {key}")));
        }
        if inherited.tags.keys().any(|k| k.eq_ignore_ascii_case(key)) {
            return Err(invalid(format!(
                "The tag {key} is inherited as transitive from the calling session and cannot \
                 be set again"
            )));
        }
        tags.insert(key.clone(), value.clone());
    }
    if request.transitive_tag_keys.len() > MAX_TAGS {
        return Err(invalid(format!(
            "at most {MAX_TAGS} transitive tag keys may be passed"
        )));
    }
    for key in &request.transitive_tag_keys {
        if !tags.keys().any(|k| k.eq_ignore_ascii_case(key)) {
            return Err(invalid(format!(
                "The transitive tag key {key} is not a key of the session tags"
            )));
        }
    }
    tags.extend(inherited.tags.clone());
    if tags.len() > MAX_TAGS {
        return Err(invalid(format!(
            "at most {MAX_TAGS} session tags, inherited ones included"
        )));
    }
    Ok(tags)
}

/// The inherited transitive keys and the call's, each once.
fn transitive_keys(request: &AssumeRequest, inherited: &Inherited) -> Vec<String> {
    let mut keys = inherited.transitive_tag_keys.clone();
    for key in &request.transitive_tag_keys {
        if !keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            keys.push(key.clone());
        }
    }
    keys
}

/// `SourceIdentity`: 2–64 characters of `[\w+=,.@-]`, not starting with `aws:`; once a
/// chain has one, it cannot change.
fn source_identity(asked: Option<&str>, inherited: &Inherited) -> Result<Option<String>, StsError> {
    let Some(value) = asked else {
        return Ok(inherited.source_identity.clone());
    };
    let valid = RoleSessionName::parse(value).is_ok()
        && !value
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("aws:"));
    if !valid {
        return Err(StsError::new(
            StsErrorCode::ValidationError,
            format!(
                "1 validation error detected: Value '{value}' at 'sourceIdentity' failed to \
                 satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* \
                 and have length 2 to 64"
            ),
        ));
    }
    match &inherited.source_identity {
        Some(set) if set != value => Err(StsError::new(
            StsErrorCode::InvalidParameterValue,
            "The source identity of the calling session cannot be changed",
        )),
        _ => Ok(Some(value.to_owned())),
    }
}

/// The session policies as texts: the inline one validated as a session policy, the
/// managed ones found in the directory; together at most 2,048 plaintext characters.
fn session_policies(
    directory: &Directory,
    request: &AssumeRequest,
) -> Result<Vec<String>, StsError> {
    let mut texts = Vec::new();
    let mut plaintext = 0;
    if let Some(inline) = &request.policy {
        Policy::parse(inline, PolicyKind::Session, "Policy").map_err(|e| {
            StsError::with_detail(
                StsErrorCode::MalformedPolicyDocument,
                format!("The policy is not valid: {e}"),
                e.to_string(),
            )
        })?;
        plaintext += counted_size(inline);
        texts.push(inline.clone());
    }
    if request.policy_arns.len() > MAX_POLICY_ARNS {
        return Err(StsError::new(
            StsErrorCode::ValidationError,
            format!("at most {MAX_POLICY_ARNS} managed session policies may be passed"),
        ));
    }
    for arn in &request.policy_arns {
        let policy = directory.policy(arn).ok_or_else(|| {
            StsError::new(
                StsErrorCode::InvalidParameterValue,
                format!("Policy {arn} does not exist or is not attachable."),
            )
        })?;
        plaintext += arn.len();
        texts.push(policy.source.clone());
    }
    if plaintext > MAX_SESSION_POLICY_CHARS {
        return Err(StsError::new(
            StsErrorCode::ValidationError,
            format!(
                "The session policies are {plaintext} characters; at most \
                 {MAX_SESSION_POLICY_CHARS} are allowed"
            ),
        ));
    }
    Ok(texts)
}

/// Session policies and tags packed together, as a percentage of what STS allows (AWS's
/// packing is undisclosed; rolegate counts plaintext characters against 2,048).
fn packed_size(
    request: &AssumeRequest,
    tags: &BTreeMap<String, String>,
) -> Result<Option<u32>, StsError> {
    if request.policy.is_none() && request.policy_arns.is_empty() && tags.is_empty() {
        return Ok(None);
    }
    let policy = request.policy.as_deref().map_or(0, counted_size);
    let arns: usize = request.policy_arns.iter().map(String::len).sum();
    let tag_chars: usize = tags.iter().map(|(k, v)| k.len() + v.len()).sum();
    let percent = (policy + arns + tag_chars) * 100 / MAX_SESSION_POLICY_CHARS;
    let percent = u32::try_from(percent).unwrap_or(u32::MAX);
    if percent > 100 {
        return Err(StsError::new(
            StsErrorCode::PackedPolicyTooLarge,
            format!(
                "Packed size of consumed session policies and session tags exceeds the limit \
                 ({percent}% of the limit)"
            ),
        ));
    }
    Ok(Some(percent))
}

/// SHA-256 (hex) of the session policies, for the token.
fn policy_hash(policies: &[String]) -> Option<String> {
    if policies.is_empty() {
        return None;
    }
    let mut hash = sha2::Sha256::new();
    for text in policies {
        hash.update(text.as_bytes());
        hash.update([0]);
    }
    Some(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// What the trust policy sees of the session being asked for.
struct TrustFacts<'a> {
    session_name: &'a RoleSessionName,
    tags: &'a BTreeMap<String, String>,
    transitive_tag_keys: &'a [String],
    source_identity: Option<&'a str>,
    external_id: Option<&'a str>,
    now: SystemTime,
}

impl TrustFacts<'_> {
    /// The `sts:` and `aws:RequestTag` keys of the request, into `context`.
    fn apply(&self, context: &mut RequestContext) {
        GlobalKeys {
            now: Some(self.now),
            request_tags: (!self.tags.is_empty()).then_some(self.tags),
            ..GlobalKeys::default()
        }
        .apply(context);
        context.insert_one("sts:RoleSessionName", self.session_name.to_string());
        if !self.transitive_tag_keys.is_empty() {
            context.insert("sts:TransitiveTagKeys", self.transitive_tag_keys.to_vec());
        }
        if let Some(source) = self.source_identity {
            context.insert_one("sts:SourceIdentity", source.to_owned());
        }
        if let Some(external_id) = self.external_id {
            context.insert_one("sts:ExternalId", external_id.to_owned());
        }
    }
}

/// A federated caller's condition keys: its claims under the provider's prefix
/// (`saml:*`, or the OIDC provider's host), `aws:FederatedProvider`, and the request's.
fn federated_context(
    identity: &Identity,
    provider: &str,
    facts: &TrustFacts<'_>,
) -> RequestContext {
    let mut context = RequestContext::default();
    GlobalKeys {
        federated_provider: Some(provider),
        source_identity: facts.source_identity,
        ..GlobalKeys::default()
    }
    .apply(&mut context);
    let prefix = match identity.protocol {
        Protocol::Saml => "saml",
        Protocol::Oidc => provider
            .split_once("oidc-provider/")
            .map_or(provider, |(_, host)| host),
    };
    add_claims(&mut context, prefix, &identity.claims);
    if identity.protocol == Protocol::Saml
        && let Some(qualifier) = crate::idp::saml::name_qualifier(&identity.issuer, provider)
    {
        context.insert_one("saml:namequalifier", qualifier);
    }
    facts.apply(&mut context);
    context
}

/// A chained call's request keys (the calling session's own keys are laid over them).
fn chained_context(facts: &TrustFacts<'_>) -> RequestContext {
    let mut context = RequestContext::default();
    facts.apply(&mut context);
    context
}

/// Evaluates the role's trust policy; the deciding statement.
fn trust(
    role: &Role,
    action: AssumeAction,
    principal: &Principal,
    context: &RequestContext,
    facts: &TrustFacts<'_>,
) -> Result<String, StsError> {
    let decision = evaluate_trust(
        &role.trust_policy,
        &TrustRequest {
            role_arn: &role.arn,
            action,
            principal,
            context,
            tags_session: !facts.tags.is_empty(),
            sets_source_identity: facts.source_identity.is_some(),
        },
    );
    if !decision.allowed() {
        let refusal = if decision.assume.decision == Decision::ExplicitDeny {
            let denying: Vec<String> = decision
                .assume
                .matched
                .iter()
                .map(StatementRef::name)
                .collect();
            format!(
                "the trust policy of `{}` denies it: {}",
                role.arn,
                denying.join(", ")
            )
        } else {
            format!(
                "no statement of the trust policy of `{}` allows {} for {principal}",
                role.arn,
                action.as_str()
            )
        };
        let missing = &decision.assume.missing_context_keys;
        let missing = if missing.is_empty() {
            String::new()
        } else {
            format!(" (the request had no {})", missing.join(", "))
        };
        return Err(not_authorized(action).detail_also(&format!("{refusal}{missing}")));
    }
    Ok(decision
        .assume
        .matched
        .first()
        .map(StatementRef::name)
        .unwrap_or_default())
}

/// The credentials of a session whose token carries `claims`.
fn credentials(
    keys: &SessionKeys,
    claims: &SessionClaims,
    access_key_id: AccessKeyId,
) -> Result<Credentials, StsError> {
    let internal = |detail: String| {
        StsError::with_detail(
            StsErrorCode::InternalFailure,
            "An internal error occurred.",
            detail,
        )
    };
    let session_token = issue(keys, claims).map_err(internal)?;
    let (kid, _) = keys
        .signer()
        .ok_or_else(|| internal("no signing key".into()))?;
    let secret_access_key = keys
        .secret_for(kid, access_key_id.as_str())
        .ok_or_else(|| internal("no derivation key".into()))?;
    Ok(Credentials {
        access_key_id,
        secret_access_key,
        session_token,
        expiration: claims.exp,
    })
}
