"""Gateway mode: authgate's gateway has checked the caller's access token and
the tool's scope, stripped the Authorization header and sent a short-lived
Authgate-Caller JWT it signed. This server accepts only that."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import jwt

from .direct import MissingToken


def caller_checker(gateway: str, upstream_url: str):
    """`gateway` is the gateway's origin (the JWT's iss); `upstream_url` this server's URL as the gateway calls it (aud)."""
    u = urlsplit(gateway)
    origin = f"{u.scheme}://{u.netloc}"
    jwks = jwt.PyJWKClient(f"{origin}/.well-known/jwks.json", lifespan=300, timeout=10)

    def check(header: str | None) -> set[str]:
        if not header:
            raise MissingToken()
        token = header.strip()
        if jwt.get_unverified_header(token).get("typ") != "authgate-caller+jwt":
            raise jwt.InvalidTokenError("typ is not authgate-caller+jwt")
        claims = jwt.decode(
            token,
            jwks.get_signing_key_from_jwt(token).key,
            algorithms=["ES256"],
            issuer=origin,
            audience=upstream_url,
            leeway=5,
            options={"require": ["exp", "iat", "sub", "jti"]},
        )
        if claims["iat"] < time.time() - 120:  # the gateway mints one per request, valid 60 s
            raise jwt.InvalidTokenError("caller token too old")
        return set(str(claims.get("scope", "")).split())

    return check
