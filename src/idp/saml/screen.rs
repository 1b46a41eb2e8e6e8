//! The first look at a SAML message, before any XML parser that resolves anything sees it:
//! refuses DTDs, entity declarations, processing instructions, comments and CDATA (XXE,
//! billion laughs, parser differentials, comment truncation), bounds depth and attribute
//! counts, refuses duplicate `ID`s (signature wrapping), and checks the protocol shape.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::collections::HashSet;

use super::SamlError;

/// The SAML 2.0 protocol namespace.
pub(super) const PROTOCOL_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:protocol";
/// The SAML 2.0 assertion namespace.
pub(super) const ASSERTION_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:assertion";
/// The XML Signature namespace.
const DSIG_NS: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";
/// The SAML 2.0 metadata namespace.
pub(super) const METADATA_NS: &[u8] = b"urn:oasis:names:tc:SAML:2.0:metadata";

/// The deepest element nesting accepted; a SAML response is about ten deep.
const MAX_DEPTH: usize = 32;
/// The most attributes one element may carry.
const MAX_ATTRIBUTES: usize = 32;
/// The most elements one message may hold.
const MAX_ELEMENTS: usize = 20_000;

/// What the screen learnt about a message that passed it.
#[derive(Debug, Default)]
pub(super) struct Shape {
    /// `<Assertion>` elements anywhere in the document.
    pub(super) assertions: usize,
    /// `<EncryptedAssertion>` elements anywhere in the document.
    pub(super) encrypted_assertions: usize,
    /// The root element's `ID`.
    pub(super) root_id: Option<String>,
    /// The (first) assertion's `ID`.
    pub(super) assertion_id: Option<String>,
    /// The namespace declarations (prefix, URI) in scope at the first
    /// `<EncryptedAssertion>`, which its decrypted assertion inherits.
    pub(super) encrypted_namespaces: Vec<(String, String)>,
    /// For each `<ds:Reference>`: the `ID` of the element its `<ds:Signature>` sits in, and
    /// the reference's `URI`.
    references: Vec<(Option<String>, String)>,
}

impl Shape {
    /// Whether the element with `id` carries a signature of its own (an enveloped
    /// `<ds:Signature>` child whose reference is `#id`). Whether it verifies is for xmlsec.
    pub(super) fn signs_itself(&self, id: Option<&str>) -> bool {
        let Some(id) = id else { return false };
        self.references
            .iter()
            .any(|(parent, uri)| parent.as_deref() == Some(id) && uri.strip_prefix('#') == Some(id))
    }
}

/// An open element, as the screen remembers it.
struct Open {
    /// Whether it is a `<ds:Signature>`.
    signature: bool,
    /// Its `ID` attribute.
    id: Option<String>,
    /// The namespaces it declares.
    declares: Vec<(String, String)>,
}

/// The root element a message must have.
#[derive(Debug, Clone, Copy)]
pub(super) struct Root {
    /// Its namespace.
    pub(super) namespace: &'static [u8],
    /// Its local name.
    pub(super) local_name: &'static str,
}

impl Root {
    /// `samlp:Response`.
    pub(super) const RESPONSE: Root = Root {
        namespace: PROTOCOL_NS,
        local_name: "Response",
    };
    /// `saml:Assertion` (a decrypted one).
    pub(super) const ASSERTION: Root = Root {
        namespace: ASSERTION_NS,
        local_name: "Assertion",
    };
    /// `samlp:LogoutRequest`.
    pub(super) const LOGOUT_REQUEST: Root = Root {
        namespace: PROTOCOL_NS,
        local_name: "LogoutRequest",
    };
    /// `samlp:AuthnRequest` (read by the demo's identity provider).
    pub(super) const AUTHN_REQUEST: Root = Root {
        namespace: PROTOCOL_NS,
        local_name: "AuthnRequest",
    };
    /// `md:EntityDescriptor`.
    pub(super) const ENTITY_DESCRIPTOR: Root = Root {
        namespace: METADATA_NS,
        local_name: "EntityDescriptor",
    };
}

/// Screens `xml`, which must have `root` as its root element.
pub(super) fn screen(xml: &str, root: Root) -> Result<Shape, SamlError> {
    let refuse = |reason: String| Err(SamlError::Malformed(reason));
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut shape = Shape::default();
    let mut ids = HashSet::new();
    let mut open: Vec<Open> = Vec::new();
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut root_seen = false;
    let mut first = true;
    loop {
        let (namespace, event) = reader
            .read_resolved_event()
            .map_err(|e| SamlError::Malformed(format!("not well-formed XML: {e}")))?;
        let opening = match &event {
            Event::Decl(_) if first => None,
            Event::Decl(_) => return refuse("an XML declaration after the start".into()),
            Event::DocType(_) => {
                return refuse("a DOCTYPE (DTDs and entity declarations are refused)".into());
            }
            Event::PI(_) => return refuse("a processing instruction".into()),
            Event::Comment(_) => {
                return refuse("an XML comment (a comment can split a signed value)".into());
            }
            Event::CData(_) => return refuse("a CDATA section".into()),
            Event::GeneralRef(reference) => {
                let name: &[u8] = reference;
                let predefined = matches!(name, b"amp" | b"lt" | b"gt" | b"quot" | b"apos");
                if !predefined && !reference.is_char_ref() {
                    return refuse("a reference to an undeclared entity".into());
                }
                None
            }
            Event::Start(start) | Event::Empty(start) => Some(start.clone()),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                open.pop();
                None
            }
            Event::Text(text) => {
                if depth == 0 && !text.iter().all(u8::is_ascii_whitespace) {
                    return refuse("text outside the root element".into());
                }
                None
            }
            Event::Eof => break,
        };
        first = false;
        let Some(start) = opening else { continue };
        if depth == 0 && root_seen {
            return refuse("a second root element".into());
        }
        elements += 1;
        if elements > MAX_ELEMENTS {
            return refuse(format!("more than {MAX_ELEMENTS} elements"));
        }
        let local = start.local_name();
        let local = local.as_ref();
        let in_namespace =
            |ns: &[u8]| matches!(&namespace, ResolveResult::Bound(n) if n.as_ref() == ns);
        if depth == 0 {
            if !(in_namespace(root.namespace) && local == root.local_name.as_bytes()) {
                return refuse(format!(
                    "the root element is not {}:{}",
                    String::from_utf8_lossy(root.namespace),
                    root.local_name
                ));
            }
            root_seen = true;
        }
        let mut count = 0usize;
        let mut id = None;
        let mut uri = None;
        let mut declares = Vec::new();
        for attribute in start.attributes() {
            let attribute = attribute
                .map_err(|e| SamlError::Malformed(format!("a malformed attribute: {e}")))?;
            count += 1;
            let value = || String::from_utf8_lossy(&attribute.value).into_owned();
            match attribute.key.as_ref() {
                b"ID" => {
                    if !ids.insert(value()) {
                        return refuse("two elements with the same ID".into());
                    }
                    id = Some(value());
                }
                b"URI" => uri = Some(value()),
                b"xmlns" => declares.push((String::new(), value())),
                key => {
                    if let Some(prefix) = key.strip_prefix(b"xmlns:") {
                        declares.push((String::from_utf8_lossy(prefix).into_owned(), value()));
                    }
                }
            }
        }
        if depth == 0 {
            shape.root_id = id.clone();
        }
        if in_namespace(ASSERTION_NS) {
            match local {
                b"Assertion" => {
                    shape.assertions += 1;
                    shape.assertion_id = shape.assertion_id.take().or_else(|| id.clone());
                }
                b"EncryptedAssertion" => {
                    shape.encrypted_assertions += 1;
                    if shape.encrypted_assertions == 1 {
                        let mut in_scope: Vec<(String, String)> = Vec::new();
                        let levels = open.iter().map(|o| &o.declares).chain([&declares]);
                        for (prefix, uri) in levels.flatten() {
                            in_scope.retain(|(p, _)| p != prefix);
                            in_scope.push((prefix.clone(), uri.clone()));
                        }
                        shape.encrypted_namespaces = in_scope;
                    }
                }
                _ => {}
            }
        }
        let signature = in_namespace(DSIG_NS) && local == b"Signature";
        if in_namespace(DSIG_NS) && local == b"Reference" {
            let holder = open
                .iter()
                .rposition(|o| o.signature)
                .and_then(|at| at.checked_sub(1))
                .and_then(|at| open.get(at))
                .and_then(|o| o.id.clone());
            shape.references.push((holder, uri.unwrap_or_default()));
        }
        if count > MAX_ATTRIBUTES {
            return refuse(format!(
                "an element with more than {MAX_ATTRIBUTES} attributes"
            ));
        }
        if matches!(event, Event::Start(_)) {
            open.push(Open {
                signature,
                id,
                declares,
            });
            depth += 1;
            if depth > MAX_DEPTH {
                return refuse(format!("elements nested more than {MAX_DEPTH} deep"));
            }
        }
    }
    if !root_seen {
        return refuse("no root element".into());
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"<?xml version="1.0"?><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="r1"><saml:Assertion ID="a1"><saml:Issuer>x &amp; y</saml:Issuer></saml:Assertion></samlp:Response>"#;

    fn refusal(xml: &str) -> String {
        match screen(xml, Root::RESPONSE) {
            Err(SamlError::Malformed(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_plain_response_passes_and_its_assertions_are_counted() {
        let shape = screen(OK, Root::RESPONSE).unwrap();
        assert_eq!(shape.assertions, 1);
        assert_eq!(shape.encrypted_assertions, 0);
    }

    #[test]
    fn enveloped_signatures_are_attributed_to_the_element_they_sit_in() {
        let signed = OK.replace(
            "<saml:Issuer>",
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo><ds:Reference URI=\"#a1\"/></ds:SignedInfo></ds:Signature><saml:Issuer>",
        );
        let shape = screen(&signed, Root::RESPONSE).unwrap();
        assert!(shape.signs_itself(shape.assertion_id.as_deref()));
        assert!(!shape.signs_itself(shape.root_id.as_deref()));
        let elsewhere = signed.replace("URI=\"#a1\"", "URI=\"#r1\"");
        let shape = screen(&elsewhere, Root::RESPONSE).unwrap();
        assert!(!shape.signs_itself(Some("a1")) && !shape.signs_itself(Some("r1")));
    }

    #[test]
    fn dtds_entities_and_processing_instructions_are_refused() {
        let xxe = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
            &OK[21..]
        );
        assert!(refusal(&xxe).contains("DOCTYPE"));
        let laughs = "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><r/>";
        assert!(refusal(laughs).contains("DOCTYPE"));
        let pi = OK.replace(
            "<saml:Assertion",
            "<?xml-stylesheet href=\"x\"?><saml:Assertion",
        );
        assert!(refusal(&pi).contains("processing instruction"));
        let undeclared = OK.replace("&amp;", "&lol;");
        assert!(refusal(&undeclared).contains("undeclared entity"));
    }

    #[test]
    fn comments_cdata_and_duplicate_ids_are_refused() {
        let comment = OK.replace("x &amp; y", "admin@evil.example<!---->.corp.example");
        assert!(refusal(&comment).contains("comment"));
        let cdata = OK.replace("x &amp; y", "<![CDATA[x]]>");
        assert!(refusal(&cdata).contains("CDATA"));
        let duplicate = OK.replace("ID=\"a1\"", "ID=\"r1\"");
        assert!(refusal(&duplicate).contains("same ID"));
    }

    #[test]
    fn depth_attribute_count_and_the_root_are_bounded() {
        let deep = OK.replace("x &amp; y", &"<a>".repeat(40));
        assert!(refusal(&deep).contains("not well-formed") || refusal(&deep).contains("deep"));
        let deep_closed = OK.replace(
            "x &amp; y",
            &format!("{}{}", "<a>".repeat(40), "</a>".repeat(40)),
        );
        assert!(refusal(&deep_closed).contains("32 deep"));
        let attributes: String = (0..40).map(|i| format!(" a{i}=\"v\"")).collect();
        let wide = OK.replace("<saml:Issuer>", &format!("<saml:Issuer{attributes}>"));
        assert!(refusal(&wide).contains("attributes"));
        assert!(refusal("<Response/>").contains("root element is not"));
        assert!(refusal(&format!("{OK}<x/>")).contains("second root"));
    }
}
