"""Produce a SAML Response signed by a real pysaml2 IdP (xmlsec1), for
authgate's SAML service-provider tests. The fixtures are made at test time
by pysaml2's IdP server API, never hand-written XML with fake signatures.

Reads one JSON object on stdin:
  {"dir": work dir, "idp_entity_id", "sp_entity_id", "acs_url",
   "in_response_to", "name_id", "attributes": {name: [values]},
   "sign_response": bool, "sign_assertion": bool, "name_id_format"?}
Writes JSON on stdout: {"response": base64 XML, "cert_pem": IdP cert}.
"""
import warnings
warnings.filterwarnings("ignore")
import base64
import datetime
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.saml import NameID, NAMEID_FORMAT_PERSISTENT
from saml2.server import Server


def key_and_cert(work):
    key_path = os.path.join(work, "idp.key")
    cert_path = os.path.join(work, "idp.crt")
    if not os.path.exists(cert_path):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test idp")])
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
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def sp_metadata(work, sp_entity_id, acs_url):
    path = os.path.join(work, "sp.xml")
    with open(path, "w") as f:
        f.write(f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{sp_entity_id}">
 <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
  <md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" Location="{acs_url}" index="0"/>
 </md:SPSSODescriptor>
</md:EntityDescriptor>""")
    return path


def main():
    req = json.load(sys.stdin)
    work = req["dir"]
    os.makedirs(work, exist_ok=True)
    key_path, cert_path = key_and_cert(work)
    conf = IdPConfig()
    conf.load({
        "entityid": req["idp_entity_id"],
        "key_file": key_path,
        "cert_file": cert_path,
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "metadata": {"local": [sp_metadata(work, req["sp_entity_id"], req["acs_url"])]},
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [
                (req["idp_entity_id"] + "/sso", BINDING_HTTP_REDIRECT)]},
            "policy": {"default": {"lifetime": {"minutes": 5},
                                   "attribute_restrictions": None,
                                   "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"}},
        }},
    })
    idp = Server(config=conf)
    name_id = NameID(format=req.get("name_id_format", NAMEID_FORMAT_PERSISTENT),
                     text=req["name_id"])
    resp = idp.create_authn_response(
        identity=req.get("attributes", {}),
        in_response_to=req["in_response_to"],
        destination=req["acs_url"],
        sp_entity_id=req["sp_entity_id"],
        name_id=name_id,
        sign_response=req.get("sign_response", False),
        sign_assertion=req.get("sign_assertion", True),
        sign_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        digest_alg="http://www.w3.org/2001/04/xmlenc#sha256",
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
    )
    with open(cert_path) as f:
        cert_pem = f.read()
    json.dump({"response": base64.b64encode(str(resp).encode()).decode(), "cert_pem": cert_pem},
              sys.stdout)


if __name__ == "__main__":
    main()
