//! The policy simulator, modelled on `aws iam simulate-custom-policy`: AWS's request and
//! result shapes, one result per action × resource. Used by `rolegate policy simulate` and
//! `POST /api/v1/policy/simulate`.

use serde::{Deserialize, Serialize};

use super::condition::parse_date;
use super::context::{Request, RequestContext};
use super::document::{Policy, PolicyKind};
use super::evaluate::{PolicyRole, PolicySet, evaluate};
use super::principal::Principal;

/// A policy to simulate with: a name for messages and results, and its JSON text.
#[derive(Debug, Clone)]
pub struct NamedPolicy {
    /// `PolicyInputList.1`, or a file name.
    pub name: String,
    /// The document.
    pub text: String,
}

/// The simulation request, in AWS's `SimulateCustomPolicy` shape (plus
/// `SessionPolicyInputList`, which AWS lacks).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SimulationInput {
    /// Identity-based policies (JSON text).
    pub policy_input_list: Vec<String>,
    /// Permissions boundaries (JSON text; AWS allows one).
    #[serde(default)]
    pub permissions_boundary_policy_input_list: Vec<String>,
    /// Session policies (JSON text).
    #[serde(default)]
    pub session_policy_input_list: Vec<String>,
    /// The resource's policy (JSON text).
    pub resource_policy: Option<String>,
    /// The account that owns the resources, when their ARNs do not say.
    pub resource_owner: Option<String>,
    /// The caller: an assumed-role, role, user or root ARN.
    pub caller_arn: Option<String>,
    /// Actions to simulate.
    pub action_names: Vec<String>,
    /// Resources to simulate (default `*`).
    #[serde(default)]
    pub resource_arns: Vec<String>,
    /// Condition keys.
    #[serde(default)]
    pub context_entries: Vec<ContextEntry>,
    /// How many results to return (1 to [`MAX_ITEMS`], default [`DEFAULT_MAX_ITEMS`]).
    pub max_items: Option<usize>,
    /// Where to continue: the `Marker` of the previous, truncated, page.
    pub marker: Option<String>,
}

/// The most results one page holds (AWS's `MaxItems` maximum).
pub const MAX_ITEMS: usize = 1000;
/// The results one page holds unless `MaxItems` says otherwise (AWS's default).
pub const DEFAULT_MAX_ITEMS: usize = 100;
/// The most actions one simulation takes.
pub const MAX_ACTION_NAMES: usize = 1000;
/// The most resources one simulation takes.
pub const MAX_RESOURCE_ARNS: usize = 1000;
/// The most action × resource pairs one simulation covers, across all its pages.
pub const MAX_PAIRS: usize = 10_000;

/// AWS's `ContextEntry`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ContextEntry {
    /// E.g. `aws:SourceIp`.
    pub context_key_name: String,
    /// The values (as strings, as AWS takes them).
    pub context_key_values: Vec<String>,
    /// The type the values must have.
    pub context_key_type: ContextKeyType,
}

/// AWS's `ContextKeyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ContextKeyType {
    /// One string.
    String,
    /// Several strings.
    StringList,
    /// One number.
    Numeric,
    /// Several numbers.
    NumericList,
    /// One `true`/`false`.
    Boolean,
    /// Several booleans.
    BooleanList,
    /// One IP address.
    Ip,
    /// Several IP addresses.
    IpList,
    /// One base64 value.
    Binary,
    /// Several base64 values.
    BinaryList,
    /// One date.
    Date,
    /// Several dates.
    DateList,
}

impl ContextKeyType {
    fn is_list(self) -> bool {
        matches!(
            self,
            Self::StringList
                | Self::NumericList
                | Self::BooleanList
                | Self::IpList
                | Self::BinaryList
                | Self::DateList
        )
    }

    /// Checks one value against the type.
    fn check(self, value: &str) -> Result<(), &'static str> {
        use base64::Engine;
        let ok = match self {
            Self::String | Self::StringList => true,
            Self::Numeric | Self::NumericList => {
                value.trim().parse::<f64>().is_ok_and(f64::is_finite)
            }
            Self::Boolean | Self::BooleanList => {
                matches!(value.to_ascii_lowercase().as_str(), "true" | "false")
            }
            Self::Ip | Self::IpList => {
                value.parse::<std::net::IpAddr>().is_ok() || value.parse::<ipnet::IpNet>().is_ok()
            }
            Self::Binary | Self::BinaryList => base64::engine::general_purpose::STANDARD
                .decode(value)
                .is_ok(),
            Self::Date | Self::DateList => parse_date(value).is_some(),
        };
        ok.then_some(()).ok_or(match self {
            Self::String | Self::StringList => "a string",
            Self::Numeric | Self::NumericList => "a number",
            Self::Boolean | Self::BooleanList => "`true` or `false`",
            Self::Ip | Self::IpList => "an IP address",
            Self::Binary | Self::BinaryList => "base64",
            Self::Date | Self::DateList => "a date (ISO 8601 or epoch seconds)",
        })
    }
}

/// The simulation result, in AWS's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimulationOutput {
    /// One per action × resource on this page, actions in the outer order.
    pub evaluation_results: Vec<EvaluationResult>,
    /// Whether more results follow; ask again with `Marker`.
    pub is_truncated: bool,
    /// Where the next page starts, when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}

/// AWS's `EvaluationResult`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EvaluationResult {
    /// The action.
    pub eval_action_name: String,
    /// The resource.
    pub eval_resource_name: String,
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub eval_decision: &'static str,
    /// The statements that decided it.
    pub matched_statements: Vec<MatchedStatement>,
    /// Condition keys the policies asked for that the context did not supply.
    pub missing_context_values: Vec<String>,
    /// Present when a permissions boundary was simulated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary_decision_detail: Option<BoundaryDetail>,
}

/// AWS's `PermissionsBoundaryDecisionDetail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BoundaryDetail {
    /// Whether the boundary allowed the request.
    pub allowed_by_permissions_boundary: bool,
}

/// AWS's `Statement` in `MatchedStatements`, with the statement's `Sid` and index added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MatchedStatement {
    /// The policy's name (`PolicyInputList.1`, a file name).
    pub source_policy_id: String,
    /// `IAM Policy`, `Resource Policy`, `Permissions Boundary Policy` or `Session Policy`.
    pub source_policy_type: &'static str,
    /// The statement's `Sid`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The statement's position in its policy (0-based).
    pub statement_index: usize,
}

/// Why a simulation could not run: each problem with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct SimulationError {
    /// `where: what` lines.
    pub problems: Vec<String>,
}

/// The policies of a simulation, by role.
#[derive(Debug, Clone, Default)]
pub struct SimulationPolicies {
    /// Identity-based policies.
    pub identity: Vec<NamedPolicy>,
    /// The resource policy.
    pub resource: Option<NamedPolicy>,
    /// The permissions boundary.
    pub boundary: Option<NamedPolicy>,
    /// Session policies.
    pub session: Vec<NamedPolicy>,
}

impl SimulationInput {
    /// The input's policies named as AWS names them (`PolicyInputList.1`, …).
    pub fn policies(&self) -> Result<SimulationPolicies, SimulationError> {
        if self.permissions_boundary_policy_input_list.len() > 1 {
            return Err(SimulationError {
                problems: vec![
                    "PermissionsBoundaryPolicyInputList: at most one permissions boundary".into(),
                ],
            });
        }
        let named = |list: &[String], label: &str| -> Vec<NamedPolicy> {
            list.iter()
                .enumerate()
                .map(|(i, text)| NamedPolicy {
                    name: format!("{label}.{}", i + 1),
                    text: text.clone(),
                })
                .collect()
        };
        Ok(SimulationPolicies {
            identity: named(&self.policy_input_list, "PolicyInputList"),
            resource: self.resource_policy.as_ref().map(|text| NamedPolicy {
                name: "ResourcePolicy".into(),
                text: text.clone(),
            }),
            boundary: named(
                &self.permissions_boundary_policy_input_list,
                "PermissionsBoundaryPolicyInputList",
            )
            .into_iter()
            .next(),
            session: named(&self.session_policy_input_list, "SessionPolicyInputList"),
        })
    }
}

/// Runs a simulation.
pub fn simulate(
    input: &SimulationInput,
    policies: &SimulationPolicies,
) -> Result<SimulationOutput, SimulationError> {
    check_size(input)?;
    let mut problems = Vec::new();
    let mut parse =
        |named: &NamedPolicy, kind: PolicyKind| match Policy::parse(&named.text, kind, &named.name)
        {
            Ok(policy) => Some(policy),
            Err(error) => {
                problems.extend(
                    error
                        .findings
                        .iter()
                        .map(|f| format!("{}: {}: {}", named.name, f.path, f.reason)),
                );
                None
            }
        };
    let identity: Vec<Policy> = policies
        .identity
        .iter()
        .filter_map(|p| parse(p, PolicyKind::Inline))
        .collect();
    let resource = policies
        .resource
        .as_ref()
        .and_then(|p| parse(p, PolicyKind::Resource));
    let boundary = policies
        .boundary
        .as_ref()
        .and_then(|p| parse(p, PolicyKind::Managed));
    let session: Vec<Policy> = policies
        .session
        .iter()
        .filter_map(|p| parse(p, PolicyKind::Session))
        .collect();
    let principal = match &input.caller_arn {
        Some(arn) => Principal::from_arn(arn)
            .map_err(|e| problems.push(format!("CallerArn: {e}")))
            .ok(),
        None => Some(Principal::Anonymous),
    };
    let context = context_from_entries(&input.context_entries)
        .map_err(|e| problems.extend(e.problems))
        .ok();
    if input.action_names.is_empty() {
        problems.push("ActionNames: name at least one action".into());
    }
    let (Some(principal), Some(context), true) = (principal, context, problems.is_empty()) else {
        return Err(SimulationError { problems });
    };
    let set = PolicySet {
        identity: &identity,
        resource: resource.as_ref(),
        boundary: boundary.as_ref(),
        session: &session,
    };
    let star = ["*".to_owned()];
    let resources = if input.resource_arns.is_empty() {
        &star[..]
    } else {
        &input.resource_arns[..]
    };
    let page = Page::of(
        input,
        input.action_names.len().saturating_mul(resources.len()),
    )?;
    let mut results = Vec::with_capacity(page.end - page.start);
    for pair in page.start..page.end {
        // Actions in the outer order, as AWS lists them.
        let (Some(action), Some(resource)) = (
            input.action_names.get(pair / resources.len()),
            resources.get(pair % resources.len()),
        ) else {
            break;
        };
        let request = Request {
            action,
            resource,
            principal: &principal,
            context: &context,
            resource_account: input.resource_owner.as_deref(),
        };
        let evaluation = evaluate(&set, &request);
        results.push(EvaluationResult {
            eval_action_name: action.clone(),
            eval_resource_name: resource.clone(),
            eval_decision: evaluation.decision.as_aws_str(),
            matched_statements: evaluation
                .matched
                .into_iter()
                .map(|s| MatchedStatement {
                    source_policy_id: s.policy,
                    source_policy_type: policy_type(s.role),
                    sid: s.sid,
                    statement_index: s.index,
                })
                .collect(),
            missing_context_values: evaluation.missing_context_keys,
            permissions_boundary_decision_detail: evaluation.allowed_by_boundary.map(|allowed| {
                BoundaryDetail {
                    allowed_by_permissions_boundary: allowed,
                }
            }),
        });
    }
    let is_truncated = page.end < page.total;
    Ok(SimulationOutput {
        evaluation_results: results,
        is_truncated,
        marker: is_truncated.then(|| page.end.to_string()),
    })
}

/// The pairs one call evaluates: `start..end` of `total`.
struct Page {
    start: usize,
    end: usize,
    total: usize,
}

impl Page {
    /// The page `MaxItems` and `Marker` ask for, or why they cannot be served.
    fn of(input: &SimulationInput, total: usize) -> Result<Self, SimulationError> {
        let mut problems = Vec::new();
        let max_items = input.max_items.unwrap_or(DEFAULT_MAX_ITEMS);
        if !(1..=MAX_ITEMS).contains(&max_items) {
            problems.push(format!(
                "MaxItems: must be from 1 to {MAX_ITEMS}, not {max_items}"
            ));
        }
        let start = match input.marker.as_deref() {
            None => 0,
            Some(marker) => match marker.parse::<usize>() {
                Ok(start) if start < total => start,
                _ => {
                    problems.push("Marker: not a marker of this simulation".into());
                    0
                }
            },
        };
        if !problems.is_empty() {
            return Err(SimulationError { problems });
        }
        Ok(Self {
            start,
            end: start.saturating_add(max_items).min(total),
            total,
        })
    }
}

/// Refuses a simulation larger than one call may ask for, before anything is parsed.
fn check_size(input: &SimulationInput) -> Result<(), SimulationError> {
    let mut problems = Vec::new();
    let actions = input.action_names.len();
    let resources = input.resource_arns.len().max(1);
    if actions > MAX_ACTION_NAMES {
        problems.push(format!(
            "ActionNames: at most {MAX_ACTION_NAMES} actions per simulation, not {actions}"
        ));
    }
    if resources > MAX_RESOURCE_ARNS {
        problems.push(format!(
            "ResourceArns: at most {MAX_RESOURCE_ARNS} resources per simulation, not {resources}"
        ));
    }
    let pairs = actions.saturating_mul(resources);
    if problems.is_empty() && pairs > MAX_PAIRS {
        problems.push(format!(
            "ActionNames × ResourceArns: at most {MAX_PAIRS} pairs per simulation, not {pairs}"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SimulationError { problems })
    }
}

fn policy_type(role: PolicyRole) -> &'static str {
    match role {
        PolicyRole::Identity => "IAM Policy",
        PolicyRole::Resource => "Resource Policy",
        PolicyRole::PermissionsBoundary => "Permissions Boundary Policy",
        PolicyRole::Session => "Session Policy",
    }
}

/// A context from AWS `ContextEntries`, checking every value against its declared type.
pub fn context_from_entries(entries: &[ContextEntry]) -> Result<RequestContext, SimulationError> {
    let mut problems = Vec::new();
    let mut context = RequestContext::default();
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("ContextEntries[{i}]");
        if !super::variables::is_condition_key(&entry.context_key_name) {
            problems.push(format!(
                "{path}.ContextKeyName: `{}` is not a condition key (prefix:name)",
                entry.context_key_name
            ));
        }
        if !entry.context_key_type.is_list() && entry.context_key_values.len() != 1 {
            problems.push(format!(
                "{path}.ContextKeyValues: a single-valued type takes exactly one value"
            ));
        }
        for (j, value) in entry.context_key_values.iter().enumerate() {
            if let Err(expected) = entry.context_key_type.check(value) {
                problems.push(format!(
                    "{path}.ContextKeyValues[{j}]: `{value}` is not {expected}"
                ));
            }
        }
        context.insert(&entry.context_key_name, entry.context_key_values.clone());
    }
    if problems.is_empty() {
        Ok(context)
    } else {
        Err(SimulationError { problems })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(value: serde_json::Value) -> SimulationInput {
        serde_json::from_value(value).unwrap()
    }

    fn run(value: serde_json::Value) -> Result<serde_json::Value, SimulationError> {
        let input = input(value);
        let policies = input.policies()?;
        simulate(&input, &policies).map(|o| serde_json::to_value(o).unwrap())
    }

    #[test]
    fn one_result_per_action_and_resource_in_aws_shape() {
        let policy = json!({"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:Get*","Resource":"arn:aws:s3:::b/*"}]});
        let out = run(json!({
            "PolicyInputList": [policy.to_string()],
            "ActionNames": ["s3:GetObject", "s3:PutObject"],
            "ResourceArns": ["arn:aws:s3:::b/k", "arn:aws:s3:::c/k"]
        }))
        .unwrap();
        let results = out["EvaluationResults"].as_array().unwrap();
        assert_eq!(results.len(), 4);
        assert_eq!(results[0]["EvalActionName"], "s3:GetObject");
        assert_eq!(results[0]["EvalResourceName"], "arn:aws:s3:::b/k");
        assert_eq!(results[0]["EvalDecision"], "allowed");
        assert_eq!(
            results[0]["MatchedStatements"][0],
            json!({"SourcePolicyId": "PolicyInputList.1", "SourcePolicyType": "IAM Policy", "Sid": "Read", "StatementIndex": 0})
        );
        assert_eq!(results[1]["EvalDecision"], "implicitDeny");
        assert_eq!(results[2]["EvalDecision"], "implicitDeny");
        assert_eq!(results[0]["MissingContextValues"], json!([]));
    }

    #[test]
    fn typed_context_entries_feed_conditions_and_missing_keys_are_listed() {
        let policy = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*",
            "Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"},"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]});
        let out = run(json!({
            "PolicyInputList": [policy.to_string()],
            "ActionNames": ["ec2:RunInstances"],
            "ContextEntries": [{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["203.0.113.7"], "ContextKeyType": "ip"}]
        }))
        .unwrap();
        let result = &out["EvaluationResults"][0];
        assert_eq!(result["EvalDecision"], "implicitDeny");
        assert_eq!(
            result["MissingContextValues"],
            json!(["aws:MultiFactorAuthPresent"])
        );
    }

    #[test]
    fn boundary_detail_is_reported() {
        let allow_all = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}).to_string();
        let only_s3 = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}).to_string();
        let out = run(json!({
            "PolicyInputList": [allow_all],
            "PermissionsBoundaryPolicyInputList": [only_s3],
            "ActionNames": ["iam:CreateUser"]
        }))
        .unwrap();
        assert_eq!(out["EvaluationResults"][0]["EvalDecision"], "implicitDeny");
        assert_eq!(
            out["EvaluationResults"][0]["PermissionsBoundaryDecisionDetail"],
            json!({"AllowedByPermissionsBoundary": false})
        );
    }

    #[test]
    fn bad_input_is_reported_with_where_and_what() {
        let error = run(json!({
            "PolicyInputList": ["{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3\",\"Resource\":\"*\"}}"],
            "ActionNames": ["s3:GetObject"],
            "CallerArn": "alice",
            "ContextEntries": [
                {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["not-ip"], "ContextKeyType": "ip"},
                {"ContextKeyName": "aws:MultiFactorAuthAge", "ContextKeyValues": ["1", "2"], "ContextKeyType": "numeric"}
            ]
        }))
        .unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("PolicyInputList.1: $.Statement.Action: action `s3`"),
            "{text}"
        );
        assert!(text.contains("CallerArn: `alice` is not an ARN"), "{text}");
        assert!(
            text.contains("ContextEntries[0].ContextKeyValues[0]: `not-ip` is not an IP address"),
            "{text}"
        );
        assert!(
            text.contains(
                "ContextEntries[1].ContextKeyValues: a single-valued type takes exactly one value"
            ),
            "{text}"
        );
    }

    #[test]
    fn every_context_type_is_checked() {
        for (kind, good, bad) in [
            ("numeric", "1.5", "x"),
            ("boolean", "TRUE", "yes"),
            ("binary", "aGk=", "!!"),
            ("date", "2026-01-01T00:00:00Z", "soon"),
            ("ipList", "2001:db8::1", "300.1.1.1"),
            ("numericList", "-3", "NaN"),
            ("booleanList", "false", "0"),
            ("binaryList", "aGk=", "%%"),
            ("dateList", "1700000000", "tomorrow"),
            ("stringList", "anything", ""),
        ] {
            let entry = |v: &str| {
                serde_json::from_value::<ContextEntry>(json!({"ContextKeyName": "aws:x", "ContextKeyValues": [v], "ContextKeyType": kind})).unwrap()
            };
            assert!(
                context_from_entries(&[entry(good)]).is_ok(),
                "{kind} {good}"
            );
            if kind != "stringList" {
                assert!(context_from_entries(&[entry(bad)]).is_err(), "{kind} {bad}");
            }
        }
    }
}
