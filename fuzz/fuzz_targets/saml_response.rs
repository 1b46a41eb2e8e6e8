//! Any bytes as a SAML response, through what reads one before any signature is checked:
//! the XML screen (DTDs, comments, depth, duplicate IDs, the shape) and the envelope parse
//! that chooses the provider. It must never panic, whatever it is given.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rolegate::idp::saml::claimed_issuer(text);
    }
});
