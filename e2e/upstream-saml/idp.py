"""A real SAML 2.0 identity provider for authgate's tests: pysaml2's IdP
(`saml2.server.Server`, signing with xmlsec1) behind Python's http.server.

  GET  /metadata   this IdP's metadata
  GET  /sso        SP-initiated sign-in, HTTP-Redirect binding: pysaml2
                   decodes the AuthnRequest; a login form for a test user
  POST /login      checks the user's password, then answers an
                   auto-submitting form that POSTs the signed Response
                   (HTTP-POST binding) to the SP's ACS from its metadata

The SP's metadata is fetched from its entity id (authgate's entity id is
its metadata URL), only under the allowed prefixes. The key and
certificate are made at start.

Configuration: one JSON object in the UPSTREAM_SAML environment variable:
  {"port", "host" (in its URLs; default 127.0.0.1), "dir": work dir, "accounts": {login: {"password", "name_id",
   "attributes": {name: [values]}}}, "sp_prefixes": ["http://127.0.0.1:"]}
Prints one JSON line when it listens: {"entity_id", "sso_url",
"metadata_url", "cert_pem"}.

Test knobs, a hidden field `mode` of the login form (the tests post it;
the page never shows it): "unsigned" (nothing signed), "other-audience"
(the assertion names another SP), "signed-response" (the Response is
signed, not the assertion). Each is still pysaml2's own output.
"""
import warnings
warnings.filterwarnings("ignore")
import base64
import datetime
import html
import json
import os
import secrets
import sys
import tempfile
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

SIGN_ALG = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
DIGEST_ALG = "http://www.w3.org/2001/04/xmlenc#sha256"


def key_and_cert(work):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "authgate test idp")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path = os.path.join(work, "idp.key")
    cert_path = os.path.join(work, "idp.crt")
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


class Idp:
    def __init__(self, cfg, base):
        self.work = cfg.get("dir") or tempfile.mkdtemp(prefix="authgate-saml-idp-")
        os.makedirs(self.work, exist_ok=True)
        self.accounts = cfg.get("accounts", {})
        self.sp_prefixes = cfg.get("sp_prefixes", ["http://127.0.0.1:"])
        self.base = base
        self.entity_id = base + "/metadata"
        self.sso_url = base + "/sso"
        self.key_path, self.cert_path = key_and_cert(self.work)
        self.pending = {}

    def server(self, sp_metadata_path=None):
        conf = IdPConfig()
        conf.load({
            "entityid": self.entity_id,
            "key_file": self.key_path,
            "cert_file": self.cert_path,
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "metadata": {"local": [sp_metadata_path] if sp_metadata_path else []},
            "service": {"idp": {
                "endpoints": {"single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]},
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "want_authn_requests_signed": False,
                "policy": {"default": {
                    "lifetime": {"minutes": 5},
                    "attribute_restrictions": None,
                    "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
                }},
            }},
        })
        return Server(config=conf)

    def sp_server(self, sp_entity_id):
        """A Server that knows the SP, from the SP's own metadata."""
        if not any(sp_entity_id.startswith(p) for p in self.sp_prefixes):
            raise ValueError("SP not allowed: " + sp_entity_id)
        with urllib.request.urlopen(sp_entity_id, timeout=10) as r:
            xml = r.read()
        fd, path = tempfile.mkstemp(suffix=".xml", dir=self.work)
        with os.fdopen(fd, "wb") as f:
            f.write(xml)
        return self.server(path)


def page(body):
    return ("<!doctype html><html><head><meta charset='utf-8'><title>Test IdP</title></head>"
            "<body>" + body + "</body></html>").encode()


class Handler(BaseHTTPRequestHandler):
    idp = None

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="text/html; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == "/metadata":
            xml = create_metadata_string(None, config=self.idp.server().config, valid=1)
            return self.send(200, xml if isinstance(xml, bytes) else xml.encode(),
                             "application/samlmetadata+xml")
        if u.path != "/sso":
            return self.send(404, page("not found"))
        try:
            req = self.idp.server().parse_authn_request(q["SAMLRequest"], BINDING_HTTP_REDIRECT)
            sp_entity_id = req.message.issuer.text
            server = self.idp.sp_server(sp_entity_id)
            args = server.response_args(req.message, [BINDING_HTTP_POST])
        except Exception as e:  # a bad request is a page, as at a real IdP
            return self.send(400, page("<h1>Bad request</h1><p>" + html.escape(str(e)) + "</p>"))
        key = secrets.token_urlsafe(16)
        self.idp.pending[key] = {"args": args, "sp": sp_entity_id,
                                 "relay_state": q.get("RelayState", "")}
        self.send(200, page(
            "<h1>Test IdP sign-in</h1><p id='sp'>" + html.escape(sp_entity_id) + "</p>"
            "<form method='post' action='/login'>"
            "<input type='hidden' name='key' value='" + key + "'>"
            "<label>Username <input name='username' id='username'></label>"
            "<label>Password <input name='password' id='password' type='password'></label>"
            "<button type='submit' id='sign-in'>Sign in</button></form>"))

    def do_POST(self):
        if self.path != "/login":
            return self.send(404, page("not found"))
        n = int(self.headers.get("Content-Length", "0"))
        f = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
        pending = self.idp.pending.pop(f.get("key", ""), None)
        account = self.idp.accounts.get(f.get("username", ""))
        if pending is None:
            return self.send(400, page("<h1>Unknown or used sign-in</h1>"))
        if account is None or account.get("password") != f.get("password"):
            return self.send(401, page("<h1>Wrong username or password</h1>"))
        mode = f.get("mode", "")
        args = dict(pending["args"])
        if mode == "other-audience":
            args["sp_entity_id"] = "https://other-sp.example/saml"
        server = self.idp.sp_server(pending["sp"])
        resp = server.create_authn_response(
            identity=account.get("attributes", {}),
            userid=f["username"],
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=account["name_id"]),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_assertion=mode not in ("unsigned", "signed-response"),
            sign_response=mode == "signed-response",
            sign_alg=SIGN_ALG,
            digest_alg=DIGEST_ALG,
            **{k: args[k] for k in ("in_response_to", "destination", "sp_entity_id",
                                    "name_id_policy")},
        )
        encoded = base64.b64encode(str(resp).encode()).decode()
        self.send(200, page(
            "<p>Signing you in to the service…</p>"
            "<form method='post' id='saml-post' action='" + html.escape(args["destination"]) + "'>"
            "<input type='hidden' name='SAMLResponse' value='" + encoded + "'>"
            "<input type='hidden' name='RelayState' value='" + html.escape(pending["relay_state"]) + "'>"
            "<noscript><button type='submit'>Continue</button></noscript></form>"
            "<script>document.getElementById('saml-post').submit()</script>"))


def main():
    cfg = json.loads(os.environ.get("UPSTREAM_SAML", "{}"))
    httpd = ThreadingHTTPServer(("127.0.0.1", int(cfg.get("port", 0))), Handler)
    # "host": the name in the IdP's URLs. `localhost` makes it another
    # site than an SP on 127.0.0.1, so its POST to the ACS is cross-site.
    base = "http://%s:%d" % (cfg.get("host", "127.0.0.1"), httpd.server_address[1])
    Handler.idp = Idp(cfg, base)
    with open(Handler.idp.cert_path) as f:
        cert_pem = f.read()
    print(json.dumps({"entity_id": Handler.idp.entity_id, "sso_url": Handler.idp.sso_url,
                      "metadata_url": Handler.idp.entity_id, "cert_pem": cert_pem}), flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
