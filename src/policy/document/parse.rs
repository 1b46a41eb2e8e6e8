//! Parsing and validation in the manner of IAM's `MalformedPolicyDocument`: every finding
//! located by its JSON path.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{
    ActionIndex, Effect, Element, Finding, Policy, PolicyError, PolicyKind, ResourcePattern,
    Statement, Version,
};
use crate::policy::condition::Condition;
use crate::policy::context::RequestContext;
use crate::policy::glob::{Case, Glob};
use crate::policy::principal::PrincipalSet;
use crate::policy::variables::Template;

const DOCUMENT_ELEMENTS: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT_ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
const PRINCIPAL_TYPES: [&str; 4] = ["AWS", "Federated", "Service", "CanonicalUser"];

impl Policy {
    /// Parses and validates `text` as a policy of `kind` named `name`.
    pub fn parse(text: &str, kind: PolicyKind, name: &str) -> Result<Self, PolicyError> {
        let mut parser = Parser::default();
        let policy = parser.document(text, kind, name);
        match policy {
            Some(policy) if parser.findings.is_empty() => Ok(policy),
            _ => Err(PolicyError {
                findings: parser.findings,
            }),
        }
    }
}

/// Counts characters as IAM does against its size limits: white space outside strings is
/// free.
pub fn counted_size(text: &str) -> usize {
    let mut in_string = false;
    let mut escaped = false;
    let mut count = 0;
    for c in text.chars() {
        if in_string {
            count += 1;
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            count += 1;
            in_string = c == '"';
        }
    }
    count
}

#[derive(Default)]
struct Parser {
    findings: Vec<Finding>,
}

fn key_path(parent: &str, key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", serde_json::Value::String(key.to_owned()))
    }
}

impl Parser {
    fn finding(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.findings.push(Finding {
            path: path.into(),
            reason: reason.into(),
        });
    }

    fn document(&mut self, text: &str, kind: PolicyKind, name: &str) -> Option<Policy> {
        let value: Value = match serde_json::from_str(text) {
            Ok(value) => value,
            Err(e) => {
                self.finding(
                    "$",
                    format!(
                        "not valid JSON (line {}, column {}): {e}",
                        e.line(),
                        e.column()
                    ),
                );
                return None;
            }
        };
        let Value::Object(document) = value else {
            self.finding("$", "a policy document must be a JSON object");
            return None;
        };
        let size = counted_size(text);
        if size > kind.size_limit() {
            self.finding(
                "$",
                format!(
                    "the document is {size} characters (white space not counted); the limit for {} is {}",
                    kind.label(),
                    kind.size_limit()
                ),
            );
        }
        self.unknown_elements("$", &document, &DOCUMENT_ELEMENTS);
        let version = self.version(document.get("Version"));
        let id = match document.get("Id") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => {
                self.finding("$.Id", "must be a string");
                None
            }
        };
        let statements = self.statements(document.get("Statement"), kind, version);
        Some(Policy {
            version_written: document.contains_key("Version"),
            lone_statement: document.get("Statement").is_some_and(Value::is_object),
            index: ActionIndex::new(&statements),
            name: name.to_owned(),
            kind,
            version,
            id,
            statements,
            source: text.to_owned(),
        })
    }

    fn unknown_elements(&mut self, path: &str, object: &Map<String, Value>, known: &[&str]) {
        for key in object.keys() {
            if !known.contains(&key.as_str()) {
                let hint = known
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(key) || strsim::levenshtein(k, key) <= 2)
                    .map(|k| format!(" (did you mean `{k}`?)"))
                    .unwrap_or_default();
                self.finding(
                    key_path(path, key),
                    format!("unknown element `{key}`{hint}"),
                );
            }
        }
    }

    fn version(&mut self, value: Option<&Value>) -> Version {
        match value.map(Value::as_str) {
            None => Version::V2008_10_17,
            Some(Some("2012-10-17")) => Version::V2012_10_17,
            Some(Some("2008-10-17")) => Version::V2008_10_17,
            Some(_) => {
                self.finding("$.Version", "must be \"2012-10-17\" or \"2008-10-17\"");
                Version::V2012_10_17
            }
        }
    }

    fn statements(
        &mut self,
        value: Option<&Value>,
        kind: PolicyKind,
        version: Version,
    ) -> Vec<Statement> {
        let items: Vec<(String, &Value)> = match value {
            None => {
                self.finding("$.Statement", "is required");
                return Vec::new();
            }
            Some(Value::Array(items)) if items.is_empty() => {
                self.finding("$.Statement", "must hold at least one statement");
                return Vec::new();
            }
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("$.Statement[{i}]"), v))
                .collect(),
            Some(object @ Value::Object(_)) => vec![("$.Statement".to_owned(), object)],
            Some(_) => {
                self.finding("$.Statement", "must be an object or an array of objects");
                return Vec::new();
            }
        };
        let mut sids = HashSet::new();
        let mut statements = Vec::with_capacity(items.len());
        for (index, (path, value)) in items.into_iter().enumerate() {
            if let Some(statement) = self.statement(&path, index, value, kind, version) {
                if let Some(sid) = &statement.sid
                    && !sids.insert(sid.clone())
                {
                    self.finding(
                        format!("{path}.Sid"),
                        format!("`{sid}` is used by an earlier statement; Sids must be unique"),
                    );
                }
                statements.push(statement);
            }
        }
        statements
    }

    fn statement(
        &mut self,
        path: &str,
        index: usize,
        value: &Value,
        kind: PolicyKind,
        version: Version,
    ) -> Option<Statement> {
        let Value::Object(statement) = value else {
            self.finding(path, "a statement must be a JSON object");
            return None;
        };
        let before = self.findings.len();
        self.unknown_elements(path, statement, &STATEMENT_ELEMENTS);
        let sid = self.sid(path, statement.get("Sid"), kind);
        let effect = self.effect(path, statement.get("Effect"));
        let actions = self.actions(path, statement);
        let resources = self.resources(path, statement, kind, version);
        let principals = self.principals(path, statement, kind);
        let conditions = self.conditions(path, statement.get("Condition"), version);
        if self.findings.len() > before {
            return None;
        }
        Some(Statement {
            index,
            sid,
            effect: effect?,
            actions: actions?,
            resources,
            principals,
            conditions,
        })
    }

    fn sid(&mut self, path: &str, value: Option<&Value>, kind: PolicyKind) -> Option<String> {
        let sid = match value? {
            Value::String(sid) => sid.clone(),
            _ => {
                self.finding(format!("{path}.Sid"), "must be a string");
                return None;
            }
        };
        // IAM policies allow only ASCII letters and digits; resource policies are freer.
        if kind != PolicyKind::Resource && !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            self.finding(
                format!("{path}.Sid"),
                format!("`{sid}` may contain only ASCII letters and digits"),
            );
        }
        Some(sid)
    }

    fn effect(&mut self, path: &str, value: Option<&Value>) -> Option<Effect> {
        match value {
            Some(Value::String(e)) if e == "Allow" => Some(Effect::Allow),
            Some(Value::String(e)) if e == "Deny" => Some(Effect::Deny),
            None => {
                self.finding(format!("{path}.Effect"), "is required");
                None
            }
            Some(other) => {
                self.finding(
                    format!("{path}.Effect"),
                    format!("must be \"Allow\" or \"Deny\", not {other}"),
                );
                None
            }
        }
    }

    /// Exactly one of `name` and `Not{name}`.
    fn pair<'v>(
        &mut self,
        path: &str,
        statement: &'v Map<String, Value>,
        name: &str,
    ) -> Option<(bool, String, &'v Value)> {
        let not = format!("Not{name}");
        match (statement.get(name), statement.get(&not)) {
            (Some(_), Some(_)) => {
                self.finding(
                    format!("{path}.{not}"),
                    format!("a statement may have `{name}` or `{not}`, not both"),
                );
                None
            }
            (Some(v), None) => Some((false, format!("{path}.{name}"), v)),
            (None, Some(v)) => Some((true, format!("{path}.{not}"), v)),
            (None, None) => None,
        }
    }

    /// A string or a non-empty array of strings.
    fn strings(&mut self, path: &str, value: &Value) -> Option<Vec<String>> {
        match value {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) if items.is_empty() => {
                self.finding(path, "must not be an empty list");
                None
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        _ => self.finding(format!("{path}[{i}]"), "must be a string"),
                    }
                }
                (out.len() == items.len()).then_some(out)
            }
            _ => {
                self.finding(path, "must be a string or a list of strings");
                None
            }
        }
    }

    fn actions(
        &mut self,
        path: &str,
        statement: &Map<String, Value>,
    ) -> Option<Element<Vec<Glob>>> {
        let Some((negated, path, value)) = self.pair(path, statement, "Action") else {
            if !statement.contains_key("Action") && !statement.contains_key("NotAction") {
                self.finding(
                    format!("{path}.Action"),
                    "a statement needs `Action` or `NotAction`",
                );
            }
            return None;
        };
        let values = self.strings(&path, value)?;
        let mut globs = Vec::with_capacity(values.len());
        for (i, action) in values.iter().enumerate() {
            match validate_action(action) {
                Ok(()) => globs.push(Glob::new(action, Case::Insensitive)),
                Err(reason) => self.finding(item_path(&path, value, i), reason),
            }
        }
        (globs.len() == values.len()).then(|| Element {
            negated,
            items: globs,
            written: value.clone(),
        })
    }

    fn resources(
        &mut self,
        path: &str,
        statement: &Map<String, Value>,
        kind: PolicyKind,
        version: Version,
    ) -> Option<Element<Vec<ResourcePattern>>> {
        let present = statement.contains_key("Resource") || statement.contains_key("NotResource");
        if kind == PolicyKind::Trust {
            if present {
                let name = if statement.contains_key("Resource") {
                    "Resource"
                } else {
                    "NotResource"
                };
                self.finding(
                    format!("{path}.{name}"),
                    "a trust policy must not name resources (the role is the resource)",
                );
            }
            return None;
        }
        let Some((negated, path, value)) = self.pair(path, statement, "Resource") else {
            if !present && kind != PolicyKind::Resource {
                self.finding(
                    format!("{path}.Resource"),
                    "a statement needs `Resource` or `NotResource`",
                );
            }
            return None;
        };
        let values = self.strings(&path, value)?;
        let mut patterns = Vec::with_capacity(values.len());
        for (i, resource) in values.iter().enumerate() {
            match resource_pattern(resource, version) {
                Ok(pattern) => patterns.push(pattern),
                Err(reason) => self.finding(item_path(&path, value, i), reason),
            }
        }
        (patterns.len() == values.len()).then(|| Element {
            negated,
            items: patterns,
            written: value.clone(),
        })
    }

    fn principals(
        &mut self,
        path: &str,
        statement: &Map<String, Value>,
        kind: PolicyKind,
    ) -> Option<Element<PrincipalSet>> {
        let present = statement.contains_key("Principal") || statement.contains_key("NotPrincipal");
        if !kind.names_principals() {
            if present {
                let name = if statement.contains_key("Principal") {
                    "Principal"
                } else {
                    "NotPrincipal"
                };
                self.finding(
                    format!("{path}.{name}"),
                    format!("{} must not name a principal", kind.label()),
                );
            }
            return None;
        }
        let Some((negated, path, value)) = self.pair(path, statement, "Principal") else {
            if !present {
                self.finding(
                    format!("{path}.Principal"),
                    format!("{} needs `Principal` or `NotPrincipal`", kind.label()),
                );
            }
            return None;
        };
        let (set, written) = match value {
            Value::String(s) if s == "*" => (
                PrincipalSet {
                    everyone: true,
                    ..PrincipalSet::default()
                },
                value.clone(),
            ),
            Value::Object(types) => (self.principal_types(&path, types)?, value.clone()),
            _ => {
                self.finding(&path, "must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:root\"}");
                return None;
            }
        };
        Some(Element {
            negated,
            items: set,
            written,
        })
    }

    fn principal_types(&mut self, path: &str, types: &Map<String, Value>) -> Option<PrincipalSet> {
        self.unknown_elements(path, types, &PRINCIPAL_TYPES);
        if types.is_empty() {
            self.finding(path, "must name at least one principal");
            return None;
        }
        let mut set = PrincipalSet::default();
        let before = self.findings.len();
        for (kind, value) in types {
            let type_path = key_path(path, kind);
            let Some(values) = self.strings(&type_path, value) else {
                continue;
            };
            for (i, principal) in values.into_iter().enumerate() {
                let item = item_path(&type_path, value, i);
                match kind.as_str() {
                    "AWS" if principal == "*" => set.everyone = true,
                    "AWS" => match validate_aws_principal(&principal) {
                        Ok(()) => set.aws.push(principal),
                        Err(reason) => self.finding(item, reason),
                    },
                    "Federated" | "Service" | "CanonicalUser"
                        if principal.is_empty() || principal.contains(['*', '?']) =>
                    {
                        self.finding(item, "must be a name or ARN without wildcards")
                    }
                    "Federated" => set.federated.push(principal),
                    "Service" => set.service.push(principal),
                    "CanonicalUser" => set.canonical_user.push(principal),
                    _ => {}
                }
            }
        }
        (self.findings.len() == before).then_some(set)
    }

    fn conditions(
        &mut self,
        path: &str,
        value: Option<&Value>,
        version: Version,
    ) -> Vec<Condition> {
        let path = format!("{path}.Condition");
        let blocks = match value {
            None => return Vec::new(),
            Some(Value::Object(blocks)) => blocks,
            Some(_) => {
                self.finding(path, "must be an object of condition operators");
                return Vec::new();
            }
        };
        let variables = version == Version::V2012_10_17;
        let mut conditions = Vec::new();
        for (operator, block) in blocks {
            let operator_path = key_path(&path, operator);
            let Value::Object(keys) = block else {
                self.finding(
                    operator_path,
                    "must be an object of condition keys and values",
                );
                continue;
            };
            if keys.is_empty() {
                self.finding(&operator_path, "must name at least one condition key");
            }
            for (key, written) in keys {
                let entry_path = key_path(&operator_path, key);
                let Some(values) = self.condition_values(&entry_path, written) else {
                    continue;
                };
                match Condition::parse(operator, key, &values, variables, written) {
                    Ok(condition) => conditions.push(condition),
                    Err(reason) => self.finding(entry_path, reason),
                }
            }
        }
        conditions
    }

    /// Condition values: strings, numbers or booleans, alone or in a list.
    fn condition_values(&mut self, path: &str, value: &Value) -> Option<Vec<String>> {
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        match value {
            Value::Array(items) => {
                let values: Vec<String> = items.iter().filter_map(scalar).collect();
                if values.len() != items.len() {
                    self.finding(
                        path,
                        "condition values must be strings, numbers or booleans",
                    );
                    return None;
                }
                Some(values)
            }
            other => match scalar(other) {
                Some(v) => Some(vec![v]),
                None => {
                    self.finding(
                        path,
                        "condition values must be strings, numbers or booleans",
                    );
                    None
                }
            },
        }
    }
}

/// The path of item `i` of `value`: the path itself when the value was a lone string.
fn item_path(path: &str, value: &Value, i: usize) -> String {
    if value.is_array() {
        format!("{path}[{i}]")
    } else {
        path.to_owned()
    }
}

/// `*`, or `service:action` where the service has no wildcard and the action is letters,
/// digits and wildcards.
fn validate_action(action: &str) -> Result<(), String> {
    if action == "*" {
        return Ok(());
    }
    let Some((service, name)) = action.split_once(':') else {
        return Err(format!(
            "action `{action}` must be `*` or `service:Action`, e.g. `s3:GetObject`"
        ));
    };
    if service.is_empty()
        || !service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(format!(
            "action `{action}`: the service prefix must be letters, digits or `-`, with no wildcard"
        ));
    }
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?' || c == '-' || c == '_')
    {
        return Err(format!(
            "action `{action}`: the action name must be letters, digits and the wildcards `*` `?`"
        ));
    }
    Ok(())
}

fn resource_pattern(resource: &str, version: Version) -> Result<ResourcePattern, String> {
    if resource == "*" {
        return Ok(ResourcePattern::Any);
    }
    let template = Template::parse(resource, version == Version::V2012_10_17)?;
    let shape = Template::parse(&template.shape(), false)?;
    if shape
        .arn_pattern(&RequestContext::default())
        .ok()
        .flatten()
        .is_none()
    {
        return Err(format!(
            "resource `{resource}` must be `*` or an ARN (arn:partition:service:region:account:resource)"
        ));
    }
    if template.has_variables() {
        return Ok(ResourcePattern::Template(template));
    }
    template
        .arn_pattern(&RequestContext::default())
        .ok()
        .flatten()
        .map(ResourcePattern::Arn)
        .ok_or_else(|| format!("resource `{resource}` is not a valid ARN pattern"))
}

/// An account id, or an ARN with no wildcard.
fn validate_aws_principal(principal: &str) -> Result<(), String> {
    if principal.len() == 12 && principal.chars().all(|c| c.is_ascii_digit()) {
        return Ok(());
    }
    if principal.contains(['*', '?']) {
        return Err(format!(
            "principal `{principal}`: wildcards are allowed only as the whole value \"*\""
        ));
    }
    match crate::policy::arn::Arn::parse(principal) {
        Some(arn) if arn.account.len() == 12 && arn.account.chars().all(|c| c.is_ascii_digit()) => {
            Ok(())
        }
        _ => Err(format!(
            "principal `{principal}` must be a 12-digit account id or an IAM/STS ARN"
        )),
    }
}
