//! IAM policy documents: parsing and validation in the manner of IAM's
//! `MalformedPolicyDocument`, with every finding located by its JSON path.

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value};

use super::arn::ArnPattern;
use super::condition::Condition;
use super::context::RequestContext;
use super::glob::{Case, Glob};
use super::principal::PrincipalSet;
use super::variables::Template;

/// What a policy is attached as; decides the grammar and the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// A customer or AWS managed policy (also a permissions boundary): 6,144 characters.
    Managed,
    /// An inline policy of a role or user: 10,240 characters.
    Inline,
    /// A session policy passed to AssumeRole*: 2,048 characters.
    Session,
    /// A role's trust policy: 2,048 characters (IAM's default quota).
    Trust,
    /// A resource-based policy (bucket, key, queue…): 20,480 characters.
    Resource,
}

impl PolicyKind {
    /// IAM's size limit, in characters not counting white space.
    pub fn size_limit(self) -> usize {
        match self {
            PolicyKind::Managed => 6_144,
            PolicyKind::Inline => 10_240,
            PolicyKind::Session | PolicyKind::Trust => 2_048,
            PolicyKind::Resource => 20_480,
        }
    }

    fn label(self) -> &'static str {
        match self {
            PolicyKind::Managed => "a managed policy",
            PolicyKind::Inline => "an inline policy",
            PolicyKind::Session => "a session policy",
            PolicyKind::Trust => "a trust policy",
            PolicyKind::Resource => "a resource-based policy",
        }
    }

    /// Trust and resource-based policies name principals; identity policies must not.
    fn names_principals(self) -> bool {
        matches!(self, PolicyKind::Trust | PolicyKind::Resource)
    }
}

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17`, or no `Version`: `${…}` is literal text.
    V2008_10_17,
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants.
    Allow,
    /// Refuses, whatever else grants.
    Deny,
}

/// A resource pattern.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ResourcePattern {
    /// `*`.
    Any,
    /// An ARN pattern without variables, compiled.
    Arn(ArnPattern),
    /// An ARN pattern with policy variables, compiled per request.
    Template(Template),
}

/// An `Action`/`NotAction`, `Resource`/`NotResource` or `Principal`/`NotPrincipal` element.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Element<T> {
    /// Whether it is the `Not…` form.
    pub(super) negated: bool,
    pub(super) items: T,
    /// The element as written (a lone string stays a string), for the canonical form.
    pub(super) written: Value,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Position in the `Statement` array (0 for a lone object).
    pub index: usize,
    /// `Sid`, when given.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
    pub(super) actions: Element<Vec<Glob>>,
    pub(super) resources: Option<Element<Vec<ResourcePattern>>>,
    pub(super) principals: Option<Element<PrincipalSet>>,
    pub(super) conditions: Vec<Condition>,
}

impl Statement {
    /// The conditions of this statement.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}

/// The statements of a policy by the service prefix of their actions, so evaluation looks
/// only at statements that can match the request's service.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct ActionIndex {
    /// Lowercased service prefix → statement positions (ascending).
    by_service: std::collections::HashMap<String, Vec<usize>>,
    /// Statements that can match any service (`*`, `NotAction`), ascending.
    any_service: Vec<usize>,
}

impl ActionIndex {
    fn new(statements: &[Statement]) -> Self {
        let mut index = Self::default();
        for (position, statement) in statements.iter().enumerate() {
            let services: Option<Vec<String>> = if statement.actions.negated {
                None
            } else {
                strings_of(&statement.actions.written)
                    .into_iter()
                    .map(|a| a.split_once(':').map(|(s, _)| s.to_ascii_lowercase()))
                    .collect()
            };
            match services {
                Some(mut services) => {
                    services.sort();
                    services.dedup();
                    for service in services {
                        index.by_service.entry(service).or_default().push(position);
                    }
                }
                None => index.any_service.push(position),
            }
        }
        index
    }

    /// Positions of the statements that may match an action of `service` (lowercase), in
    /// ascending order.
    pub(super) fn candidates<'a>(&'a self, service: &str) -> impl Iterator<Item = usize> + 'a {
        let indexed = self.by_service.get(service).map_or(&[][..], Vec::as_slice);
        MergeAscending {
            left: indexed,
            right: &self.any_service,
        }
    }
}

/// Merges two ascending lists of positions.
struct MergeAscending<'a> {
    left: &'a [usize],
    right: &'a [usize],
}

impl Iterator for MergeAscending<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        match (self.left.split_first(), self.right.split_first()) {
            (Some((&l, rest)), Some((&r, _))) if l < r => {
                self.left = rest;
                Some(l)
            }
            (_, Some((&r, rest))) => {
                self.right = rest;
                Some(r)
            }
            (Some((&l, rest)), None) => {
                self.left = rest;
                Some(l)
            }
            (None, None) => None,
        }
    }
}

/// A parsed, validated policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Where it came from: a file name, an ARN, `PolicyInputList.1`.
    pub name: String,
    /// What it is attached as.
    pub kind: PolicyKind,
    /// `Version`.
    pub version: Version,
    /// `Id`, when given.
    pub id: Option<String>,
    /// The statements, in order.
    pub statements: Vec<Statement>,
    /// The document as written, for display.
    pub source: String,
    pub(super) index: ActionIndex,
    /// Whether `Version` was written (the canonical form keeps the document's shape, so it
    /// is never larger than the original and stays within the same size limit).
    pub(super) version_written: bool,
    /// Whether `Statement` was one object rather than a list.
    pub(super) lone_statement: bool,
}

/// One problem found in a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A JSON path, e.g. `$.Statement[1].Condition.StringEquals["aws:username"]`.
    pub path: String,
    /// What is wrong there.
    pub reason: String,
}

/// Why a policy document was rejected: IAM's `MalformedPolicyDocument`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    /// Every problem found, in document order.
    pub findings: Vec<Finding>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self
            .findings
            .iter()
            .map(|x| format!("{}: {}", x.path, x.reason))
            .collect();
        f.write_str(&lines.join("\n"))
    }
}

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

impl Policy {
    /// Every context key (lowercase) the policy's conditions and resource variables read.
    pub fn referenced_keys(&self) -> std::collections::BTreeSet<String> {
        let mut keys = std::collections::BTreeSet::new();
        for statement in &self.statements {
            for condition in &statement.conditions {
                keys.extend(condition.referenced_keys().into_iter().map(str::to_owned));
            }
            for pattern in statement.resources.iter().flat_map(|r| r.items.iter()) {
                if let ResourcePattern::Template(template) = pattern {
                    keys.extend(template.variable_keys().map(str::to_owned));
                }
            }
        }
        keys
    }

    /// The document in a canonical form: keys in a fixed order, no white space, every value
    /// in the shape it was written. Parsing it gives the same statements, and it is never
    /// larger than the original, so it passes the same size limit.
    pub fn to_json(&self) -> Value {
        let mut document = Map::new();
        if self.version_written {
            let version = match self.version {
                Version::V2012_10_17 => "2012-10-17",
                Version::V2008_10_17 => "2008-10-17",
            };
            document.insert("Version".into(), Value::from(version));
        }
        if let Some(id) = &self.id {
            document.insert("Id".into(), Value::from(id.clone()));
        }
        let mut statements: Vec<Value> = self.statements.iter().map(Statement::to_json).collect();
        let statement = match (self.lone_statement, statements.len()) {
            (true, 1) => statements.pop().unwrap_or_default(),
            _ => Value::from(statements),
        };
        document.insert("Statement".into(), statement);
        Value::Object(document)
    }
}

impl Statement {
    fn to_json(&self) -> Value {
        let mut statement = Map::new();
        if let Some(sid) = &self.sid {
            statement.insert("Sid".into(), Value::from(sid.clone()));
        }
        let effect = match self.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        };
        statement.insert("Effect".into(), Value::from(effect));
        let mut element = |name: &str, negated: bool, written: &Value| {
            let key = if negated {
                format!("Not{name}")
            } else {
                name.to_owned()
            };
            statement.insert(key, written.clone());
        };
        if let Some(principals) = &self.principals {
            element("Principal", principals.negated, &principals.written);
        }
        element("Action", self.actions.negated, &self.actions.written);
        if let Some(resources) = &self.resources {
            element("Resource", resources.negated, &resources.written);
        }
        if !self.conditions.is_empty() {
            let mut blocks: Map<String, Value> = Map::new();
            for condition in &self.conditions {
                let block = blocks
                    .entry(condition.operator_name().to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(keys) = block {
                    keys.insert(
                        condition.key().to_owned(),
                        condition.values_as_written().clone(),
                    );
                }
            }
            statement.insert("Condition".into(), Value::Object(blocks));
        }
        Value::Object(statement)
    }
}

/// The strings of a value written as one string or a list of strings.
fn strings_of(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
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
    match super::arn::Arn::parse(principal) {
        Some(arn) if arn.account.len() == 12 && arn.account.chars().all(|c| c.is_ascii_digit()) => {
            Ok(())
        }
        _ => Err(format!(
            "principal `{principal}` must be a 12-digit account id or an IAM/STS ARN"
        )),
    }
}
