//! Verifying a SAML response as the ACS does (`SamlProvider::verify`: the XML screen,
//! xmlsec's RSA-SHA256 signature check and reduction, every profile check), for a response
//! whose assertion is signed, and for one also encrypted to the SP (RSA-OAEP, AES-256-GCM).
//! The person has 5 attributes and 20 groups. `cargo bench --bench saml` prints criterion's
//! estimates, then p50/p99 from 2,000 individually timed verifications of each.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "benchmark harness"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use rolegate::clock::{Clock, SystemClock};
use rolegate::config::{
    IdpConfig, IdpName, IdpProtocol, PublicUrl, SamlAttributeNames, SamlMetadataSource,
    SamlSettings, SignedElements,
};
use rolegate::idp::saml::issuer::{ResponseSpec, SamlIssuer};
use rolegate::idp::saml::{SamlProvider, ServiceProvider};

const IDP: &str = "https://idp.example.com/saml";

fn provider(issuer: &SamlIssuer, sp: Arc<ServiceProvider>) -> SamlProvider {
    let settings = SamlSettings {
        metadata: SamlMetadataSource::Inline(Arc::from(
            issuer.metadata_xml("https://idp.example.com/sso"),
        )),
        metadata_signing_cert: None,
        attributes: SamlAttributeNames::defaults(),
        allow_idp_initiated: false,
        require_signed: SignedElements::Assertion,
        require_encrypted_assertions: false,
        honour_idp_roles: false,
        clock_skew: Duration::from_secs(60),
        mfa_authn_contexts: Vec::new(),
    };
    let idp = IdpConfig {
        name: IdpName::parse("bench").unwrap(),
        display_name: "Bench".into(),
        logo: None,
        allowed_email_domains: Vec::new(),
        trust_email: false,
        protocol: IdpProtocol::Saml(settings.clone()),
    };
    SamlProvider::new(
        &idp,
        settings,
        sp,
        reqwest::Client::new(),
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn response(issuer: &SamlIssuer, sp: &ServiceProvider, encrypt: bool) -> String {
    let groups: Vec<String> = (0..20).map(|g| format!("team-{g}")).collect();
    let spec = ResponseSpec {
        name_id: "alice@example.com",
        name_id_format: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        audience: &sp.entity_id,
        acs_url: &sp.acs_url,
        in_response_to: Some("_bench"),
        attributes: vec![
            ("mail".into(), vec!["alice@example.com".into()]),
            ("displayName".into(), vec!["Alice Example".into()]),
            ("department".into(), vec!["platform".into()]),
            ("cost_center".into(), vec!["cc-42".into()]),
            ("groups".into(), groups),
        ],
        authn_context: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
        now: SystemClock.now(),
        lifetime: Duration::from_secs(3600),
        session_not_on_or_after: None,
        sign: SignedElements::Assertion,
        encrypt_to: None,
    };
    if encrypt {
        let certificate = sp.certificate();
        issuer
            .response(&ResponseSpec {
                encrypt_to: Some(certificate),
                ..spec
            })
            .unwrap()
    } else {
        issuer.response(&spec).unwrap()
    }
}

fn percentiles(mut micros: Vec<f64>) -> (f64, f64) {
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() as f64 * q) as usize).min(micros.len() - 1)];
    (at(0.50), at(0.99))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let public = PublicUrl::parse("https://sso.example.com").unwrap();
    let sp = Arc::new(ServiceProvider::generate(&public).unwrap());
    let issuer = SamlIssuer::generate(IDP).unwrap();
    let provider = provider(&issuer, sp.clone());
    let cases = [
        ("signed assertion", response(&issuer, &sp, false)),
        ("signed and encrypted", response(&issuer, &sp, true)),
    ];
    for (name, xml) in &cases {
        let verified = runtime.block_on(provider.verify(xml)).unwrap();
        assert_eq!(verified.name_id, "alice@example.com", "{name}");
    }
    let mut criterion = Criterion::default().configure_from_args();
    for (name, xml) in &cases {
        criterion.bench_function(&format!("saml/verify {name}"), |b| {
            b.iter(|| runtime.block_on(provider.verify(black_box(xml))).unwrap())
        });
    }
    criterion.final_summary();
    // Under `cargo test` the criterion run above is a smoke run; the timings need --bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    for (name, xml) in &cases {
        let micros: Vec<f64> = (0..2_000)
            .map(|_| {
                let start = Instant::now();
                black_box(runtime.block_on(provider.verify(xml)).unwrap());
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        let (p50, p99) = percentiles(micros);
        println!(
            "saml/verify {name} ({} bytes): p50 {p50:.0} µs, p99 {p99:.0} µs",
            xml.len()
        );
    }
}
