//! Grant templates: `{account}` (a named capture), `{email}`, `{email_local}`, `{subject}`,
//! `{name}`, `{idp}`, `{claims.department}`; `{{` and `}}` are literal braces.

use crate::idp::{Identity, claim_at_path};

use super::matcher::Bindings;

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Capture(String),
    Email,
    EmailLocal,
    Subject,
    Name,
    Idp,
    Claim(String),
}

/// A compiled template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `text`.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, chars.peek()) {
                ('{', Some('{')) | ('}', Some('}')) => {
                    chars.next();
                    literal.push(c);
                }
                ('{', _) => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err(format!("`{text}`: `{{` is not closed"));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(placeholder(name.trim(), text)?);
                }
                ('}', _) => {
                    return Err(format!(
                        "`{text}`: a lone `}}` (write `}}}}` for a literal brace)"
                    ));
                }
                _ => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Self { parts })
    }

    /// The capture names the template uses.
    pub(crate) fn captures(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Capture(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The text, when the template has no placeholders.
    pub(crate) fn as_literal(&self) -> Option<String> {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The text, or what it lacked.
    pub(crate) fn render(
        &self,
        identity: &Identity,
        bindings: &Bindings,
    ) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Capture(name) => {
                    let value = bindings
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v)
                        .ok_or_else(|| format!("capture `{name}` matched nothing"))?;
                    out.push_str(value);
                }
                Part::Email => out.push_str(
                    identity
                        .email
                        .as_deref()
                        .ok_or("the identity has no email")?,
                ),
                Part::EmailLocal => {
                    let email = identity
                        .email
                        .as_deref()
                        .ok_or("the identity has no email")?;
                    out.push_str(email.split('@').next().unwrap_or(email));
                }
                Part::Subject => out.push_str(&identity.subject),
                Part::Name => {
                    out.push_str(identity.name.as_deref().ok_or("the identity has no name")?)
                }
                Part::Idp => out.push_str(identity.idp.as_str()),
                Part::Claim(path) => match claim_at_path(&identity.claims, path) {
                    Some(serde_json::Value::String(s)) => out.push_str(s),
                    Some(serde_json::Value::Number(n)) => out.push_str(&n.to_string()),
                    Some(serde_json::Value::Bool(b)) => out.push_str(&b.to_string()),
                    Some(_) => return Err(format!("claim `{path}` is not a single value")),
                    None => return Err(format!("claim `{path}` is missing")),
                },
            }
        }
        Ok(out)
    }
}

fn placeholder(name: &str, text: &str) -> Result<Part, String> {
    Ok(match name {
        "email" => Part::Email,
        "email_local" => Part::EmailLocal,
        "subject" => Part::Subject,
        "name" => Part::Name,
        "idp" => Part::Idp,
        _ => match name.strip_prefix("claims.") {
            Some(path) if !path.is_empty() => Part::Claim(path.to_owned()),
            _ if !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                Part::Capture(name.to_owned())
            }
            _ => return Err(format!("`{text}`: `{{{name}}}` is not a placeholder")),
        },
    })
}
