"""The Python `mcp` client (PyPI, the official Python SDK) as an MCP host, for
the end-to-end tests: connects to URL over streamable HTTP with the access
token from $MCP_ACCESS_TOKEN, lists the tools, calls one, and prints one JSON
line: {"tools": [...], "text": "...", "is_error": bool} or, when the server
refuses, {"http_status": 403, "www_authenticate": "..."}.

    MCP_ACCESS_TOKEN=… python py_mcp_client.py http://127.0.0.1:3100/mcp read_note '{"title": "welcome"}'
"""

import asyncio
import json
import os
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


async def main(url: str, tool: str, args: dict) -> dict:
    refusals = []

    async def record(response: httpx2.Response) -> None:
        if response.status_code in (401, 403):
            refusals.append({"http_status": response.status_code, "www_authenticate": response.headers.get("www-authenticate")})

    headers = {"authorization": f"Bearer {os.environ['MCP_ACCESS_TOKEN']}"}
    async with httpx2.AsyncClient(headers=headers, timeout=20, event_hooks={"response": [record]}) as http:
        try:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                tools = [t.name for t in (await client.list_tools()).tools]
                result = await client.call_tool(tool, args)
        except Exception as e:  # noqa: BLE001 - reported to the test, which asserts on it
            if refusals:
                return refusals[-1]
            return {"exception": f"{type(e).__name__}: {e}"}
    text = "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")
    return {"tools": tools, "text": text, "is_error": bool(result.is_error), "refusals": refusals}


if __name__ == "__main__":
    out = asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3] if len(sys.argv) > 3 else "{}")), 30))
    print(json.dumps(out))
