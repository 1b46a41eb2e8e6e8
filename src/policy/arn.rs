//! Amazon Resource Names: `arn:partition:service:region:account:resource`.
//! Patterns match segment by segment; each segment may hold wildcards, and the resource
//! segment (which may itself contain `:` and `/`) is matched as a whole.

use super::glob::{Case, Glob, GlobBuilder};

/// A parsed ARN, borrowing from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: &'a str,
    /// `iam`, `s3`, `sts`…
    pub service: &'a str,
    /// Region, empty for global services.
    pub region: &'a str,
    /// 12-digit account id, empty for some services (S3 buckets).
    pub account: &'a str,
    /// Everything after the fifth colon.
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits `text` into its six segments; `None` unless it starts with `arn:` and has them.
    pub fn parse(text: &'a str) -> Option<Self> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let arn = Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        };
        (!arn.partition.is_empty() && !arn.service.is_empty()).then_some(arn)
    }
}

/// One compiled segment pattern per ARN segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnPattern {
    segments: [Glob; 5],
}

impl ArnPattern {
    /// Compiles `pattern` (an ARN whose segments may hold `*` and `?`); `None` when it does not
    /// have the six segments.
    pub fn new(pattern: &str) -> Option<Self> {
        let arn = Arn::parse(pattern)?;
        Some(Self::from_segments([
            glob(arn.partition),
            glob(arn.service),
            glob(arn.region),
            glob(arn.account),
            glob(arn.resource),
        ]))
    }

    /// A pattern from five already-compiled segment globs.
    pub(crate) fn from_segments(segments: [Glob; 5]) -> Self {
        Self { segments }
    }

    /// Whether `arn` matches every segment.
    pub fn matches(&self, arn: &Arn<'_>) -> bool {
        let [partition, service, region, account, resource] = &self.segments;
        partition.matches(arn.partition)
            && service.matches(arn.service)
            && region.matches(arn.region)
            && account.matches(arn.account)
            && resource.matches(arn.resource)
    }
}

fn glob(segment: &str) -> Glob {
    let mut builder = GlobBuilder::default();
    builder.pattern(segment);
    builder.build(Case::Sensitive)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, arn: &str) -> bool {
        ArnPattern::new(pattern)
            .unwrap()
            .matches(&Arn::parse(arn).unwrap())
    }

    #[test]
    fn parses_six_segments_with_colons_in_the_resource() {
        let arn = Arn::parse("arn:aws:logs:us-east-1:123456789012:log-group:/app:*").unwrap();
        assert_eq!(arn.service, "logs");
        assert_eq!(arn.resource, "log-group:/app:*");
        assert!(Arn::parse("arn:aws:s3").is_none());
        assert!(Arn::parse("bucket/key").is_none());
        assert_eq!(Arn::parse("arn:aws:s3:::bucket").unwrap().account, "");
    }

    #[test]
    fn segments_match_separately() {
        assert!(m("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b"));
        assert!(!m("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket2/a"));
        assert!(m(
            "arn:aws:iam::*:role/Admin",
            "arn:aws:iam::123456789012:role/Admin"
        ));
        assert!(!m(
            "arn:aws:iam::*:role/Admin",
            "arn:aws:iam::123456789012:role/Admin2"
        ));
        // A wildcard in one segment cannot swallow the colon into the next.
        assert!(!m(
            "arn:aws:s3:*::bucket",
            "arn:aws:s3:us-east-1:123:bucket"
        ));
        assert!(
            ArnPattern::new("arn:aws:s3:*:bucket").is_none(),
            "five segments"
        );
        assert!(m("arn:*:s3:::b", "arn:aws-cn:s3:::b"));
        assert!(m(
            "arn:aws:ec2:us-east-?:*:instance/*",
            "arn:aws:ec2:us-east-2:1:instance/i-1"
        ));
    }

    #[test]
    fn matching_is_case_sensitive() {
        assert!(!m("arn:aws:s3:::Bucket", "arn:aws:s3:::bucket"));
    }
}
