//! Rule files exactly as written: serde shapes with source spans.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

/// One rule file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRuleFile {
    pub(super) rules: Vec<Spanned<RawRule>>,
}

/// One rule: a grant (`then`) or a deny rule (`deny: true`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) id: Spanned<String>,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) deny: bool,
    pub(super) when: Spanned<RawMatcher>,
    pub(super) then: Option<Spanned<RawGrant>>,
}

/// A string test: a plain string is exact (or a glob when it has `*` or `?`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawText {
    Plain(String),
    Pattern(RawPattern),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPattern {
    pub(super) glob: Option<String>,
    pub(super) regex: Option<String>,
    #[serde(rename = "in")]
    pub(super) one_of: Option<Vec<String>>,
}

/// One value or a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub(super) fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one],
            OneOrMany::Many(many) => many,
        }
    }
}

/// A `when` matcher: exactly one key.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum RawMatcher {
    Idp(RawText),
    Group(RawText),
    Claim(RawClaim),
    Mfa(bool),
    Amr(String),
    EmailDomain(OneOrMany),
    Time(RawTime),
    All(Vec<Spanned<RawMatcher>>),
    Any(Vec<Spanned<RawMatcher>>),
    Not(Box<Spanned<RawMatcher>>),
    Account(RawText),
    Role(RawText),
}

/// A claim test: the claim at `path`, and exactly one test.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClaim {
    pub(super) path: String,
    pub(super) equals: Option<serde_json::Value>,
    #[serde(rename = "in")]
    pub(super) one_of: Option<Vec<serde_json::Value>>,
    pub(super) glob: Option<String>,
    pub(super) regex: Option<String>,
    pub(super) exists: Option<bool>,
    pub(super) gt: Option<f64>,
    pub(super) gte: Option<f64>,
    pub(super) lt: Option<f64>,
    pub(super) lte: Option<f64>,
}

/// A weekly time window in a fixed UTC offset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTime {
    #[serde(default)]
    pub(super) days: Vec<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    pub(super) utc_offset: Option<String>,
}

/// What a rule grants; every string may use `{capture}` and `{claims.path}` templates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGrant {
    pub(super) account: Spanned<String>,
    pub(super) role: Spanned<String>,
    pub(super) session_duration: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) session_tags: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) transitive_tag_keys: Vec<String>,
    pub(super) source_identity: Option<String>,
    pub(super) session_name: Option<String>,
}
