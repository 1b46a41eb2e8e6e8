//! Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}` and the
//! escapes `${*}`, `${?}`, `${$}`. Only policies with `"Version": "2012-10-17"` substitute
//! them; in older policies `${…}` is plain text.

use std::borrow::Cow;

use super::arn::ArnPattern;
use super::context::RequestContext;
use super::glob::{Case, Glob, GlobBuilder};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Text as written (for globs, `*` and `?` in it are wildcards).
    Text(String),
    /// A character from an escape, always literal.
    Escaped(char),
    /// A context key (lowercased), with an optional default.
    Variable {
        key: String,
        default: Option<String>,
    },
}

/// A policy string that may contain variables, compiled once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

/// A variable whose key the request context lacks and which has no default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MissingVariable(pub(crate) String);

impl Template {
    /// Parses `text`; with `substitute` false (policy version 2008-10-17) it stays literal.
    pub(crate) fn parse(text: &str, substitute: bool) -> Result<Self, String> {
        if !substitute || !text.contains("${") {
            return Ok(Self {
                parts: vec![Part::Text(text.to_owned())],
            });
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let (before, after) = rest.split_at(start);
            if !before.is_empty() {
                parts.push(Part::Text(before.to_owned()));
            }
            let body_and_more = after.get(2..).unwrap_or("");
            let end = body_and_more
                .find('}')
                .ok_or_else(|| format!("policy variable in `{text}` has no closing `}}`"))?;
            let (body, tail) = body_and_more.split_at(end);
            parts.push(parse_variable(body)?);
            rest = tail.get(1..).unwrap_or("");
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// The context keys (lowercase) the template's variables read.
    pub(crate) fn variable_keys(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable { key, .. } => Some(key.as_str()),
            _ => None,
        })
    }

    /// Whether the template has any variables.
    pub(crate) fn has_variables(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Variable { .. }))
    }

    /// The text with variables substituted; escapes give their character.
    pub(crate) fn text(&self, context: &RequestContext) -> Result<Cow<'_, str>, MissingVariable> {
        if let [Part::Text(text)] = self.parts.as_slice() {
            return Ok(Cow::Borrowed(text));
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Escaped(c) => out.push(*c),
                Part::Variable { key, default } => {
                    out.push_str(&variable_value(context, key, default.as_deref())?)
                }
            }
        }
        Ok(Cow::Owned(out))
    }

    /// A wildcard pattern: `*`/`?` written in the text are wildcards; escaped characters and
    /// substituted values are literal, so a user named `*` matches only `*`.
    pub(crate) fn glob(
        &self,
        context: &RequestContext,
        case: Case,
    ) -> Result<Glob, MissingVariable> {
        let mut builder = GlobBuilder::default();
        for part in &self.parts {
            match part {
                Part::Text(text) => builder.pattern(text),
                Part::Escaped(c) => builder.literal(&c.to_string()),
                Part::Variable { key, default } => {
                    builder.literal(&variable_value(context, key, default.as_deref())?);
                }
            }
        }
        Ok(builder.build(case))
    }

    /// An ARN pattern, split into its segments at the first five `:` of the *written* text;
    /// substituted values and escapes stay literal within their segment. `None` when the
    /// text is not `arn:` plus six segments.
    pub(crate) fn arn_pattern(
        &self,
        context: &RequestContext,
    ) -> Result<Option<ArnPattern>, MissingVariable> {
        let mut first = String::new();
        let mut segments: Vec<GlobBuilder> = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => {
                    for (i, piece) in text.split(':').enumerate() {
                        if i > 0 {
                            if segments.len() < 5 {
                                // A separator: the next segment starts.
                                segments.push(GlobBuilder::default());
                            } else {
                                // Inside the resource segment a colon is just a character.
                                add_literal(&mut first, &mut segments, ":");
                            }
                        }
                        add_text(&mut first, &mut segments, piece);
                    }
                }
                Part::Escaped(c) => add_literal(&mut first, &mut segments, &c.to_string()),
                Part::Variable { key, default } => {
                    add_literal(
                        &mut first,
                        &mut segments,
                        &variable_value(context, key, default.as_deref())?,
                    );
                }
            }
        }
        if first != "arn" || segments.len() != 5 {
            return Ok(None);
        }
        let mut globs = segments.into_iter().map(|b| b.build(Case::Sensitive));
        let (Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
            globs.next(),
            globs.next(),
            globs.next(),
            globs.next(),
            globs.next(),
        ) else {
            return Ok(None);
        };
        Ok(Some(ArnPattern::from_segments([
            partition, service, region, account, resource,
        ])))
    }

    /// The text with every variable replaced by `x`: the shape used to validate it.
    pub(crate) fn shape(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Escaped(c) => out.push(*c),
                Part::Variable { .. } => out.push('x'),
            }
        }
        out
    }
}

/// Appends wildcard-bearing text to the current segment (`first` until the first `:`).
fn add_text(first: &mut String, segments: &mut [GlobBuilder], text: &str) {
    match segments.last_mut() {
        Some(segment) => segment.pattern(text),
        None => first.push_str(text),
    }
}

/// Appends literal text to the current segment.
fn add_literal(first: &mut String, segments: &mut [GlobBuilder], text: &str) {
    match segments.last_mut() {
        Some(segment) => segment.literal(text),
        None => first.push_str(text),
    }
}

fn parse_variable(body: &str) -> Result<Part, String> {
    match body {
        "*" => return Ok(Part::Escaped('*')),
        "?" => return Ok(Part::Escaped('?')),
        "$" => return Ok(Part::Escaped('$')),
        _ => {}
    }
    let (key, default) = match body.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let quoted = default
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .ok_or_else(|| {
                    format!("default value in `${{{body}}}` must be in single quotes")
                })?;
            (key.trim(), Some(quoted.to_owned()))
        }
        None => (body.trim(), None),
    };
    if !is_condition_key(key) {
        return Err(format!(
            "`${{{body}}}` is not a policy variable: expected `${{service:key}}`"
        ));
    }
    Ok(Part::Variable {
        key: key.to_ascii_lowercase(),
        default,
    })
}

/// `prefix:name`, where the prefix is a service or an OIDC provider host and the name may
/// include `/` (tags).
pub(crate) fn is_condition_key(key: &str) -> bool {
    let Some((prefix, name)) = key.split_once(':') else {
        return false;
    };
    let prefix_ok = !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/'));
    let name_ok = !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '$' || c == '{' || c == '}');
    prefix_ok && name_ok
}

fn variable_value(
    context: &RequestContext,
    key: &str,
    default: Option<&str>,
) -> Result<String, MissingVariable> {
    match context.values(key) {
        // A multivalued key cannot be one string; IAM does not substitute it.
        Some([single]) => Ok(single.clone()),
        _ => default
            .map(str::to_owned)
            .ok_or_else(|| MissingVariable(key.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RequestContext {
        let mut c = RequestContext::default();
        c.insert("aws:username", vec!["alice".into()]);
        c.insert("aws:PrincipalTag/team", vec!["*".into()]);
        c
    }

    #[test]
    fn substitutes_variables_case_insensitively() {
        let t = Template::parse("arn:aws:s3:::home/${AWS:UserName}/*", true).unwrap();
        assert_eq!(t.text(&context()).unwrap(), "arn:aws:s3:::home/alice/*");
    }

    #[test]
    fn version_2008_keeps_text_literal() {
        let t = Template::parse("home/${aws:username}", false).unwrap();
        assert_eq!(t.text(&context()).unwrap(), "home/${aws:username}");
    }

    #[test]
    fn default_is_used_when_the_key_is_missing() {
        let t = Template::parse("${aws:PrincipalTag/dept, 'none'}", true).unwrap();
        assert_eq!(t.text(&context()).unwrap(), "none");
        let t = Template::parse("${aws:PrincipalTag/dept,'x y'}", true).unwrap();
        assert_eq!(t.text(&context()).unwrap(), "x y");
    }

    #[test]
    fn missing_key_without_default_is_reported() {
        let t = Template::parse("${aws:userid}", true).unwrap();
        assert_eq!(
            t.text(&context()).unwrap_err(),
            MissingVariable("aws:userid".into())
        );
    }

    #[test]
    fn escapes_are_literal_in_globs() {
        let t = Template::parse("a${*}b*", true).unwrap();
        let g = t.glob(&context(), Case::Sensitive).unwrap();
        assert!(g.matches("a*bxyz"));
        assert!(!g.matches("axbxyz"));
        assert_eq!(
            Template::parse("${$}{x}", true)
                .unwrap()
                .text(&context())
                .unwrap(),
            "${x}"
        );
    }

    #[test]
    fn substituted_values_are_literal_in_globs() {
        let t = Template::parse("team/${aws:PrincipalTag/team}", true).unwrap();
        let g = t.glob(&context(), Case::Sensitive).unwrap();
        assert!(g.matches("team/*"));
        assert!(!g.matches("team/other"));
    }

    #[test]
    fn arn_templates_keep_substituted_values_in_their_segment() {
        let mut c = context();
        c.insert_one("aws:userid", "AIDA:x*");
        let t = Template::parse("arn:aws:s3:::home/${aws:userid}/*", true).unwrap();
        let p = t.arn_pattern(&c).unwrap().unwrap();
        let arn = |s| crate::policy::arn::Arn::parse(s).unwrap();
        assert!(p.matches(&arn("arn:aws:s3:::home/AIDA:x*/file")));
        assert!(
            !p.matches(&arn("arn:aws:s3:::home/AIDA:xy/file")),
            "substituted `*` is literal"
        );
        let logs =
            Template::parse("arn:aws:logs:*:*:log-group:/app/${aws:username}:*", true).unwrap();
        assert!(
            logs.arn_pattern(&c)
                .unwrap()
                .unwrap()
                .matches(&arn("arn:aws:logs:eu-west-1:1:log-group:/app/alice:stream"))
        );
        assert!(
            Template::parse("bucket/${aws:username}", true)
                .unwrap()
                .arn_pattern(&c)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn malformed_variables_are_rejected() {
        assert!(Template::parse("${aws:username", true).is_err());
        assert!(Template::parse("${username}", true).is_err());
        assert!(Template::parse("${aws:x, nodefaultquotes}", true).is_err());
    }
}
