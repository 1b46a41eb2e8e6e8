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
#[derive(Debug)]
pub(super) enum RawText {
    Plain(String),
    Pattern(RawPattern),
}

impl<'de> Deserialize<'de> for RawText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

/// Reads a string, or a map with `glob`, `regex` or `in`; says what to do about the rest,
/// above all YAML's unquoted `yes`, `no`, `on`, `off` and numbers, which are not text.
struct TextVisitor;

impl<'de> serde::de::Visitor<'de> for TextVisitor {
    type Value = RawText;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string, or a map with one of `glob`, `regex`, `in`")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<RawText, E> {
        Ok(RawText::Plain(text.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<RawText, E> {
        Ok(RawText::Plain(text))
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<RawText, E> {
        Err(unquoted("boolean", value))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<RawText, E> {
        Err(unquoted("number", value))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<RawText, E> {
        Err(unquoted("number", value))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<RawText, E> {
        Err(unquoted("number", value))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<RawText, E> {
        Err(E::custom("the value is empty (or `null`): write a name"))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<RawText, A::Error> {
        Err(serde::de::Error::custom(
            "a list is not a name: write `{ in: [a, b] }` to accept any of several",
        ))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawText, A::Error> {
        RawPattern::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            .map(RawText::Pattern)
    }
}

/// YAML read a bare word or number as a `kind` (`yes` is a boolean), not as text.
fn unquoted<E: serde::de::Error>(kind: &str, value: impl std::fmt::Display) -> E {
    E::custom(format!(
        "YAML reads this unquoted value as the {kind} {value}: put the name in quotes"
    ))
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
#[derive(Debug)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// Reads a string or a list of strings, with [`TextVisitor`]'s advice for the rest.
struct OneOrManyVisitor;

impl<'de> serde::de::Visitor<'de> for OneOrManyVisitor {
    type Value = OneOrMany;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or a list of strings")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<OneOrMany, E> {
        Ok(OneOrMany::One(text.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, text: String) -> Result<OneOrMany, E> {
        Ok(OneOrMany::One(text))
    }

    fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<OneOrMany, E> {
        Err(unquoted("boolean", value))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<OneOrMany, E> {
        Err(unquoted("number", value))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<OneOrMany, E> {
        Err(unquoted("number", value))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<OneOrMany, E> {
        Err(unquoted("number", value))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<String>()? {
            items.push(item);
        }
        Ok(OneOrMany::Many(items))
    }
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
