//! Encrypted assertions (XML Encryption 1.1), decrypted with the SP key: the content key by
//! RSA-OAEP (RSA PKCS#1 v1.5 is refused: Bleichenbacher's attack), the assertion by AES-GCM
//! or AES-CBC (128, 192 or 256 bits).

use openssl::encrypt::Decrypter;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};

use super::SamlError;

const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";

/// The XML Encryption namespace.
const XENC_NS: &[u8] = b"http://www.w3.org/2001/04/xmlenc#";
/// The XML Signature namespace (`DigestMethod`).
const DSIG_NS: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";

/// The parts of the first `<EncryptedAssertion>` of a document, read by namespace (not by
/// prefix, so wherever the IdP declares its namespaces).
#[derive(Debug, Default)]
pub(super) struct EncryptedParts {
    /// Where the element is in the document (bytes).
    pub(super) span: std::ops::Range<usize>,
    key_algorithm: String,
    key_digest: Option<String>,
    key_cipher: String,
    content_algorithm: String,
    content_cipher: String,
}

/// Finds and reads the first `<EncryptedAssertion>` of `xml` (already screened).
pub(super) fn find_encrypted(xml: &str) -> Result<EncryptedParts, SamlError> {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    let malformed =
        |reason: &str| SamlError::Malformed(format!("the encrypted assertion: {reason}"));
    let mut reader = quick_xml::reader::NsReader::from_str(xml);
    let mut parts = EncryptedParts::default();
    // The open elements inside the EncryptedAssertion, by (namespace is xenc, local name).
    let mut path: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut inside = false;
    let mut start_at = 0;
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(0);
        let (namespace, event) = reader
            .read_resolved_event()
            .map_err(|e| SamlError::Malformed(format!("not well-formed XML: {e}")))?;
        let xenc = matches!(&namespace, ResolveResult::Bound(n) if n.as_ref() == XENC_NS);
        let dsig = matches!(&namespace, ResolveResult::Bound(n) if n.as_ref() == DSIG_NS);
        let in_key = path.iter().any(|(x, name)| *x && name == b"EncryptedKey");
        let is_empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(start) | Event::Empty(start) => {
                let local = start.local_name().as_ref().to_vec();
                if !inside {
                    if local == b"EncryptedAssertion" {
                        inside = true;
                        start_at = before;
                        if is_empty {
                            return Err(malformed("it is empty"));
                        }
                    }
                    continue;
                }
                let algorithm = start
                    .try_get_attribute("Algorithm")
                    .ok()
                    .flatten()
                    .map(|a| String::from_utf8_lossy(&a.value).into_owned());
                if xenc && local == b"EncryptionMethod" {
                    let algorithm = algorithm.clone().unwrap_or_default();
                    if in_key {
                        parts.key_algorithm = algorithm;
                    } else {
                        parts.content_algorithm = algorithm;
                    }
                }
                if dsig && local == b"DigestMethod" && in_key {
                    parts.key_digest = algorithm;
                }
                if !is_empty {
                    path.push((xenc, local));
                }
            }
            Event::Text(text)
                if inside
                    && path
                        .last()
                        .is_some_and(|(x, name)| *x && name == b"CipherValue") =>
            {
                let value = text
                    .decode()
                    .map_err(|_| malformed("a CipherValue is not text"))?;
                if in_key {
                    parts.key_cipher.push_str(&value);
                } else {
                    parts.content_cipher.push_str(&value);
                }
            }
            Event::End(_) if inside && path.pop().is_none() => {
                let end = usize::try_from(reader.buffer_position()).unwrap_or(xml.len());
                parts.span = start_at..end;
                break;
            }
            Event::Eof => return Err(malformed("there is none")),
            _ => {}
        }
    }
    if parts.key_cipher.is_empty() {
        return Err(malformed("no EncryptedKey"));
    }
    if parts.content_cipher.is_empty() {
        return Err(malformed("no CipherValue"));
    }
    Ok(parts)
}

/// Decrypts `parts` with `key`; the assertion's XML, with the namespace declarations it
/// inherited in the response (`in_scope`: prefix, URI) restated on its root.
pub(super) fn decrypt_assertion(
    parts: &EncryptedParts,
    key: &PKey<Private>,
    in_scope: &[(String, String)],
) -> Result<String, SamlError> {
    let refuse = |reason: &str| SamlError::Refused(format!("the encrypted assertion: {reason}"));
    let content_key = unwrap_key(
        &base64(&parts.key_cipher)?,
        &parts.key_algorithm,
        parts.key_digest.as_deref(),
        key,
    )?;
    let plaintext = decrypt_content(
        &base64(&parts.content_cipher)?,
        &parts.content_algorithm,
        &content_key,
    )?;
    let text = String::from_utf8(plaintext).map_err(|_| refuse("it is not UTF-8"))?;
    let text = text
        .trim_start()
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split_once("?>"))
        .map_or(text.as_str(), |(_, body)| body);
    Ok(restate_namespaces(text.trim(), in_scope))
}

fn base64(text: &str) -> Result<Vec<u8>, SamlError> {
    use base64::Engine as _;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| SamlError::Malformed("a CipherValue is not base64".into()))
}

fn unwrap_key(
    wrapped: &[u8],
    algorithm: &str,
    digest: Option<&str>,
    key: &PKey<Private>,
) -> Result<Vec<u8>, SamlError> {
    let refuse = |reason: String| SamlError::Refused(format!("the encrypted assertion: {reason}"));
    match algorithm {
        RSA_OAEP_MGF1P | RSA_OAEP => {}
        RSA_1_5 => {
            return Err(refuse(
                "RSA PKCS#1 v1.5 key transport is refused (configure RSA-OAEP)".into(),
            ));
        }
        other => return Err(refuse(format!("key transport `{other}` is not supported"))),
    }
    let digest = match digest {
        None | Some("http://www.w3.org/2000/09/xmldsig#sha1") => MessageDigest::sha1(),
        Some("http://www.w3.org/2001/04/xmlenc#sha256") => MessageDigest::sha256(),
        Some("http://www.w3.org/2001/04/xmlenc#sha512") => MessageDigest::sha512(),
        Some(other) => return Err(refuse(format!("OAEP digest `{other}` is not supported"))),
    };
    let failed = |_| refuse("the content key does not decrypt with the SP key".into());
    let mut decrypter = Decrypter::new(key).map_err(failed)?;
    decrypter
        .set_rsa_padding(Padding::PKCS1_OAEP)
        .map_err(failed)?;
    decrypter.set_rsa_oaep_md(digest).map_err(failed)?;
    let mut out = vec![0; decrypter.decrypt_len(wrapped).map_err(failed)?];
    let length = decrypter.decrypt(wrapped, &mut out).map_err(failed)?;
    out.truncate(length);
    Ok(out)
}

fn decrypt_content(data: &[u8], algorithm: &str, key: &[u8]) -> Result<Vec<u8>, SamlError> {
    let refuse = |reason: String| SamlError::Refused(format!("the encrypted assertion: {reason}"));
    let (cipher, gcm) = match algorithm {
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" => (Cipher::aes_128_gcm(), true),
        "http://www.w3.org/2009/xmlenc11#aes192-gcm" => (Cipher::aes_192_gcm(), true),
        "http://www.w3.org/2009/xmlenc11#aes256-gcm" => (Cipher::aes_256_gcm(), true),
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => (Cipher::aes_128_cbc(), false),
        "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => (Cipher::aes_192_cbc(), false),
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => (Cipher::aes_256_cbc(), false),
        other => {
            return Err(refuse(format!(
                "content encryption `{other}` is not supported"
            )));
        }
    };
    if key.len() != cipher.key_len() {
        return Err(refuse("the content key has the wrong length".into()));
    }
    let failed = |_| refuse("the content does not decrypt".into());
    if gcm {
        // XML Encryption 1.1: a 96-bit IV, the ciphertext, then a 128-bit tag.
        const IV: usize = 12;
        const TAG: usize = 16;
        if data.len() < IV + TAG {
            return Err(refuse("the ciphertext is too short".into()));
        }
        let (iv, rest) = data.split_at(IV);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG);
        openssl::symm::decrypt_aead(cipher, key, Some(iv), &[], ciphertext, tag).map_err(failed)
    } else {
        // A 128-bit IV, then blocks; ISO 10126 padding (only its last byte is defined).
        const BLOCK: usize = 16;
        if data.len() < 2 * BLOCK || !data.len().is_multiple_of(BLOCK) {
            return Err(refuse("the ciphertext is not whole blocks".into()));
        }
        let (iv, ciphertext) = data.split_at(BLOCK);
        let mut crypter = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).map_err(failed)?;
        crypter.pad(false);
        let mut out = vec![0; ciphertext.len() + BLOCK];
        let mut length = crypter.update(ciphertext, &mut out).map_err(failed)?;
        let tail = out
            .get_mut(length..)
            .ok_or_else(|| refuse("the content does not decrypt".into()))?;
        length += crypter.finalize(tail).map_err(failed)?;
        out.truncate(length);
        let pad = usize::from(*out.last().ok_or_else(|| refuse("it is empty".into()))?);
        if pad == 0 || pad > BLOCK || pad > out.len() {
            return Err(refuse("the content does not decrypt".into()));
        }
        out.truncate(out.len() - pad);
        Ok(out)
    }
}

/// `element` with the `in_scope` declarations it does not make itself added to its start
/// tag. Exclusive canonicalisation renders namespaces where they are used, so restating a
/// declaration on the root leaves the assertion's signature intact.
fn restate_namespaces(element: &str, in_scope: &[(String, String)]) -> String {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(element);
    let (start, empty) = loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => break (start.into_owned(), false),
            Ok(Event::Empty(start)) => break (start.into_owned(), true),
            Ok(Event::Eof) | Err(_) => return element.to_owned(),
            Ok(_) => {}
        }
    };
    let Ok(end) = usize::try_from(reader.buffer_position()) else {
        return element.to_owned();
    };
    // The start tag without its closing `>` (or `/>`).
    let cut = end.saturating_sub(if empty { 2 } else { 1 });
    let (Some(tag), Some(rest)) = (element.get(..cut), element.get(cut..)) else {
        return element.to_owned();
    };
    let declared: Vec<Vec<u8>> = start
        .attributes()
        .filter_map(Result::ok)
        .map(|a| a.key.as_ref().to_vec())
        .collect();
    let mut added = String::new();
    for (prefix, uri) in in_scope {
        let name = if prefix.is_empty() {
            "xmlns".to_owned()
        } else {
            format!("xmlns:{prefix}")
        };
        if !declared.iter().any(|d| d.as_slice() == name.as_bytes()) {
            added.push_str(&format!(
                " {name}=\"{}\"",
                quick_xml::escape::escape(uri.as_str())
            ));
        }
    }
    format!("{tag}{added}{rest}")
}
