// The MCP server itself: a small notes store and its tools, on the official
// TypeScript SDK. Authorization lives outside (direct.ts, gateway.ts); this
// file only says which scope each tool needs.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

/** The scope a tools/call needs, by tool name. A tool not listed here is refused. */
export const TOOL_SCOPES: Record<string, string> = {
  list_notes: 'notes:read',
  read_note: 'notes:read',
  count_slowly: 'notes:read',
  add_note: 'notes:write',
};

export const SCOPES_SUPPORTED = ['notes:read', 'notes:write'];
/** What a caller without a token is told to ask for first. */
export const BASELINE_SCOPE = 'notes:read';

const notes: { title: string; text: string }[] = [{ title: 'welcome', text: 'Notes kept by notes-mcp-ts.' }];
const MAX_NOTES = 1000;

const text = (t: string) => ({ content: [{ type: 'text' as const, text: t }] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fresh server per request (stateless streamable HTTP); the notes are shared. */
export function notesServer(): McpServer {
  const server = new McpServer({ name: 'notes-mcp-ts', version: '0.1.0' });

  server.registerTool('list_notes', { description: 'List the titles of all notes' }, async () =>
    text(notes.map((n) => n.title).join('\n')),
  );

  server.registerTool(
    'read_note',
    { description: 'Read one note', inputSchema: { title: z.string().max(200) } },
    async ({ title }) => {
      const n = notes.find((x) => x.title === title);
      return n ? text(n.text) : { ...text(`no note titled ${title}`), isError: true };
    },
  );

  server.registerTool(
    'add_note',
    { description: 'Add a note', inputSchema: { title: z.string().min(1).max(200), text: z.string().max(10_000) } },
    async ({ title, text: body }) => {
      if (notes.length >= MAX_NOTES) return { ...text('the notebook is full'), isError: true };
      notes.push({ title, text: body });
      return text(`added ${title}`);
    },
  );

  // Streams: one progress notification per step on the request's SSE stream.
  server.registerTool(
    'count_slowly',
    {
      description: 'Count to n, one progress notification every delay_ms',
      inputSchema: { n: z.number().int().min(1).max(1000), delay_ms: z.number().int().min(0).max(1000) },
    },
    async ({ n, delay_ms }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= n; i++) {
        if (extra.signal.aborted) break;
        if (token !== undefined) {
          await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: n } });
        }
        await sleep(delay_ms);
      }
      return text(`counted to ${n}`);
    },
  );

  return server;
}
