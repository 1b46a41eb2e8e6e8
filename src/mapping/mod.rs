//! The mapping engine: rules written by IdP administrators turn a signed-in identity into
//! the roles offered to that person, each checked against the role's trust policy.
//!
//! Knows nothing of HTTP or protocols: it takes an [`Identity`] and the [`Directory`].

mod compile;
mod engine;
mod lint;
mod matcher;
mod prefix;
mod raw;
mod reload;
mod template;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use compile::{compile_sources, load_rules};
pub use engine::{
    CandidateOutcome, Explanation, MappingInput, Offer, OfferedRole, RuleOutcome,
    SAML_ROLE_ATTRIBUTE, deny_rule_for, evaluate,
};
pub use lint::{KnownIdp, Lint, lint};
pub use reload::{MappingsHandle, POLL_INTERVAL, ReloadStatus};

use crate::directory::{Directory, Origin};
use matcher::{Matcher, TextTest};
use template::Template;

/// The sample directory and rules `rolegate demo` runs with (`mappings/` in the source).
const SAMPLE_DIRECTORY: [(&str, &str); 1] = [(
    "mappings/directory/accounts.yaml",
    include_str!("../../mappings/directory/accounts.yaml"),
)];
const SAMPLE_RULES: [(&str, &str); 3] = [
    (
        "mappings/rules/10-conventions.yaml",
        include_str!("../../mappings/rules/10-conventions.yaml"),
    ),
    (
        "mappings/rules/20-teams.yaml",
        include_str!("../../mappings/rules/20-teams.yaml"),
    ),
    (
        "mappings/rules/90-deny.yaml",
        include_str!("../../mappings/rules/90-deny.yaml"),
    ),
];

/// The directory and the rules, loaded and checked together.
#[derive(Debug, Clone)]
pub struct Mappings {
    /// Accounts, roles, policies.
    pub directory: Directory,
    /// Compiled rules.
    pub rules: RuleSet,
}

impl Mappings {
    /// Loads the directory and the rules; every problem of either, one per line.
    pub fn load(directory: &Path, rules: &Path) -> Result<Self, Vec<String>> {
        Self::from_results(crate::directory::load(directory), load_rules(rules))
    }

    /// The sample shipped in the binary.
    pub fn sample() -> Result<Self, Vec<String>> {
        let owned = |files: &[(&str, &str)]| -> Vec<(std::path::PathBuf, String)> {
            files
                .iter()
                .map(|(p, t)| (std::path::PathBuf::from(p), (*t).to_owned()))
                .collect()
        };
        Self::from_results(
            crate::directory::load_sources(&owned(&SAMPLE_DIRECTORY)),
            compile_sources(&owned(&SAMPLE_RULES)),
        )
    }

    fn from_results(
        directory: Result<Directory, crate::directory::DirectoryError>,
        rules: Result<RuleSet, MappingError>,
    ) -> Result<Self, Vec<String>> {
        match (directory, rules) {
            (Ok(directory), Ok(rules)) => Ok(Self { directory, rules }),
            (directory, rules) => {
                let mut problems: Vec<String> = directory
                    .err()
                    .into_iter()
                    .flat_map(|e| e.problems)
                    .map(|p| p.to_string())
                    .collect();
                problems.extend(
                    rules
                        .err()
                        .into_iter()
                        .flat_map(|e| e.problems)
                        .map(|p| p.to_string()),
                );
                Err(problems)
            }
        }
    }
}

/// One problem in a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub origin: Option<Origin>,
    /// The file when no line is known.
    pub file: std::path::PathBuf,
    /// What.
    pub reason: String,
}

impl Problem {
    fn new(file: &Path, line: Option<u32>, reason: impl Into<String>) -> Self {
        Self {
            origin: line.map(|line| Origin {
                file: file.into(),
                line,
            }),
            file: file.to_owned(),
            reason: reason.into(),
        }
    }

    fn at(origin: &Origin, reason: impl Into<String>) -> Self {
        Self::new(&origin.file, Some(origin.line), reason)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(origin) => write!(f, "{origin}: {}", self.reason),
            None => write!(f, "{}: {}", self.file.display(), self.reason),
        }
    }
}

/// Why rules could not be loaded: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct MappingError {
    /// The problems.
    pub problems: Vec<Problem>,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// What a grant rule grants, as templates.
#[derive(Debug, Clone)]
pub(crate) struct GrantTemplate {
    pub(crate) account: Template,
    pub(crate) role: Template,
    pub(crate) session_duration: Option<u64>,
    pub(crate) session_tags: BTreeMap<String, Template>,
    pub(crate) transitive_tag_keys: Vec<String>,
    pub(crate) source_identity: Option<Template>,
    pub(crate) session_name: Option<Template>,
}

impl GrantTemplate {
    fn capture_names(&self) -> impl Iterator<Item = &str> {
        [&self.account, &self.role]
            .into_iter()
            .chain(self.session_tags.values())
            .chain(self.source_identity.iter())
            .chain(self.session_name.iter())
            .flat_map(Template::captures)
    }
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its id.
    pub id: String,
    /// What it is for.
    pub description: String,
    /// Whether it removes grants.
    pub deny: bool,
    pub(crate) when: Matcher,
    pub(crate) grant: Option<GrantTemplate>,
    /// Where it was written.
    pub origin: Origin,
}

/// Every rule, compiled, with an index from a person's groups to the grant rules that
/// could match them: exact group names in a hash map, group globs and regexes in one
/// `RegexSet`. Rules that hold without any particular group are always evaluated.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Exact group anchors. The keys come from the rules, never from sign-ins, so a fast
    /// hasher is safe here.
    by_group: foldhash::HashMap<String, Vec<usize>>,
    /// Group patterns with literal prefixes, tried only for groups that start with one.
    prefixed: prefix::PrefixIndex,
    /// For each pattern in `prefixed`, the rules it anchors.
    prefixed_rules: Vec<Vec<usize>>,
    /// Group patterns without a literal prefix.
    patterns: Option<regex::RegexSet>,
    /// For each pattern in `patterns`, the rule it anchors.
    pattern_rules: Vec<usize>,
    /// The sources of every indexed pattern (both kinds).
    pattern_sources: foldhash::HashSet<String>,
    unindexed: Vec<usize>,
    /// Positions of the deny rules, checked against every candidate grant.
    deny_rules: Vec<usize>,
}

/// Something a person's groups must satisfy for a rule to hold.
enum Anchor {
    Group(String),
    Pattern(regex::Regex),
}

impl RuleSet {
    fn new(rules: Vec<Rule>) -> Self {
        let mut by_group: foldhash::HashMap<String, Vec<usize>> = foldhash::HashMap::default();
        let mut prefixed = prefix::PrefixIndex::new();
        let mut prefixed_rules: Vec<Vec<usize>> = Vec::new();
        let mut indexed_sources = foldhash::HashSet::default();
        let mut sources = Vec::new();
        let mut pattern_rules = Vec::new();
        let mut unindexed = Vec::new();
        let mut deny_rules = Vec::new();
        for (position, rule) in rules.iter().enumerate() {
            if rule.deny {
                deny_rules.push(position);
                continue;
            }
            match anchors(&rule.when) {
                Some(anchors) => {
                    for anchor in anchors {
                        match anchor {
                            Anchor::Group(group) => {
                                by_group.entry(group).or_default().push(position)
                            }
                            Anchor::Pattern(regex) => match prefixed.insert(&regex) {
                                Some(index) => {
                                    if prefixed_rules.len() <= index {
                                        prefixed_rules.resize(index + 1, Vec::new());
                                    }
                                    if let Some(rules) = prefixed_rules.get_mut(index) {
                                        rules.push(position);
                                    }
                                    indexed_sources.insert(regex.as_str().to_owned());
                                }
                                None => {
                                    sources.push(regex.as_str().to_owned());
                                    pattern_rules.push(position);
                                }
                            },
                        }
                    }
                }
                None => unindexed.push(position),
            }
        }
        // Every pattern already compiled alone, so the set compiles too; should it not (size
        // limits), its rules are evaluated on every request instead: slower, never wrong.
        let patterns = if sources.is_empty() {
            None
        } else {
            match regex::RegexSet::new(&sources) {
                Ok(set) => Some(set),
                Err(_) => {
                    unindexed.append(&mut pattern_rules);
                    None
                }
            }
        };
        if patterns.is_some() {
            indexed_sources.extend(sources);
        }
        Self {
            rules,
            by_group,
            prefixed,
            prefixed_rules,
            patterns,
            pattern_rules,
            pattern_sources: indexed_sources,
            unindexed,
            deny_rules,
        }
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The deny rules, in file order.
    pub(crate) fn deny_rules(&self) -> impl Iterator<Item = &Rule> {
        self.deny_rules.iter().filter_map(|p| self.rules.get(*p))
    }

    /// Positions of the grant rules that could match someone in `groups`, in rule order,
    /// and which groups each indexed pattern matched.
    fn candidates<'a>(&'a self, groups: &'a [String]) -> (Vec<usize>, matcher::PatternHits<'a>) {
        let mut positions: Vec<usize> = self.unindexed.clone();
        let mut hits = matcher::PatternHits {
            groups: foldhash::HashMap::default(),
            indexed: Some(&self.pattern_sources),
            exact_found: foldhash::HashSet::default(),
            exact_indexed: Some(&self.by_group),
        };
        for group in groups {
            if let Some(rules) = self.by_group.get(group) {
                positions.extend_from_slice(rules);
                hits.exact_found.insert(group.as_str());
            }
            self.prefixed.matches(group, |index| {
                if let (Some(rules), Some(source)) =
                    (self.prefixed_rules.get(index), self.prefixed.source(index))
                {
                    positions.extend_from_slice(rules);
                    hits.groups.entry(source).or_default().push(group.as_str());
                }
            });
            // `is_match` allocates nothing; `matches` only runs for the few groups that hit.
            let Some(set) = self.patterns.as_ref().filter(|set| set.is_match(group)) else {
                continue;
            };
            for index in set.matches(group).iter() {
                if let (Some(rule), Some(source)) =
                    (self.pattern_rules.get(index), set.patterns().get(index))
                {
                    positions.push(*rule);
                    hits.groups
                        .entry(source.as_str())
                        .or_default()
                        .push(group.as_str());
                }
            }
        }
        positions.sort_unstable();
        positions.dedup();
        (positions, hits)
    }
}

/// What a person's groups must satisfy for `matcher` to hold; `None` when it can hold
/// without any particular group.
fn anchors(matcher: &Matcher) -> Option<Vec<Anchor>> {
    match matcher {
        Matcher::Group(TextTest::Exact(group)) => Some(vec![Anchor::Group(group.clone())]),
        Matcher::Group(TextTest::OneOf(groups)) => {
            Some(groups.iter().cloned().map(Anchor::Group).collect())
        }
        Matcher::Group(TextTest::Pattern(regex)) => Some(vec![Anchor::Pattern(regex.clone())]),
        Matcher::All(items) => items.iter().find_map(anchors),
        Matcher::Any(items) => items
            .iter()
            .map(anchors)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.into_iter().flatten().collect()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
