"""notes-mcp-py: an MCP server (PyPI `mcp`, streamable HTTP, stateless)
protected by authgate in one of two ways:

  --mode direct   validates authgate's access tokens itself (direct.py),
                  serves RFC 9728 metadata, answers 401/403 with challenges;
  --mode gateway  sits behind `authgate gateway` and accepts only requests
                  carrying a valid Authgate-Caller JWT (gateway.py).

Every flag has an environment twin: NOTES_MODE, NOTES_LISTEN, NOTES_RESOURCE,
NOTES_ISSUER, NOTES_GATEWAY.

    python -m notes_mcp --mode direct --issuer http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from urllib.parse import urlsplit

import anyio
import jwt
import uvicorn
from starlette.responses import JSONResponse, PlainTextResponse

from .direct import (
    MissingToken,
    insufficient_scope_challenge,
    metadata_url,
    protected_resource_metadata,
    token_checker,
    unauthorized_challenge,
)
from .gateway import caller_checker
from .tools import BASELINE_SCOPE, SCOPES_SUPPORTED, TOOL_SCOPES, notes_server

MAX_BODY_BYTES = 1 << 20
log = logging.getLogger("notes-mcp-py")


class Refusal(Exception):
    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.response = JSONResponse(
            {"error": error, "error_description": description},
            status_code=status,
            headers={"cache-control": "no-store", **(headers or {})},
        )


def scopes_needed(body: object) -> set[str]:
    """The scopes the tools/call messages in `body` (one message or a batch) need."""
    needed = set()
    for m in body if isinstance(body, list) else [body]:
        if not isinstance(m, dict) or m.get("method") != "tools/call":
            continue
        params = m.get("params")
        name = params.get("name") if isinstance(params, dict) else None
        if not isinstance(name, str) or name not in TOOL_SCOPES:
            raise Refusal(400, "invalid_request", "unknown tool")
        needed.add(TOOL_SCOPES[name])
    return needed


async def read_body(receive) -> bytes:
    body = b""
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise Refusal(400, "invalid_request", "the client went away")
        body += msg.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            raise Refusal(413, "invalid_request", f"body over {MAX_BODY_BYTES} bytes")
        if not msg.get("more_body"):
            return body


class Guard:
    """ASGI middleware in front of the SDK's Starlette app: authentication,
    per-tool scopes, and (direct mode) the protected resource metadata."""

    def __init__(self, app, args):
        self.app = app
        self.args = args
        self.mcp_path = urlsplit(args.resource).path
        self.metadata_paths = {urlsplit(metadata_url(args.resource)).path, "/.well-known/oauth-protected-resource"}
        self._direct = None
        self._caller = caller_checker(args.gateway, args.resource) if args.mode == "gateway" else None

    def _check(self, headers: dict[str, str]) -> set[str]:
        """Blocking (the key fetch): run in a worker thread."""
        if self._caller:
            return self._caller(headers.get("authgate-caller"))
        if not headers.get("authorization"):
            raise MissingToken()  # 401 even while authgate is unreachable
        if self._direct is None:  # fetched once; a failure is retried on the next request
            self._direct = token_checker(self.args.issuer, self.args.resource)
        return self._direct(headers["authorization"])

    async def authenticate(self, headers: dict[str, str]) -> set[str]:
        try:
            return await anyio.to_thread.run_sync(self._check, headers)
        except (MissingToken, jwt.PyJWTError) as e:
            if isinstance(e, jwt.PyJWKClientConnectionError):
                log.error("cannot fetch the signing keys: %s", e)
                raise Refusal(503, "temporarily_unavailable", "cannot fetch the signing keys", {"retry-after": "5"})
            if self.args.mode == "gateway":
                raise Refusal(
                    401,
                    "unauthorized",
                    "this MCP server accepts only requests forwarded by authgate's gateway",
                    {"www-authenticate": 'Authgate-Caller realm="notes-mcp-py"'},
                )
            invalid = not isinstance(e, MissingToken)
            raise Refusal(
                401,
                "invalid_token" if invalid else "unauthorized",
                "the access token is not valid for this server" if invalid else "a bearer token is required",
                {"www-authenticate": unauthorized_challenge(self.args.resource, BASELINE_SCOPE, invalid)},
            )
        except OSError as e:  # authgate's metadata unreachable
            log.error("cannot fetch authgate's metadata: %s", e)
            raise Refusal(503, "temporarily_unavailable", "cannot fetch the signing keys", {"retry-after": "5"})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)  # lifespan
        path = scope["path"]
        try:
            if path == self.mcp_path:
                return await self.mcp(scope, receive, send)
            if self.args.mode == "direct" and scope["method"] == "GET" and path in self.metadata_paths:
                meta = protected_resource_metadata(self.args.resource, self.args.issuer, SCOPES_SUPPORTED)
                return await JSONResponse(meta, headers={"access-control-allow-origin": "*"})(scope, receive, send)
            if path == "/healthz":
                return await PlainTextResponse("ok")(scope, receive, send)
            raise Refusal(404, "not_found", f"no {path} here")
        except Refusal as r:
            await r.response(scope, receive, send)

    async def mcp(self, scope, receive, send):
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        scopes = await self.authenticate(headers)
        if scope["method"] != "POST":  # stateless: no GET stream, no session to DELETE
            raise Refusal(405, "method_not_allowed", "POST only", {"allow": "POST"})
        body = await read_body(receive)
        try:
            parsed = json.loads(body)
        except ValueError:
            raise Refusal(400, "invalid_request", "the body is not JSON")
        missing = scopes_needed(parsed) - scopes
        if missing:
            if self.args.mode == "direct":
                challenge = insufficient_scope_challenge(self.args.resource, scopes, missing)
            else:
                challenge = f'Bearer error="insufficient_scope", scope="{" ".join(sorted(scopes | missing))}"'
            raise Refusal(403, "insufficient_scope", "this tool needs more access", {"www-authenticate": challenge})

        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def parse_args(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="notes_mcp", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["direct", "gateway"], default=env("NOTES_MODE", "direct"))
    p.add_argument("--listen", default=env("NOTES_LISTEN", "127.0.0.1:3200"))
    p.add_argument("--resource", default=env("NOTES_RESOURCE"), help="this server's MCP URL (the token's aud)")
    p.add_argument("--issuer", default=env("NOTES_ISSUER"), help="direct mode: authgate's issuer URL")
    p.add_argument("--gateway", default=env("NOTES_GATEWAY"), help="gateway mode: the gateway's origin")
    a = p.parse_args(argv)
    a.resource = a.resource or f"http://{a.listen}/mcp"
    if a.mode == "direct" and not a.issuer:
        p.error("--mode direct needs --issuer (authgate's issuer URL, e.g. http://127.0.0.1:8080)")
    if a.mode == "gateway" and not a.gateway:
        p.error("--mode gateway needs --gateway (the gateway's origin, e.g. http://127.0.0.1:8090)")
    return a


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]")
    app = notes_server().streamable_http_app(
        streamable_http_path=urlsplit(args.resource).path, stateless_http=True, host=host
    )
    where = f"issuer {args.issuer}" if args.mode == "direct" else f"gateway {args.gateway}"
    log.info("%s mode, %s on %s, %s", args.mode, args.resource, args.listen, where)
    # Bounded: keep-alive connections idle 5 s, at most 256 at once.
    uvicorn.run(Guard(app, args), host=host, port=int(port), timeout_keep_alive=5, limit_concurrency=256, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
