"""notes-mcp-py: an MCP server (PyPI `mcp`, MCPServer) protected by authgate."""
