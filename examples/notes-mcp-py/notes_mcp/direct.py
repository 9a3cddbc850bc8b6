"""Direct mode: this server validates authgate's access tokens itself (RFC 9068
JWTs) with PyJWT. The block between the markers is the whole token check; the
README quotes it."""

from __future__ import annotations

import json
from urllib.parse import urlsplit
from urllib.request import urlopen

import jwt


class MissingToken(Exception):
    """No bearer token at all (401 without error="invalid_token")."""


# --- token check (README: "MCP servers in other languages") ---
def token_checker(issuer: str, resource: str):
    u = urlsplit(issuer)  # RFC 8414: the well-known path goes before the issuer's path
    with urlopen(f"{u.scheme}://{u.netloc}/.well-known/oauth-authorization-server{u.path.rstrip('/')}", timeout=10) as r:
        meta = json.load(r)
    if meta["issuer"] != issuer:
        raise RuntimeError(f"metadata issuer {meta['issuer']} is not {issuer}")
    jwks = jwt.PyJWKClient(meta["jwks_uri"], lifespan=300, timeout=10)

    def check(authorization: str | None) -> set[str]:
        """The token's scopes; raises (401) when it is no valid token for this server."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise MissingToken()
        if jwt.get_unverified_header(token).get("typ") != "at+jwt":  # an access token, not an ID token
            raise jwt.InvalidTokenError("typ is not at+jwt")
        claims = jwt.decode(  # never "none" or HMAC; iss exact; aud = this server's own URL (RFC 8707)
            token, jwks.get_signing_key_from_jwt(token).key, algorithms=["ES256", "RS256", "EdDSA"],
            issuer=issuer, audience=resource, leeway=30, options={"require": ["exp", "sub", "client_id"]},
        )  # fmt: skip
        return set(str(claims.get("scope", "")).split())

    return check
# --- end of token check ---


def metadata_url(resource: str) -> str:
    """RFC 9728 path-inserted metadata URL: https://h/mcp -> https://h/.well-known/oauth-protected-resource/mcp"""
    u = urlsplit(resource)
    return f"{u.scheme}://{u.netloc}/.well-known/oauth-protected-resource{u.path.rstrip('/')}"


def protected_resource_metadata(resource: str, issuer: str, scopes: list[str]) -> dict:
    return {
        "resource": resource,
        "authorization_servers": [issuer],
        "scopes_supported": scopes,
        "bearer_methods_supported": ["header"],
        "resource_name": "Notes (Python)",
    }


def unauthorized_challenge(resource: str, baseline: str, invalid: bool) -> str:
    """401: no token (baseline scope) or a bad one (error="invalid_token")."""
    h = f'Bearer resource_metadata="{metadata_url(resource)}", scope="{baseline}"'
    if invalid:
        h += ', error="invalid_token", error_description="the access token is not valid for this server"'
    return h


def insufficient_scope_challenge(resource: str, granted: set[str], needed: set[str]) -> str:
    """403: one challenge naming what the token has plus what the call needs."""
    union = " ".join(sorted(granted | needed))
    return (
        f'Bearer error="insufficient_scope", scope="{union}", '
        f'resource_metadata="{metadata_url(resource)}", error_description="this tool needs more access"'
    )
