//! IAM policy documents: the compiled statements, their indexes and their serialisation;
//! `parse` reads and validates them.

use std::fmt;

use serde_json::{Map, Value};

use super::arn::ArnPattern;
use super::condition::Condition;
use super::glob::Glob;
use super::principal::PrincipalSet;
use super::variables::Template;

mod parse;

pub use parse::counted_size;

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

    /// The action patterns as written (`s3:Get*`, `*`), and whether they are a `NotAction`.
    pub fn action_patterns(&self) -> (Vec<&str>, bool) {
        (strings_of(&self.actions.written), self.actions.negated)
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
