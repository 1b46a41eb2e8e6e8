//! Any bytes as a policy document of every kind: parsing must return a policy or findings,
//! never panic; a parsed policy must survive its own canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rolegate::policy::{Policy, PolicyKind};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for kind in [PolicyKind::Inline, PolicyKind::Managed, PolicyKind::Trust, PolicyKind::Resource, PolicyKind::Session] {
        if let Ok(policy) = Policy::parse(text, kind, "fuzz") {
            let canonical = policy.to_json().to_string();
            let again = Policy::parse(&canonical, kind, "fuzz").expect("the canonical form parses");
            assert_eq!(policy.statements, again.statements);
        }
    }
});
