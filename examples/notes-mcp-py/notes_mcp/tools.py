"""The MCP server itself: a small notes store and its tools on the `mcp` SDK's
MCPServer (FastMCP before mcp 2). Authorization lives outside (direct.py,
gateway.py); this file only says which scope each tool needs."""

from __future__ import annotations

import asyncio
from mcp.server.mcpserver import Context, MCPServer

# The scope a tools/call needs, by tool name. A tool not listed here is refused.
TOOL_SCOPES = {
    "list_notes": "notes:read",
    "read_note": "notes:read",
    "count_slowly": "notes:read",
    "add_note": "notes:write",
}
SCOPES_SUPPORTED = ["notes:read", "notes:write"]
BASELINE_SCOPE = "notes:read"  # what a caller without a token is told to ask for first

MAX_NOTES = 1000
_notes: dict[str, str] = {"welcome": "Notes kept by notes-mcp-py."}


def notes_server() -> MCPServer:
    mcp = MCPServer("notes-mcp-py", version="0.1.0")

    @mcp.tool(description="List the titles of all notes")
    def list_notes() -> str:
        return "\n".join(_notes)

    @mcp.tool(description="Read one note")
    def read_note(title: str) -> str:
        if title not in _notes:
            raise ValueError(f"no note titled {title}")
        return _notes[title]

    @mcp.tool(description="Add a note")
    def add_note(title: str, text: str) -> str:
        if not title or len(title) > 200 or len(text) > 10_000:
            raise ValueError("a title of 1 to 200 characters and a text of at most 10000")
        if len(_notes) >= MAX_NOTES:
            raise ValueError("the notebook is full")
        _notes[title] = text
        return f"added {title}"

    @mcp.tool(description="Count to n, one progress notification every delay_ms")
    async def count_slowly(n: int, delay_ms: int, ctx: Context) -> str:
        if not 1 <= n <= 1000 or not 0 <= delay_ms <= 1000:
            raise ValueError("1 <= n <= 1000 and 0 <= delay_ms <= 1000")
        for i in range(1, n + 1):
            await ctx.report_progress(i, n)
            await asyncio.sleep(delay_ms / 1000)
        return f"counted to {n}"

    return mcp
