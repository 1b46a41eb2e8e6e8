"""A SAML 2.0 identity provider built on pysaml2, for rolegate's end-to-end tests.

Usage: idp.py CONFIG.json. The JSON names the port, the key and certificate, rolegate's
SP metadata URL (read at the first sign-on, when rolegate is up) and the person every
sign-on signs in (name_id, attributes), and how to sign (sign_response, sign_assertion) and whether to encrypt the assertion to
the SP's encryption certificate (encrypt_assertion).

GET /metadata answers the IdP metadata. GET /sso takes an HTTP-Redirect AuthnRequest,
which must be signed by the SP, and answers the HTTP-POST form a browser would submit to
the ACS (the test reads SAMLResponse from it). GET /slo takes the SP's signed
LogoutRequest and redirects back with a signed LogoutResponse; GET /initiate-logout
redirects to the SP with a signed LogoutRequest for the person; GET /idp-initiated answers
an unsolicited sign-on form. Prints "ready" once
listening.
"""

import json
import sys
import tempfile
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, xmldsig
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

import saml2.entity
import saml2.sigver

SETTINGS = json.load(open(sys.argv[1]))

# pysaml2 7.5 always encrypts assertions with 3DES-CBC; real IdPs let the administrator
# choose. "encrypt_content" chooses here (xmlsec1's session key names).
CONTENT_ALGORITHMS = {
    "aes-128": "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    "aes-256": "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "des-192": saml2.sigver.TRIPLE_DES_CBC,
}
SESSION_KEY = SETTINGS.get("encrypt_content", "aes-256")
_pre_encryption_part = saml2.sigver.pre_encryption_part
saml2.entity.pre_encryption_part = lambda **kw: _pre_encryption_part(
    msg_enc=CONTENT_ALGORITHMS[SESSION_KEY], **kw
)
_encrypt_assertion = saml2.sigver.SecurityContext.encrypt_assertion
saml2.sigver.SecurityContext.encrypt_assertion = (
    lambda self, statement, enc_key, template, key_type="des-192", node_xpath=None:
    _encrypt_assertion(self, statement, enc_key, template, SESSION_KEY, node_xpath)
)
BASE = f"http://127.0.0.1:{SETTINGS['port']}"


def idp_config(sp_metadata_file=None):
    conf = {
        "entityid": f"{BASE}/metadata",
        "service": {
            "idp": {
                "endpoints": {
                    "single_sign_on_service": [(f"{BASE}/sso", BINDING_HTTP_REDIRECT)],
                    "single_logout_service": [(f"{BASE}/slo", BINDING_HTTP_REDIRECT)],
                },
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "want_authn_requests_signed": True,
                "policy": {
                    "default": {
                        "lifetime": {"minutes": 5},
                        "attribute_restrictions": None,
                        "name_form": NAME_FORMAT_URI,
                    }
                },
            }
        },
        "key_file": SETTINGS["key_file"],
        "cert_file": SETTINGS["cert_file"],
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "metadata": {"local": [sp_metadata_file]} if sp_metadata_file else {},
    }
    config = IdPConfig()
    config.load(conf)
    return config


SERVER = None


def server():
    """The IdP, made at the first sign-on, once rolegate's SP metadata can be read."""
    global SERVER
    if SERVER is None:
        metadata = urllib.request.urlopen(SETTINGS["sp_metadata_url"]).read()
        file = tempfile.NamedTemporaryFile(suffix=".xml", delete=False)
        file.write(metadata)
        file.close()
        SERVER = Server(config=idp_config(file.name))
    return SERVER


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="text/html"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/metadata":
            xml = create_metadata_string(None, config=idp_config())
            return self.answer(200, xml, "application/samlmetadata+xml")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/slo":
            return self.single_logout(query)
        if url.path == "/initiate-logout":
            return self.initiate_logout()
        if url.path == "/idp-initiated":
            sp_entity = SETTINGS["sp_metadata_url"]
            acs = sp_entity.replace("/saml/metadata", "/saml/acs")
            return self.sign_on(server(), None, acs, sp_entity, "/")
        if url.path != "/sso":
            return self.answer(404, "not found")
        idp = server()
        try:
            request = idp.parse_authn_request(
                query["SAMLRequest"],
                BINDING_HTTP_REDIRECT,
                relay_state=query.get("RelayState"),
                sigalg=query.get("SigAlg"),
                signature=query.get("Signature"),
            )
        except Exception as error:  # the test reads the refusal
            return self.answer(400, f"refused: {error!r}")
        message = request.message
        return self.sign_on(
            idp,
            message.id,
            message.assertion_consumer_service_url,
            message.issuer.text,
            query.get("RelayState", ""),
        )

    def sign_on(self, idp, in_response_to, acs, sp_entity, relay_state):
        """The HTTP-POST form signing the person in at the SP; unsolicited when
        in_response_to is None (IdP-initiated)."""
        person = SETTINGS["person"]
        response = idp.create_authn_response(
            identity=person["attributes"],
            in_response_to=in_response_to,
            destination=acs,
            sp_entity_id=sp_entity,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=person["name_id"]),
            authn={"class_ref": person.get("authn_context", "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")},
            sign_response=SETTINGS.get("sign_response", False),
            sign_assertion=SETTINGS.get("sign_assertion", True),
            encrypt_assertion=SETTINGS.get("encrypt_assertion", False),
            sign_alg=xmldsig.SIG_RSA_SHA256,
            digest_alg=xmldsig.DIGEST_SHA256,
            userid=person["name_id"],
        )
        post = idp.apply_binding(BINDING_HTTP_POST, str(response), acs, relay_state, response=True)
        return self.answer(200, post["data"])


    def redirect(self, http_args):
        location = dict(http_args["headers"])["Location"]
        self.send_response(303)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def single_logout(self, query):
        """The SP's LogoutRequest, which must be signed; answered by a signed redirect."""
        idp = server()
        try:
            request = idp.parse_logout_request(
                query["SAMLRequest"],
                BINDING_HTTP_REDIRECT,
                relay_state=query.get("RelayState"),
                sigalg=query.get("SigAlg"),
                signature=query.get("Signature"),
            )
        except Exception as error:
            return self.answer(400, f"refused: {error!r} (because {error.__cause__!r})")
        if request is None or query.get("Signature") is None:
            return self.answer(400, "refused: an unsigned LogoutRequest")
        response = idp.create_logout_response(request.message, [BINDING_HTTP_REDIRECT])
        destination = SETTINGS["sp_metadata_url"].replace("/saml/metadata", "/saml/slo")
        http_args = idp.apply_binding(
            BINDING_HTTP_REDIRECT, str(response), destination, query.get("RelayState", ""),
            response=True, sign=True, sigalg=xmldsig.SIG_RSA_SHA256,
        )
        return self.redirect(http_args)

    def initiate_logout(self):
        """IdP-initiated Single Logout of the configured person at the SP."""
        idp = server()
        destination = SETTINGS["sp_metadata_url"].replace("/saml/metadata", "/saml/slo")
        sp_entity = SETTINGS["sp_metadata_url"]
        _request_id, request = idp.create_logout_request(
            destination,
            sp_entity,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=SETTINGS["person"]["name_id"]),
        )
        http_args = idp.apply_binding(
            BINDING_HTTP_REDIRECT, str(request), destination, "",
            sign=True, sigalg=xmldsig.SIG_RSA_SHA256,
        )
        return self.redirect(http_args)


httpd = ThreadingHTTPServer(("127.0.0.1", SETTINGS["port"]), Handler)
print("ready", flush=True)
httpd.serve_forever()
