//! IAM wildcard matching: `*` matches any run of characters (including none), `?` exactly
//! one. Patterns are compiled once; matching allocates nothing.

/// Whether letter case matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    /// `s3:GetObject` equals `S3:getobject` (actions).
    Insensitive,
    /// Exact (resources, `StringLike`, ARNs).
    Sensitive,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    AnyRun,
    AnyOne,
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    tokens: Vec<Token>,
    case: Case,
}

/// Builds a [`Glob`] piece by piece, so that characters that came from `${*}`-style escapes
/// or from substituted variables can be literal even when they are `*` or `?`.
#[derive(Debug, Default)]
pub(crate) struct GlobBuilder {
    tokens: Vec<Token>,
}

impl GlobBuilder {
    /// Appends text in which `*` and `?` are wildcards.
    pub(crate) fn pattern(&mut self, text: &str) {
        let mut literal = String::new();
        for c in text.chars() {
            match c {
                '*' | '?' => {
                    self.flush(&mut literal);
                    let token = if c == '*' {
                        Token::AnyRun
                    } else {
                        Token::AnyOne
                    };
                    // `**` matches what `*` does; keep one.
                    if !(token == Token::AnyRun && self.tokens.last() == Some(&Token::AnyRun)) {
                        self.tokens.push(token);
                    }
                }
                _ => literal.push(c),
            }
        }
        self.flush(&mut literal);
    }

    /// Appends text matched literally, wildcard characters included.
    pub(crate) fn literal(&mut self, text: &str) {
        let mut literal = text.to_owned();
        self.flush(&mut literal);
    }

    fn flush(&mut self, literal: &mut String) {
        if literal.is_empty() {
            return;
        }
        if let Some(Token::Literal(previous)) = self.tokens.last_mut() {
            previous.push_str(literal);
        } else {
            self.tokens.push(Token::Literal(std::mem::take(literal)));
        }
        literal.clear();
    }

    /// The finished pattern.
    pub(crate) fn build(self, case: Case) -> Glob {
        let tokens = self
            .tokens
            .into_iter()
            .map(|t| match (t, case) {
                (Token::Literal(s), Case::Insensitive) => Token::Literal(s.to_ascii_lowercase()),
                (t, _) => t,
            })
            .collect();
        Glob { tokens, case }
    }
}

impl Glob {
    /// `pattern` with `*` and `?` as wildcards.
    pub(crate) fn new(pattern: &str, case: Case) -> Self {
        let mut builder = GlobBuilder::default();
        builder.pattern(pattern);
        builder.build(case)
    }

    /// Whether `text` matches the whole pattern.
    pub(crate) fn matches(&self, text: &str) -> bool {
        match self.tokens.as_slice() {
            [] => text.is_empty(),
            [Token::AnyRun] => true,
            [Token::Literal(literal)] => {
                text.len() == literal.len() && self.literal_at(text, 0, literal)
            }
            tokens => self.matches_tokens(tokens, text),
        }
    }

    fn literal_at(&self, text: &str, at: usize, literal: &str) -> bool {
        let Some(candidate) = text.as_bytes().get(at..at + literal.len()) else {
            return false;
        };
        match self.case {
            Case::Sensitive => candidate == literal.as_bytes(),
            Case::Insensitive => candidate.eq_ignore_ascii_case(literal.as_bytes()),
        }
    }

    fn matches_tokens(&self, tokens: &[Token], text: &str) -> bool {
        // Classic iterative matcher: on a mismatch, retry from the last `*` with one more
        // character swallowed. Linear for the patterns IAM sees, never exponential.
        let mut token = 0;
        let mut at = 0;
        let mut last_star: Option<(usize, usize)> = None;
        loop {
            let advanced = match tokens.get(token) {
                Some(Token::AnyRun) => {
                    last_star = Some((token + 1, at));
                    token += 1;
                    continue;
                }
                Some(Token::AnyOne) => match next_char_len(text, at) {
                    Some(len) => {
                        at += len;
                        true
                    }
                    None => false,
                },
                Some(Token::Literal(literal)) => {
                    let found = self.literal_at(text, at, literal);
                    if found {
                        at += literal.len();
                    }
                    found
                }
                None if at == text.len() => return true,
                None => false,
            };
            if advanced {
                token += 1;
                continue;
            }
            match last_star {
                Some((after_star, star_at)) => match next_char_len(text, star_at) {
                    Some(len) => {
                        last_star = Some((after_star, star_at + len));
                        token = after_star;
                        at = star_at + len;
                    }
                    None => return false,
                },
                None => return false,
            }
        }
    }
}

/// The byte length of the character starting at `at`, if any.
fn next_char_len(text: &str, at: usize) -> Option<usize> {
    text.get(at..)?.chars().next().map(char::len_utf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        Glob::new(pattern, Case::Sensitive).matches(text)
    }

    #[test]
    fn literal_and_star() {
        assert!(m("abc", "abc"));
        assert!(!m("abc", "abcd"));
        assert!(m("*", ""));
        assert!(m("a*", "a"));
        assert!(m("a*c", "abbbc"));
        assert!(!m("a*c", "abbb"));
        assert!(m("*b*", "abc"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxcyyb"));
        assert!(m("**", "anything"));
    }

    #[test]
    fn question_mark_is_exactly_one_character() {
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(!m("a?c", "abbc"));
        assert!(m("a?c", "aéc"), "one character, several bytes");
        assert!(m("??", "é€"));
    }

    #[test]
    fn backtracking_finds_late_matches() {
        assert!(m("*ab", "aaab"));
        assert!(m("a*a*a", "aaaaa"));
        assert!(!m("a*a*a*a*a*a*a*b", &"a".repeat(60)));
    }

    #[test]
    fn case_insensitive_for_actions() {
        let g = Glob::new("s3:Get*", Case::Insensitive);
        assert!(g.matches("S3:GETOBJECT"));
        assert!(g.matches("s3:getobject"));
        assert!(!g.matches("s3:PutObject"));
        assert!(!Glob::new("s3:Get*", Case::Sensitive).matches("s3:getObject"));
    }

    #[test]
    fn literal_pieces_keep_wildcard_characters_literal() {
        let mut b = GlobBuilder::default();
        b.pattern("a");
        b.literal("*");
        b.pattern("?");
        let g = b.build(Case::Sensitive);
        assert!(g.matches("a*x"));
        assert!(!g.matches("abx"));
    }
}
