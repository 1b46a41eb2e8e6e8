//! Reading claims whatever shape the provider sent them in.

use serde_json::Value;

/// The value at a dot-separated `path` such as `realm_access.roles`. A key that itself
/// contains dots (as namespaced claims like `https://example.com/groups` do) is found too,
/// because the whole path is tried as one key first.
pub fn claim_at_path<'a>(
    claims: &'a serde_json::Map<String, Value>,
    path: &str,
) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    let (head, rest) = path.split_once('.')?;
    match claims.get(head)? {
        Value::Object(inner) => claim_at_path(inner, rest),
        _ => None,
    }
}

/// Group names from a claim value: a list of strings, or one string. Anything else (numbers,
/// objects, nested lists) contributes nothing; the mapping engine explains missing groups.
pub fn groups_from_claim(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(group)) => vec![group.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The factor an RFC 8176 `amr` value proves, if it is one: something known, held or inherent.
/// Risk-based, geolocation, Windows and multi-channel values prove no factor of their own.
fn factor(method: &str) -> Option<u8> {
    match method {
        "pwd" | "pin" | "kba" => Some(0),
        "otp" | "hwk" | "swk" | "sms" | "tel" | "sc" | "pop" => Some(1),
        "fpt" | "face" | "iris" | "retina" | "vbm" | "user" => Some(2),
        _ => None,
    }
}

/// Whether `amr` shows multi-factor authentication (RFC 8176): the `mfa` value, or methods
/// from at least two different factors (`pwd` and `otp`, say; `pwd` and `kba` are one factor,
/// and `rba` is none).
pub fn mfa_from_amr(amr: &[String]) -> bool {
    let mut factors = [false; 3];
    for method in amr {
        if method == "mfa" {
            return true;
        }
        if let Some(slot) = factor(method).and_then(|f| factors.get_mut(usize::from(f))) {
            *slot = true;
        }
    }
    factors.iter().filter(|f| **f).count() >= 2
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn nested_path_is_followed() {
        let c = claims(json!({"realm_access": {"roles": ["a", "b"]}}));
        assert_eq!(
            groups_from_claim(claim_at_path(&c, "realm_access.roles")),
            ["a", "b"]
        );
    }

    #[test]
    fn dotted_key_is_found_as_one_key() {
        let c = claims(json!({"https://example.com/groups": ["x"]}));
        assert_eq!(
            groups_from_claim(claim_at_path(&c, "https://example.com/groups")),
            ["x"]
        );
    }

    #[test]
    fn wrong_shapes_give_no_groups() {
        for value in [
            json!(7),
            json!({"a": 1}),
            json!([[1], {"b": 2}]),
            json!(null),
        ] {
            let c = claims(json!({ "groups": value }));
            assert!(groups_from_claim(claim_at_path(&c, "groups")).is_empty());
        }
        let mixed = claims(json!({"groups": ["ok", 3, {"x": 1}]}));
        assert_eq!(groups_from_claim(claim_at_path(&mixed, "groups")), ["ok"]);
    }

    #[test]
    fn single_string_is_one_group() {
        let c = claims(json!({"groups": "admins"}));
        assert_eq!(groups_from_claim(claim_at_path(&c, "groups")), ["admins"]);
    }

    #[test]
    fn path_through_a_non_object_finds_nothing() {
        let c = claims(json!({"a": "b"}));
        assert!(claim_at_path(&c, "a.b").is_none());
    }

    #[test]
    fn mfa_needs_the_mfa_value_or_two_methods() {
        let amr = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(mfa_from_amr(&amr(&["mfa"])));
        assert!(mfa_from_amr(&amr(&["pwd", "otp"])));
        assert!(!mfa_from_amr(&amr(&["pwd"])));
        assert!(!mfa_from_amr(&amr(&["pwd", "pwd"])));
        assert!(!mfa_from_amr(&[]));
        assert!(mfa_from_amr(&amr(&["hwk", "fpt"])));
        assert!(
            !mfa_from_amr(&amr(&["pwd", "kba"])),
            "two things known are one factor"
        );
        assert!(
            !mfa_from_amr(&amr(&["pwd", "rba"])),
            "risk-based proves no factor"
        );
        assert!(!mfa_from_amr(&amr(&["pwd", "mca"])));
        assert!(!mfa_from_amr(&amr(&["hwk"])));
    }
}
