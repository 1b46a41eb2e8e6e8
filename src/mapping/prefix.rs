//! A byte trie of the literal prefixes group patterns must start with, so a person's 500
//! groups are matched against only the patterns their first bytes allow.

use regex::Regex;
use regex_syntax::hir::literal::Extractor;

#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<(u8, usize)>,
    /// Patterns whose prefix ends here.
    patterns: Vec<usize>,
}

/// Patterns indexed by their literal prefixes.
#[derive(Debug, Clone)]
pub(crate) struct PrefixIndex {
    nodes: Vec<Node>,
    /// The compiled pattern for each index.
    regexes: Vec<Regex>,
}

impl Default for PrefixIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl PrefixIndex {
    /// An empty index.
    pub(crate) fn new() -> Self {
        Self {
            nodes: vec![Node::default()],
            regexes: Vec::new(),
        }
    }

    /// Adds `regex` under its literal prefixes and returns its index; `None` (nothing added)
    /// when it has no finite set of non-empty prefixes.
    pub(crate) fn insert(&mut self, regex: &Regex) -> Option<usize> {
        let hir = regex_syntax::parse(regex.as_str()).ok()?;
        let prefixes = Extractor::new().extract(&hir);
        let literals = prefixes.literals()?;
        if literals.is_empty() || literals.iter().any(|l| l.as_bytes().is_empty()) {
            return None;
        }
        let index = self.regexes.len();
        self.regexes.push(regex.clone());
        for literal in literals {
            let node = self.node_for(literal.as_bytes());
            if let Some(node) = self.nodes.get_mut(node) {
                node.patterns.push(index);
            }
        }
        Some(index)
    }

    fn node_for(&mut self, bytes: &[u8]) -> usize {
        let mut current = 0;
        for byte in bytes {
            let existing = self.nodes.get(current).and_then(|n| {
                n.children
                    .iter()
                    .find(|(b, _)| b == byte)
                    .map(|(_, next)| *next)
            });
            current = match existing {
                Some(next) => next,
                None => {
                    let next = self.nodes.len();
                    self.nodes.push(Node::default());
                    if let Some(node) = self.nodes.get_mut(current) {
                        node.children.push((*byte, next));
                    }
                    next
                }
            };
        }
        current
    }

    /// Calls `found` with each pattern that matches `text`.
    pub(crate) fn matches(&self, text: &str, mut found: impl FnMut(usize)) {
        let mut current = 0;
        let mut bytes = text.bytes();
        loop {
            let Some(node) = self.nodes.get(current) else {
                return;
            };
            for &pattern in &node.patterns {
                if self.regexes.get(pattern).is_some_and(|r| r.is_match(text)) {
                    found(pattern);
                }
            }
            let Some(byte) = bytes.next() else { return };
            match node.children.iter().find(|(b, _)| *b == byte) {
                Some((_, next)) => current = *next,
                None => return,
            }
        }
    }

    /// The source of pattern `index`.
    pub(crate) fn source(&self, index: usize) -> Option<&str> {
        self.regexes.get(index).map(Regex::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(index: &PrefixIndex, text: &str) -> Vec<usize> {
        let mut hits = Vec::new();
        index.matches(text, |p| hits.push(p));
        hits.sort_unstable();
        hits
    }

    #[test]
    fn patterns_are_tried_only_under_their_prefixes() {
        let mut index = PrefixIndex::new();
        let aws = index
            .insert(&Regex::new(r"^(?:aws-(?P<a>\d{12})-(?P<r>\w+))$").unwrap())
            .unwrap();
        let dept = index
            .insert(&Regex::new("^(?:dept-1-.*)$").unwrap())
            .unwrap();
        let either = index
            .insert(&Regex::new("^(?:(?:ops|dev)-.*)$").unwrap())
            .unwrap();
        assert!(
            index
                .insert(&Regex::new("^(?:.*admin)$").unwrap())
                .is_none(),
            "no literal prefix"
        );
        assert_eq!(found(&index, "aws-123456789012-Admin"), [aws]);
        assert_eq!(
            found(&index, "aws-12-Admin"),
            Vec::<usize>::new(),
            "prefix fits, regex does not"
        );
        assert_eq!(found(&index, "dept-1-x"), [dept]);
        assert_eq!(found(&index, "dept-10-x"), Vec::<usize>::new());
        assert_eq!(found(&index, "dev-team"), [either]);
        assert_eq!(found(&index, "ops-team"), [either]);
        assert_eq!(found(&index, "noise"), Vec::<usize>::new());
    }
}
