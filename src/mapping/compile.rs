//! Compiling rule files: every regex, glob and template is built once, and every problem
//! is reported with its file and line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use regex::Regex;
use serde_saphyr::Spanned;

use super::matcher::{ClaimTest, Comparison, Matcher, TextTest, TimeWindow};
use super::raw::{
    RawClaim, RawGrant, RawMatcher, RawPattern, RawRule, RawRuleFile, RawText, RawTime,
};
use super::template::Template;
use super::{GrantTemplate, MappingError, Problem, Rule, RuleSet};
use crate::directory::Origin;

/// Regexes larger than this (compiled) are refused: rules come from administrators, but a
/// runaway pattern must not eat the broker's memory.
const REGEX_SIZE_LIMIT: usize = 10 << 20;

fn line<T>(spanned: &Spanned<T>) -> u32 {
    u32::try_from(spanned.referenced.line()).unwrap_or(u32::MAX)
}

/// The rule files at `path`: the file itself, or `*.yaml`/`*.yml` in the folder, by name.
fn files(path: &Path) -> Result<Vec<PathBuf>, Problem> {
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Problem::new(path, None, format!("cannot read: {e}")))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Loads and compiles every rule file at `path`.
pub fn load_rules(path: &Path) -> Result<RuleSet, MappingError> {
    let files = files(path).map_err(|p| MappingError { problems: vec![p] })?;
    let mut sources = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => sources.push((file, text)),
            Err(e) => {
                return Err(MappingError {
                    problems: vec![Problem::new(&file, None, format!("cannot read: {e}"))],
                });
            }
        }
    }
    compile_sources(&sources)
}

/// Compiles rule files given as `(path, text)`.
pub fn compile_sources(sources: &[(PathBuf, String)]) -> Result<RuleSet, MappingError> {
    let mut problems = Vec::new();
    let mut rules = Vec::new();
    let mut ids: HashMap<String, Origin> = HashMap::new();
    for (file, text) in sources {
        let raw: RawRuleFile = match serde_saphyr::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let line = e
                    .location()
                    .map(|l| u32::try_from(l.line()).unwrap_or(u32::MAX));
                problems.push(Problem::new(file, line, yaml_reason(&e)));
                continue;
            }
        };
        for raw_rule in raw.rules {
            let origin = Origin {
                file: file.as_path().into(),
                line: line(&raw_rule),
            };
            let id = raw_rule.value.id.value.clone();
            match compile_rule(raw_rule.value, origin.clone()) {
                Ok(rule) => {
                    if let Some(first) = ids.insert(id.clone(), origin.clone()) {
                        problems.push(Problem::at(
                            &origin,
                            format!("rule id `{id}` is also used at {first}"),
                        ));
                    }
                    rules.push(rule);
                }
                Err(mut found) => problems.append(&mut found),
            }
        }
    }
    if problems.is_empty() {
        Ok(RuleSet::new(rules))
    } else {
        Err(MappingError { problems })
    }
}

fn compile_rule(raw: RawRule, origin: Origin) -> Result<Rule, Vec<Problem>> {
    let mut problems = Vec::new();
    let file = origin.file.clone();
    let at = |l: u32| Origin {
        file: file.clone(),
        line: l,
    };
    if raw.id.value.is_empty()
        || !raw
            .id
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        problems.push(Problem::at(
            &at(line(&raw.id)),
            format!("rule id `{}` must be letters, digits and -_.", raw.id.value),
        ));
    }
    let when = compile_matcher(raw.when, &at, &mut problems);
    let grant = match (raw.deny, raw.then) {
        (true, Some(then)) => {
            problems.push(Problem::at(
                &at(line(&then)),
                "a deny rule has no `then`: it removes grants",
            ));
            None
        }
        (true, None) => None,
        (false, None) => {
            problems.push(Problem::at(
                &origin,
                "a rule needs `then` (a grant) or `deny: true`",
            ));
            None
        }
        (false, Some(then)) => compile_grant(then, &at, &mut problems),
    };
    if let Some(when) = &when {
        if !raw.deny && when.tests_grant() {
            problems.push(Problem::at(
                &origin,
                "`account`/`role` matchers test a grant: use them in deny rules",
            ));
        }
        // A template may only name captures its `when` can bind.
        if let Some(grant) = &grant {
            let captures: HashSet<String> = when.capture_names().into_iter().collect();
            for name in grant.capture_names() {
                if !captures.contains(name) {
                    problems.push(Problem::at(&origin, format!("template uses `{{{name}}}` but no matcher of this rule captures `{name}`")));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    match when {
        Some(when) => Ok(Rule {
            id: raw.id.value,
            description: raw.description,
            deny: raw.deny,
            when,
            grant,
            origin,
        }),
        None => Err(problems),
    }
}

fn compile_matcher(
    raw: Spanned<RawMatcher>,
    at: &dyn Fn(u32) -> Origin,
    problems: &mut Vec<Problem>,
) -> Option<Matcher> {
    let origin = at(line(&raw));
    let text = |raw: RawText, what: &str, problems: &mut Vec<Problem>| -> Option<TextTest> {
        compile_text(raw)
            .map_err(|e| problems.push(Problem::at(&origin, format!("{what}: {e}"))))
            .ok()
    };
    Some(match raw.value {
        RawMatcher::Idp(t) => Matcher::Idp(text(t, "idp", problems)?),
        RawMatcher::Group(t) => Matcher::Group(text(t, "group", problems)?),
        RawMatcher::Account(t) => Matcher::Account(text(t, "account", problems)?),
        RawMatcher::Role(t) => Matcher::Role(text(t, "role", problems)?),
        RawMatcher::Claim(c) => compile_claim(c)
            .map_err(|e| problems.push(Problem::at(&origin, e)))
            .ok()?,
        RawMatcher::Mfa(wanted) => Matcher::Mfa(wanted),
        RawMatcher::Amr(method) => Matcher::Amr(method),
        RawMatcher::EmailDomain(domains) => Matcher::EmailDomain(
            domains
                .into_vec()
                .into_iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
        ),
        RawMatcher::Time(t) => Matcher::Time(
            compile_time(t)
                .map_err(|e| problems.push(Problem::at(&origin, e)))
                .ok()?,
        ),
        RawMatcher::All(items) | RawMatcher::Any(items) if items.is_empty() => {
            problems.push(Problem::at(
                &origin,
                "`all`/`any` needs at least one matcher",
            ));
            return None;
        }
        RawMatcher::All(items) => Matcher::All(compile_all(items, at, problems)?),
        RawMatcher::Any(items) => Matcher::Any(compile_all(items, at, problems)?),
        RawMatcher::Not(inner) => Matcher::Not(Box::new(compile_matcher(*inner, at, problems)?)),
    })
}

fn compile_all(
    items: Vec<Spanned<RawMatcher>>,
    at: &dyn Fn(u32) -> Origin,
    problems: &mut Vec<Problem>,
) -> Option<Vec<Matcher>> {
    let before = problems.len();
    let compiled: Vec<Matcher> = items
        .into_iter()
        .filter_map(|i| compile_matcher(i, at, problems))
        .collect();
    (problems.len() == before).then_some(compiled)
}

fn compile_text(raw: RawText) -> Result<TextTest, String> {
    match raw {
        RawText::Plain(text) if text.contains(['*', '?']) => glob(&text),
        RawText::Plain(text) => Ok(TextTest::Exact(text)),
        RawText::Pattern(RawPattern {
            glob: Some(g),
            regex: None,
            one_of: None,
        }) => glob(&g),
        RawText::Pattern(RawPattern {
            glob: None,
            regex: Some(r),
            one_of: None,
        }) => regex(&r).map(TextTest::Pattern),
        RawText::Pattern(RawPattern {
            glob: None,
            regex: None,
            one_of: Some(values),
        }) => Ok(TextTest::OneOf(values.into_iter().collect())),
        RawText::Pattern(_) => Err("give exactly one of `glob`, `regex`, `in`".into()),
    }
}

/// A glob as an anchored regex: `*` any run, `?` one character.
fn glob(pattern: &str) -> Result<TextTest, String> {
    let mut source = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => source.push_str(".*"),
            '?' => source.push('.'),
            c => source.push_str(&regex::escape(&c.to_string())),
        }
    }
    source.push('$');
    regex(&source).map(TextTest::Pattern)
}

/// A regex anchored at both ends.
fn regex(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regex `{pattern}`: {e}"))
}

fn compile_claim(raw: RawClaim) -> Result<Matcher, String> {
    if raw.path.is_empty() {
        return Err("claim: `path` must not be empty".into());
    }
    let scalar = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!(
            "claim `{}`: compare with strings, numbers or booleans",
            raw.path
        )),
    };
    let mut tests = Vec::new();
    if let Some(v) = &raw.equals {
        tests.push(ClaimTest::Text(TextTest::Exact(scalar(v)?)));
    }
    if let Some(values) = &raw.one_of {
        tests.push(ClaimTest::Text(TextTest::OneOf(
            values.iter().map(scalar).collect::<Result<_, _>>()?,
        )));
    }
    if let Some(g) = &raw.glob {
        tests.push(ClaimTest::Text(glob(g)?));
    }
    if let Some(r) = &raw.regex {
        tests.push(ClaimTest::Text(TextTest::Pattern(regex(r)?)));
    }
    if let Some(e) = raw.exists {
        tests.push(ClaimTest::Exists(e));
    }
    for (op, value) in [
        (Comparison::Gt, raw.gt),
        (Comparison::Gte, raw.gte),
        (Comparison::Lt, raw.lt),
        (Comparison::Lte, raw.lte),
    ] {
        if let Some(value) = value {
            tests.push(ClaimTest::Compare { op, value });
        }
    }
    match <[ClaimTest; 1]>::try_from(tests) {
        Ok([test]) => Ok(Matcher::Claim {
            path: raw.path,
            test,
        }),
        Err(_) => Err(format!(
            "claim `{}`: give exactly one of equals, in, glob, regex, exists, gt, gte, lt, lte",
            raw.path
        )),
    }
}

fn compile_time(raw: RawTime) -> Result<TimeWindow, String> {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let days = raw
        .days
        .iter()
        .map(|d| {
            let lower = d.to_ascii_lowercase();
            DAYS.iter()
                .position(|x| lower.starts_with(x))
                .and_then(|p| u8::try_from(p).ok())
                .ok_or_else(|| format!("time: `{d}` is not a day (mon..sun)"))
        })
        .collect::<Result<Vec<u8>, String>>()?;
    let minute = |t: &Option<String>, default: u32| -> Result<u32, String> {
        let Some(t) = t else { return Ok(default) };
        let (h, m) = t
            .split_once(':')
            .ok_or_else(|| format!("time: `{t}` is not HH:MM"))?;
        let (h, m): (u32, u32) = (
            h.parse().map_err(|_| format!("time: `{t}` is not HH:MM"))?,
            m.parse().map_err(|_| format!("time: `{t}` is not HH:MM"))?,
        );
        if h > 24 || m > 59 || (h == 24 && m > 0) {
            return Err(format!("time: `{t}` is not a time of day"));
        }
        Ok(h * 60 + m)
    };
    let offset_minutes = match raw.utc_offset.as_deref() {
        None | Some("Z" | "UTC") => 0,
        Some(o) => {
            let (sign, rest) = match o.chars().next() {
                Some('+') => (1, o.get(1..).unwrap_or("")),
                Some('-') => (-1, o.get(1..).unwrap_or("")),
                _ => return Err(format!("time: utc_offset `{o}` must be like +02:00")),
            };
            let (h, m) = rest
                .split_once(':')
                .ok_or_else(|| format!("time: utc_offset `{o}` must be like +02:00"))?;
            let (h, m): (i32, i32) = (
                h.parse()
                    .map_err(|_| format!("time: bad utc_offset `{o}`"))?,
                m.parse()
                    .map_err(|_| format!("time: bad utc_offset `{o}`"))?,
            );
            if !(0..=14).contains(&h) || !(0..60).contains(&m) {
                return Err(format!("time: utc_offset `{o}` is out of range"));
            }
            sign * (h * 60 + m)
        }
    };
    Ok(TimeWindow {
        days,
        from_minute: minute(&raw.from, 0)?,
        to_minute: minute(&raw.to, 24 * 60)?,
        offset_minutes,
    })
}

fn compile_grant(
    raw: Spanned<RawGrant>,
    at: &dyn Fn(u32) -> Origin,
    problems: &mut Vec<Problem>,
) -> Option<GrantTemplate> {
    let origin = at(line(&raw));
    let raw = raw.value;
    let template = |text: &str, problems: &mut Vec<Problem>| {
        Template::parse(text)
            .map_err(|e| problems.push(Problem::at(&origin, e)))
            .ok()
    };
    let before = problems.len();
    let account = template(&raw.account.value, problems);
    let role = template(&raw.role.value, problems);
    let mut session_tags = BTreeMap::new();
    for (key, value) in &raw.session_tags {
        if let Err(e) = crate::directory::validate_tag(key, "") {
            problems.push(Problem::at(&origin, e));
        }
        if let Some(t) = template(value, problems) {
            session_tags.insert(key.clone(), t);
        }
    }
    for key in &raw.transitive_tag_keys {
        if !raw.session_tags.contains_key(key) {
            problems.push(Problem::at(
                &origin,
                format!("transitive tag key `{key}` is not one of this grant's session_tags"),
            ));
        }
    }
    if let Some(d) = &raw.session_duration
        && !(900..=43_200).contains(&d.value)
    {
        problems.push(Problem::at(
            &at(line(d)),
            format!("session_duration {} must be 900-43200 seconds", d.value),
        ));
    }
    let source_identity = raw
        .source_identity
        .as_deref()
        .and_then(|t| template(t, problems));
    let session_name = raw
        .session_name
        .as_deref()
        .and_then(|t| template(t, problems));
    if problems.len() > before {
        return None;
    }
    Some(GrantTemplate {
        account: account?,
        role: role?,
        session_duration: raw.session_duration.map(|d| d.value),
        session_tags,
        transitive_tag_keys: raw.transitive_tag_keys,
        source_identity,
        session_name,
    })
}

/// The YAML parser's reason, reworded where its words name serde's machinery rather than
/// the rule file.
fn yaml_reason(error: &serde_saphyr::Error) -> String {
    let reason = error.without_snippet().to_string();
    if reason.contains("expected end of mapping after enum variant") {
        "a matcher has exactly one key: combine several with `all: [...]` or `any: [...]`"
            .to_owned()
    } else if reason.contains("invalid u64") {
        format!("expected a whole number of seconds ({reason})")
    } else {
        reason
    }
}
