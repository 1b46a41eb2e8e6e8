//! Where a browser may be sent after signing in: only paths on this origin.

/// `target` when it is a same-origin relative path (`/…`, not `//…` or `/\…`, no control
/// characters, at most 2,048 bytes); otherwise `None`. Prevents open redirects.
pub fn safe_return_to(target: &str) -> Option<&str> {
    let mut chars = target.chars();
    let starts_with_one_slash =
        chars.next() == Some('/') && !matches!(chars.next(), Some('/' | '\\'));
    let clean = !target.chars().any(|c| c.is_control() || c == '\\');
    (starts_with_one_slash && clean && target.len() <= 2048).then_some(target)
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn relative_paths_are_accepted() {
        for ok in ["/", "/console", "/select-role?account=123#top", "/a/b/c"] {
            assert_eq!(safe_return_to(ok), Some(ok), "{ok}");
        }
    }

    #[test]
    fn anything_that_can_leave_the_origin_is_refused() {
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%0a/x\n",
            "/ok\r\nSet-Cookie: x=y",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/a\\b",
        ] {
            assert_eq!(safe_return_to(bad), None, "{bad:?}");
        }
        assert_eq!(safe_return_to(&format!("/{}", "a".repeat(2048))), None);
    }
}
