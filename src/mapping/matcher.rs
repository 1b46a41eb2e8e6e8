//! Compiled `when` matchers. A matcher yields every set of named-capture bindings under
//! which it holds: a group regex matching three of a person's groups yields three, so one
//! convention rule grants three roles. No bindings means no match.

use std::collections::HashSet;
use std::time::SystemTime;

use regex::Regex;
use serde_json::Value;

use crate::idp::{Identity, claim_at_path};

/// Named captures and their values.
pub(crate) type Bindings = Vec<(String, String)>;

/// At most this many binding sets per rule, however many groups match (fail closed).
pub(crate) const MAX_BINDINGS: usize = 256;

/// A string test.
#[derive(Debug, Clone)]
pub(crate) enum TextTest {
    Exact(String),
    /// A glob or regex, anchored; named captures become bindings.
    Pattern(Regex),
    OneOf(HashSet<String>),
}

impl TextTest {
    /// The bindings for `value`, if it passes.
    fn test(&self, value: &str) -> Option<Bindings> {
        match self {
            TextTest::Exact(expected) => (expected == value).then(Vec::new),
            TextTest::OneOf(set) => set.contains(value).then(Vec::new),
            // `is_match` first: most values are rejected by the literal prefilter alone.
            TextTest::Pattern(regex) if !regex.is_match(value) => None,
            TextTest::Pattern(regex) => regex.captures(value).map(|captures| {
                regex
                    .capture_names()
                    .flatten()
                    .filter_map(|name| {
                        captures
                            .name(name)
                            .map(|m| (name.to_owned(), m.as_str().to_owned()))
                    })
                    .collect()
            }),
        }
    }

    /// The capture names it can bind.
    pub(crate) fn capture_names(&self) -> Vec<String> {
        match self {
            TextTest::Pattern(regex) => {
                regex.capture_names().flatten().map(str::to_owned).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// A claim test.
#[derive(Debug, Clone)]
pub(crate) enum ClaimTest {
    Text(TextTest),
    Exists(bool),
    Compare { op: Comparison, value: f64 },
}

/// A numeric comparison.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Comparison {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// A weekly window: days (0 = Monday) and minutes of the day, at a fixed offset.
#[derive(Debug, Clone)]
pub(crate) struct TimeWindow {
    pub(crate) days: Vec<u8>,
    pub(crate) from_minute: u32,
    pub(crate) to_minute: u32,
    pub(crate) offset_minutes: i32,
}

/// A compiled matcher.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Idp(TextTest),
    Group(TextTest),
    Claim { path: String, test: ClaimTest },
    Mfa(bool),
    Amr(String),
    EmailDomain(Vec<String>),
    Time(TimeWindow),
    All(Vec<Matcher>),
    Any(Vec<Matcher>),
    Not(Box<Matcher>),
    Account(TextTest),
    Role(TextTest),
}

/// What a matcher looks at.
pub(crate) struct Subject<'a> {
    pub(crate) identity: &'a Identity,
    pub(crate) now: SystemTime,
    /// For deny rules: the grant under consideration (account id, account alias, role).
    pub(crate) grant: Option<(&'a str, &'a str, &'a str)>,
    /// The groups each indexed group pattern matched, found by the rule index in one pass
    /// (absent when explaining, or for patterns the index does not hold).
    pub(crate) pattern_hits: Option<&'a PatternHits<'a>>,
}

/// What the rule index found among a person's groups in its one pass over them.
#[derive(Debug, Default)]
pub(crate) struct PatternHits<'a> {
    /// Pattern source → matching groups, for patterns that matched at least one group.
    pub(crate) groups: foldhash::HashMap<&'a str, Vec<&'a str>>,
    /// Every pattern the index holds: a pattern here but not in `groups` matched nothing.
    pub(crate) indexed: Option<&'a foldhash::HashSet<String>>,
    /// The person's groups that are exact anchors in the index.
    pub(crate) exact_found: foldhash::HashSet<&'a str>,
    /// Every exact anchor the index holds.
    pub(crate) exact_indexed: Option<&'a foldhash::HashMap<String, Vec<usize>>>,
}

impl PatternHits<'_> {
    /// Whether the person has `group`, when the index knows.
    fn has_exact(&self, group: &str) -> Option<bool> {
        self.exact_indexed?
            .contains_key(group)
            .then(|| self.exact_found.contains(group))
    }

    /// The groups `regex` matched, when the index knows.
    fn for_pattern(&self, regex: &Regex) -> Option<&[&str]> {
        if !self.indexed?.contains(regex.as_str()) {
            return None;
        }
        Some(
            self.groups
                .get(regex.as_str())
                .map_or(&[][..], Vec::as_slice),
        )
    }
}

impl Matcher {
    /// Every binding set under which the matcher holds (empty: it does not), or the first
    /// reason it does not.
    pub(crate) fn evaluate(&self, subject: &Subject<'_>) -> Result<Vec<Bindings>, String> {
        match self {
            Matcher::Idp(test) => test
                .test(subject.identity.idp.as_str())
                .map(|b| vec![b])
                .ok_or_else(|| format!("signed in through `{}`", subject.identity.idp)),
            Matcher::Group(TextTest::Exact(group))
                if subject
                    .pattern_hits
                    .and_then(|h| h.has_exact(group))
                    .is_some() =>
            {
                if subject.pattern_hits.and_then(|h| h.has_exact(group)) == Some(true) {
                    Ok(vec![Vec::new()])
                } else {
                    Err(format!(
                        "no group matches (of {} groups)",
                        subject.identity.groups.len()
                    ))
                }
            }
            Matcher::Group(test) => {
                let indexed = match (test, subject.pattern_hits) {
                    (TextTest::Pattern(regex), Some(hits)) => hits.for_pattern(regex),
                    _ => None,
                };
                let matches: Vec<Bindings> = match indexed {
                    // Only the groups the index saw match need their captures read.
                    Some(groups) => groups
                        .iter()
                        .filter_map(|g| test.test(g))
                        .take(MAX_BINDINGS)
                        .collect(),
                    None => subject
                        .identity
                        .groups
                        .iter()
                        .filter_map(|g| test.test(g))
                        .take(MAX_BINDINGS)
                        .collect(),
                };
                if matches.is_empty() {
                    Err(format!(
                        "no group matches (of {} groups)",
                        subject.identity.groups.len()
                    ))
                } else {
                    Ok(matches)
                }
            }
            Matcher::Claim { path, test } => claim(subject.identity, path, test),
            Matcher::Mfa(wanted) => (subject.identity.mfa == *wanted)
                .then(|| vec![Vec::new()])
                .ok_or_else(|| {
                    format!(
                        "MFA is {}",
                        if subject.identity.mfa {
                            "present"
                        } else {
                            "absent"
                        }
                    )
                }),
            Matcher::Amr(method) => subject
                .identity
                .amr
                .contains(method)
                .then(|| vec![Vec::new()])
                .ok_or_else(|| format!("amr lacks `{method}`")),
            Matcher::EmailDomain(domains) => match subject.identity.verified_email_domain() {
                Ok(d) if domains.contains(&d) => Ok(vec![Vec::new()]),
                Ok(d) => Err(format!("email domain `{d}` is not listed")),
                Err(why) => Err(why),
            },
            Matcher::Time(window) => window
                .contains(subject.now)
                .then(|| vec![Vec::new()])
                .ok_or_else(|| "outside the time window".to_owned()),
            Matcher::All(items) => {
                let mut combined: Vec<Bindings> = vec![Vec::new()];
                for item in items {
                    let next = item.evaluate(subject)?;
                    combined = combined
                        .iter()
                        .flat_map(|left| next.iter().map(move |right| merge(left, right)))
                        .take(MAX_BINDINGS)
                        .collect();
                }
                Ok(combined)
            }
            Matcher::Any(items) => {
                let mut all = Vec::new();
                let mut reasons = Vec::new();
                for item in items {
                    match item.evaluate(subject) {
                        Ok(bindings) => all.extend(bindings),
                        Err(reason) => reasons.push(reason),
                    }
                }
                if all.is_empty() {
                    Err(format!("none of: {}", reasons.join("; ")))
                } else {
                    all.truncate(MAX_BINDINGS);
                    Ok(all)
                }
            }
            Matcher::Not(inner) => match inner.evaluate(subject) {
                Ok(_) => Err("the negated condition holds".into()),
                Err(_) => Ok(vec![Vec::new()]),
            },
            Matcher::Account(test) => match subject.grant {
                Some((id, alias, _)) => test
                    .test(id)
                    .or_else(|| test.test(alias))
                    .map(|b| vec![b])
                    .ok_or_else(|| format!("account is `{alias}`")),
                None => Err("no grant to test".into()),
            },
            Matcher::Role(test) => match subject.grant {
                Some((_, _, role)) => test
                    .test(role)
                    .map(|b| vec![b])
                    .ok_or_else(|| format!("role is `{role}`")),
                None => Err("no grant to test".into()),
            },
        }
    }

    /// Every capture name the matcher can bind.
    pub(crate) fn capture_names(&self) -> Vec<String> {
        match self {
            Matcher::Idp(t) | Matcher::Group(t) | Matcher::Account(t) | Matcher::Role(t) => {
                t.capture_names()
            }
            Matcher::Claim {
                test: ClaimTest::Text(t),
                ..
            } => t.capture_names(),
            Matcher::All(items) | Matcher::Any(items) => {
                items.iter().flat_map(Matcher::capture_names).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether the matcher tests the grant (account/role): such matchers belong in deny rules.
    pub(crate) fn tests_grant(&self) -> bool {
        match self {
            Matcher::Account(_) | Matcher::Role(_) => true,
            Matcher::All(items) | Matcher::Any(items) => items.iter().any(Matcher::tests_grant),
            Matcher::Not(inner) => inner.tests_grant(),
            _ => false,
        }
    }
}

fn merge(left: &Bindings, right: &Bindings) -> Bindings {
    let mut merged = left.clone();
    merged.extend(right.iter().cloned());
    merged
}

fn claim(identity: &Identity, path: &str, test: &ClaimTest) -> Result<Vec<Bindings>, String> {
    let value = claim_at_path(&identity.claims, path);
    match (test, value) {
        (ClaimTest::Exists(wanted), value) => (value.is_some() == *wanted)
            .then(|| vec![Vec::new()])
            .ok_or_else(|| {
                format!(
                    "claim `{path}` is {}",
                    if value.is_some() { "present" } else { "absent" }
                )
            }),
        (_, None) => Err(format!("claim `{path}` is missing")),
        (ClaimTest::Text(text), Some(value)) => {
            // A list claim matches when any of its string values does; other shapes never.
            let strings: Vec<String> = match value {
                Value::String(s) => vec![s.clone()],
                Value::Number(n) => vec![n.to_string()],
                Value::Bool(b) => vec![b.to_string()],
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                Value::Object(_) | Value::Null => {
                    return Err(format!("claim `{path}` is an object or null, not a value"));
                }
            };
            let matches: Vec<Bindings> = strings
                .iter()
                .filter_map(|s| text.test(s))
                .take(MAX_BINDINGS)
                .collect();
            if matches.is_empty() {
                Err(format!("claim `{path}` does not match"))
            } else {
                Ok(matches)
            }
        }
        (ClaimTest::Compare { op, value: limit }, Some(value)) => {
            let number = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|n| n.is_finite())
            .ok_or_else(|| format!("claim `{path}` is not a number"))?;
            let holds = match op {
                Comparison::Gt => number > *limit,
                Comparison::Gte => number >= *limit,
                Comparison::Lt => number < *limit,
                Comparison::Lte => number <= *limit,
            };
            holds
                .then(|| vec![Vec::new()])
                .ok_or_else(|| format!("claim `{path}` is {number}"))
        }
    }
}

impl TimeWindow {
    fn contains(&self, now: SystemTime) -> bool {
        let Ok(since_epoch) = now.duration_since(std::time::UNIX_EPOCH) else {
            return false;
        };
        let local_minutes = i64::try_from(since_epoch.as_secs() / 60).unwrap_or(i64::MAX)
            + i64::from(self.offset_minutes);
        let minute_of_day = u32::try_from(local_minutes.rem_euclid(1440)).unwrap_or(0);
        // 1970-01-01 was a Thursday (day 3 when Monday is 0).
        let day = u8::try_from((local_minutes.div_euclid(1440) + 3).rem_euclid(7)).unwrap_or(0);
        let day_ok = self.days.is_empty() || self.days.contains(&day);
        let time_ok = if self.from_minute <= self.to_minute {
            (self.from_minute..self.to_minute).contains(&minute_of_day)
        } else {
            minute_of_day >= self.from_minute || minute_of_day < self.to_minute
        };
        day_ok && time_ok
    }
}
