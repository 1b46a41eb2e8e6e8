//! Keys made on the spot, for the demo's service provider and identity provider.

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};
use samael::crypto::CertificateDer;

/// A 2048-bit RSA key and a self-signed certificate for it, valid a year, named `name`.
pub fn self_signed(name: &str) -> Result<(PKey<Private>, CertificateDer), String> {
    let make = || -> Result<(PKey<Private>, CertificateDer), openssl::error::ErrorStack> {
        let key = PKey::from_rsa(Rsa::generate(2048)?)?;
        let mut subject = X509NameBuilder::new()?;
        subject.append_entry_by_nid(Nid::COMMONNAME, name)?;
        let subject = subject.build();
        let mut builder = X509::builder()?;
        let mut serial = BigNum::new()?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
        builder.set_serial_number(serial.to_asn1_integer()?.as_ref())?;
        builder.set_version(2)?;
        builder.set_subject_name(&subject)?;
        builder.set_issuer_name(&subject)?;
        builder.set_pubkey(&key)?;
        builder.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
        builder.set_not_after(Asn1Time::days_from_now(365)?.as_ref())?;
        builder.sign(&key, MessageDigest::sha256())?;
        let certificate = builder.build().to_der()?;
        Ok((key, certificate.into()))
    };
    make().map_err(|e| format!("making a key and certificate: {e}"))
}
