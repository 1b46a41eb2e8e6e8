//! The `Condition` element: every IAM condition operator, the `…IfExists` forms and the
//! `ForAllValues:` / `ForAnyValue:` set qualifiers. Values are compiled to their types when
//! the policy loads, so evaluation never meets a malformed number, date, IP or ARN from a
//! policy; malformed *request* values simply do not match.

use std::net::IpAddr;

use base64::Engine;
use ipnet::IpNet;
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::arn::{Arn, ArnPattern};
use super::context::RequestContext;
use super::glob::{Case, Glob};

use super::variables::{Template, is_condition_key};

/// The operator families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    Arn,
    Null,
}

/// Every operator name, its family and whether it is the negated form.
const OPERATORS: [(&str, Operator, bool); 27] = [
    ("StringEquals", Operator::StringEquals, false),
    ("StringNotEquals", Operator::StringEquals, true),
    (
        "StringEqualsIgnoreCase",
        Operator::StringEqualsIgnoreCase,
        false,
    ),
    (
        "StringNotEqualsIgnoreCase",
        Operator::StringEqualsIgnoreCase,
        true,
    ),
    ("StringLike", Operator::StringLike, false),
    ("StringNotLike", Operator::StringLike, true),
    ("NumericEquals", Operator::NumericEquals, false),
    ("NumericNotEquals", Operator::NumericEquals, true),
    ("NumericLessThan", Operator::NumericLessThan, false),
    (
        "NumericLessThanEquals",
        Operator::NumericLessThanEquals,
        false,
    ),
    ("NumericGreaterThan", Operator::NumericGreaterThan, false),
    (
        "NumericGreaterThanEquals",
        Operator::NumericGreaterThanEquals,
        false,
    ),
    ("DateEquals", Operator::DateEquals, false),
    ("DateNotEquals", Operator::DateEquals, true),
    ("DateLessThan", Operator::DateLessThan, false),
    ("DateLessThanEquals", Operator::DateLessThanEquals, false),
    ("DateGreaterThan", Operator::DateGreaterThan, false),
    (
        "DateGreaterThanEquals",
        Operator::DateGreaterThanEquals,
        false,
    ),
    ("Bool", Operator::Bool, false),
    ("BinaryEquals", Operator::BinaryEquals, false),
    ("IpAddress", Operator::IpAddress, false),
    ("NotIpAddress", Operator::IpAddress, true),
    ("ArnEquals", Operator::Arn, false),
    ("ArnLike", Operator::Arn, false),
    ("ArnNotEquals", Operator::Arn, true),
    ("ArnNotLike", Operator::Arn, true),
    ("Null", Operator::Null, false),
];

/// How a condition treats a key with several values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    /// No qualifier: any request value may match.
    Single,
    /// Every request value must match; true for a missing or empty key.
    ForAllValues,
    /// At least one request value must match; false for a missing or empty key.
    ForAnyValue,
}

/// Policy values compiled for their operator.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    Strings(Vec<Template>),
    /// Templates with their glob compiled when they have no variables.
    Patterns(Vec<(Template, Option<Glob>)>),
    Numbers(Vec<f64>),
    Dates(Vec<i128>),
    Bools(Vec<bool>),
    Binary(Vec<Vec<u8>>),
    Ips(Vec<IpNet>),
    Arns(Vec<(Template, Option<ArnPattern>)>),
    Null(bool),
}

/// One `"Operator": {"key": values}` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    operator_name: String,
    operator: Operator,
    negated: bool,
    if_exists: bool,
    qualifier: SetQualifier,
    key: String,
    key_lowercase: String,
    written_values: serde_json::Value,
    values: Values,
}

fn parse_operator(name: &str) -> Option<(SetQualifier, Operator, bool, bool)> {
    let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
        (SetQualifier::ForAllValues, rest)
    } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
        (SetQualifier::ForAnyValue, rest)
    } else {
        (SetQualifier::Single, name)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    let &(_, operator, negated) = OPERATORS.iter().find(|(n, _, _)| *n == base)?;
    if operator == Operator::Null && if_exists {
        return None;
    }
    Some((qualifier, operator, negated, if_exists))
}

impl Condition {
    /// Compiles one condition. `values` are the JSON values as strings; `variables` is
    /// whether the policy version allows policy variables; `written` is the JSON value as
    /// written, kept for the canonical form.
    pub fn parse(
        operator_name: &str,
        key: &str,
        values: &[String],
        variables: bool,
        written: &serde_json::Value,
    ) -> Result<Self, String> {
        let (qualifier, operator, negated, if_exists) = parse_operator(operator_name)
            .ok_or_else(|| format!("unknown condition operator `{operator_name}`"))?;
        if !is_condition_key(key) {
            return Err(format!(
                "`{key}` is not a condition key: expected `prefix:name`, e.g. `aws:SourceIp`"
            ));
        }
        if values.is_empty() {
            return Err("a condition needs at least one value".into());
        }
        let values = compile_values(operator, values, variables)?;
        Ok(Self {
            operator_name: operator_name.to_owned(),
            operator,
            negated,
            if_exists,
            qualifier,
            key: key.to_owned(),
            key_lowercase: key.to_ascii_lowercase(),
            written_values: written.clone(),
            values,
        })
    }

    /// The operator as written, e.g. `ForAnyValue:StringLike`.
    pub fn operator_name(&self) -> &str {
        &self.operator_name
    }

    /// The condition key as written.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Every context key (lowercase) the condition reads: its own key and the keys of the
    /// policy variables in its values.
    pub fn referenced_keys(&self) -> Vec<&str> {
        let mut keys = vec![self.key_lowercase.as_str()];
        match &self.values {
            Values::Strings(templates) => {
                keys.extend(templates.iter().flat_map(Template::variable_keys))
            }
            Values::Patterns(patterns) => {
                keys.extend(patterns.iter().flat_map(|(t, _)| t.variable_keys()))
            }
            Values::Arns(patterns) => {
                keys.extend(patterns.iter().flat_map(|(t, _)| t.variable_keys()))
            }
            _ => {}
        }
        keys
    }

    /// The values as written (a scalar or a list).
    pub fn values_as_written(&self) -> &serde_json::Value {
        &self.written_values
    }

    /// Evaluates against `context`; keys the condition needed but the context lacks are
    /// added to `missing`.
    pub fn evaluate(&self, context: &RequestContext, missing: &mut Vec<String>) -> bool {
        let present = context
            .values(&self.key_lowercase)
            .filter(|v| !v.is_empty());
        if let Values::Null(must_be_absent) = self.values {
            return must_be_absent == present.is_none();
        }
        let present = match self.qualifier {
            // For set operators an empty string is a null data set.
            SetQualifier::ForAllValues | SetQualifier::ForAnyValue => {
                present.filter(|v| !matches!(v, [only] if only.is_empty()))
            }
            SetQualifier::Single => present,
        };
        let Some(request_values) = present else {
            missing.push(self.key.clone());
            return match self.qualifier {
                SetQualifier::ForAllValues => true,
                SetQualifier::ForAnyValue => self.if_exists,
                SetQualifier::Single => self.if_exists || self.negated,
            };
        };
        // For each request value: does it satisfy the (possibly negated) operator?
        let (mut all_satisfy, mut any_satisfies) = (true, false);
        for value in request_values {
            match self.matches_any_policy_value(value, context, missing) {
                Some(matched) => {
                    let satisfies = matched != self.negated;
                    all_satisfy &= satisfies;
                    any_satisfies |= satisfies;
                }
                // A policy variable could not be resolved: the condition fails.
                None => return false,
            }
        }
        match (self.qualifier, self.negated) {
            (SetQualifier::ForAllValues, _) | (SetQualifier::Single, true) => all_satisfy,
            (SetQualifier::ForAnyValue, _) | (SetQualifier::Single, false) => any_satisfies,
        }
    }

    /// Whether `request` matches any policy value (the positive form of the operator);
    /// `None` when no policy value could be resolved.
    fn matches_any_policy_value(
        &self,
        request: &str,
        context: &RequestContext,
        missing: &mut Vec<String>,
    ) -> Option<bool> {
        match &self.values {
            Values::Strings(templates) => resolve_any(templates.iter(), missing, |t| {
                let text = t.text(context)?;
                Ok(match self.operator {
                    Operator::StringEqualsIgnoreCase => {
                        text.to_lowercase() == request.to_lowercase()
                    }
                    _ => text == request,
                })
            }),
            Values::Patterns(patterns) => {
                resolve_any(patterns.iter(), missing, |(template, glob)| match glob {
                    Some(glob) => Ok(glob.matches(request)),
                    None => Ok(template.glob(context, Case::Sensitive)?.matches(request)),
                })
            }
            Values::Arns(patterns) => {
                let arn = Arn::parse(request);
                resolve_any(patterns.iter(), missing, |(template, pattern)| {
                    let Some(arn) = arn else { return Ok(false) };
                    match pattern {
                        Some(pattern) => Ok(pattern.matches(&arn)),
                        None => Ok(ArnPattern::new(&template.text(context)?)
                            .is_some_and(|p| p.matches(&arn))),
                    }
                })
            }
            Values::Numbers(numbers) => {
                let request = parse_number(request);
                Some(request.is_some_and(|r| {
                    numbers
                        .iter()
                        .any(|p| compare(self.operator, r.total_cmp(p)))
                }))
            }
            Values::Dates(dates) => {
                let request = parse_date(request);
                Some(
                    request.is_some_and(|r| dates.iter().any(|p| compare(self.operator, r.cmp(p)))),
                )
            }
            Values::Bools(bools) => {
                let request = parse_bool(request);
                Some(request.is_some_and(|r| bools.contains(&r)))
            }
            Values::Binary(blobs) => {
                let request = decode_base64(request);
                Some(request.is_some_and(|r| blobs.contains(&r)))
            }
            Values::Ips(networks) => {
                let request = request.trim().parse::<IpAddr>().ok();
                Some(request.is_some_and(|ip| networks.iter().any(|n| n.contains(&ip))))
            }
            Values::Null(_) => Some(false),
        }
    }
}

/// `any` over policy values that may need variables; values whose variables are missing
/// are skipped (and their keys recorded); `None` when every value was skipped.
fn resolve_any<'a, T: 'a>(
    values: impl Iterator<Item = &'a T>,
    missing: &mut Vec<String>,
    mut matches: impl FnMut(&'a T) -> Result<bool, super::variables::MissingVariable>,
) -> Option<bool> {
    let mut resolved_any = false;
    for value in values {
        match matches(value) {
            Ok(true) => return Some(true),
            Ok(false) => resolved_any = true,
            Err(missing_variable) => missing.push(missing_variable.0),
        }
    }
    resolved_any.then_some(false)
}

/// Whether `request.cmp(policy)` satisfies the ordering operator.
fn compare(operator: Operator, ordering: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match operator {
        Operator::NumericEquals | Operator::DateEquals => ordering == Equal,
        Operator::NumericLessThan | Operator::DateLessThan => ordering == Less,
        Operator::NumericLessThanEquals | Operator::DateLessThanEquals => ordering != Greater,
        Operator::NumericGreaterThan | Operator::DateGreaterThan => ordering == Greater,
        Operator::NumericGreaterThanEquals | Operator::DateGreaterThanEquals => ordering != Less,
        _ => false,
    }
}

fn compile_values(
    operator: Operator,
    values: &[String],
    variables: bool,
) -> Result<Values, String> {
    let each = |parse: &dyn Fn(&str) -> Option<()>, what: &str| -> Result<(), String> {
        for v in values {
            parse(v).ok_or_else(|| format!("`{v}` is not {what}"))?;
        }
        Ok(())
    };
    Ok(match operator {
        Operator::StringEquals | Operator::StringEqualsIgnoreCase => Values::Strings(
            values
                .iter()
                .map(|v| Template::parse(v, variables))
                .collect::<Result<_, _>>()?,
        ),
        Operator::StringLike => Values::Patterns(
            values
                .iter()
                .map(|v| {
                    let template = Template::parse(v, variables)?;
                    let glob = if template.has_variables() {
                        None
                    } else {
                        template
                            .glob(&RequestContext::default(), Case::Sensitive)
                            .ok()
                    };
                    Ok((template, glob))
                })
                .collect::<Result<_, String>>()?,
        ),
        Operator::Arn => Values::Arns(
            values
                .iter()
                .map(|v| {
                    let template = Template::parse(v, variables)?;
                    if template.has_variables() {
                        return Ok((template, None));
                    }
                    let literal = template
                        .text(&RequestContext::default())
                        .map_err(|_| format!("`{v}` is not an ARN"))?;
                    let pattern = ArnPattern::new(&literal).ok_or_else(|| {
                        format!(
                            "`{v}` is not an ARN (arn:partition:service:region:account:resource)"
                        )
                    })?;
                    Ok((template, Some(pattern)))
                })
                .collect::<Result<_, String>>()?,
        ),
        Operator::NumericEquals
        | Operator::NumericLessThan
        | Operator::NumericLessThanEquals
        | Operator::NumericGreaterThan
        | Operator::NumericGreaterThanEquals => {
            each(&|v| parse_number(v).map(|_| ()), "a number")?;
            Values::Numbers(values.iter().filter_map(|v| parse_number(v)).collect())
        }
        Operator::DateEquals
        | Operator::DateLessThan
        | Operator::DateLessThanEquals
        | Operator::DateGreaterThan
        | Operator::DateGreaterThanEquals => {
            each(
                &|v| parse_date(v).map(|_| ()),
                "a date (ISO 8601 or epoch seconds)",
            )?;
            Values::Dates(values.iter().filter_map(|v| parse_date(v)).collect())
        }
        Operator::Bool => {
            each(&|v| parse_bool(v).map(|_| ()), "`true` or `false`")?;
            Values::Bools(values.iter().filter_map(|v| parse_bool(v)).collect())
        }
        Operator::BinaryEquals => {
            each(&|v| decode_base64(v).map(|_| ()), "base64")?;
            Values::Binary(values.iter().filter_map(|v| decode_base64(v)).collect())
        }
        Operator::IpAddress => {
            each(
                &|v| parse_network(v).map(|_| ()),
                "an IP address or CIDR block",
            )?;
            Values::Ips(values.iter().filter_map(|v| parse_network(v)).collect())
        }
        Operator::Null => match values {
            [one] => Values::Null(
                parse_bool(one).ok_or_else(|| format!("`{one}` is not `true` or `false`"))?,
            ),
            _ => return Err("`Null` takes exactly one value, `true` or `false`".into()),
        },
    })
}

/// A finite number (integers and decimals).
fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// `true` / `false`, any letter case.
fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let engine = &base64::engine::general_purpose::STANDARD;
    engine.decode(text.trim()).ok().or_else(|| {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(text.trim())
            .ok()
    })
}

/// A CIDR block, or a single address as its /32 or /128.
fn parse_network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .map(|n| n.trunc())
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// A date as nanoseconds since the Unix epoch: epoch seconds (`1700000000`, `1700000000.5`)
/// or ISO 8601 (`2026-01-01T00:00:00Z`, with an offset, without one as UTC, or a date alone).
pub fn parse_date(text: &str) -> Option<i128> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds.is_finite().then_some((seconds * 1e9) as i128);
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(at.unix_timestamp_nanos());
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Iso8601::DEFAULT) {
        return Some(at.unix_timestamp_nanos());
    }
    if let Ok(at) = PrimitiveDateTime::parse(text, &Iso8601::DEFAULT) {
        return Some(at.assume_utc().unix_timestamp_nanos());
    }
    Date::parse(text, &Iso8601::DEFAULT)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp_nanos())
}
