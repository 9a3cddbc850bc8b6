// notes-mcp-ts: an MCP server (official TypeScript SDK, streamable HTTP,
// stateless) protected by authgate in one of two ways:
//
//   --mode direct   validates authgate's access tokens itself (direct.ts),
//                   serves RFC 9728 metadata, answers 401/403 with challenges;
//   --mode gateway  sits behind `authgate gateway` and accepts only requests
//                   carrying a valid Authgate-Caller JWT (gateway.ts).
//
// Every flag has an environment twin: NOTES_MODE, NOTES_LISTEN, NOTES_RESOURCE,
// NOTES_ISSUER, NOTES_GATEWAY.
import http from 'node:http';
import { parseArgs } from 'node:util';
import { errors } from 'jose';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { notesServer, TOOL_SCOPES, SCOPES_SUPPORTED, BASELINE_SCOPE } from './tools.js';
import {
  tokenChecker,
  MissingToken,
  metadataUrl,
  protectedResourceMetadata,
  unauthorizedChallenge,
  insufficientScopeChallenge,
} from './direct.js';
import { callerChecker } from './gateway.js';

const MAX_BODY_BYTES = 1 << 20;

const { values: flags } = parseArgs({
  options: {
    mode: { type: 'string' },
    listen: { type: 'string' },
    resource: { type: 'string' },
    issuer: { type: 'string' },
    gateway: { type: 'string' },
  },
});
const env = process.env;
const mode = flags.mode ?? env.NOTES_MODE ?? 'direct';
const listen = flags.listen ?? env.NOTES_LISTEN ?? '127.0.0.1:3100';
const resource = flags.resource ?? env.NOTES_RESOURCE ?? `http://${listen}/mcp`;
const issuer = flags.issuer ?? env.NOTES_ISSUER;
const gateway = flags.gateway ?? env.NOTES_GATEWAY;

function die(msg: string): never {
  console.error(`notes-mcp-ts: ${msg}`);
  process.exit(2);
}
if (mode !== 'direct' && mode !== 'gateway') die(`--mode must be "direct" or "gateway", not "${mode}"`);
if (mode === 'direct' && !issuer) die('--mode direct needs --issuer (authgate\'s issuer URL, e.g. http://127.0.0.1:8080)');
if (mode === 'gateway' && !gateway) die('--mode gateway needs --gateway (the gateway\'s origin, e.g. http://127.0.0.1:8090)');
const mcpPath = new URL(resource).pathname;
const [host, portText] = [listen.slice(0, listen.lastIndexOf(':')), listen.slice(listen.lastIndexOf(':') + 1)];

// The token checker fetches authgate's metadata once; a failure is retried on the next request.
let direct: ReturnType<typeof tokenChecker> | undefined;
const directCheck = () => (direct ??= tokenChecker(issuer!, resource).catch((e) => ((direct = undefined), Promise.reject(e))));
const callerCheck = mode === 'gateway' ? callerChecker(gateway!, resource) : undefined;

/** Refusals carry their status, headers and a small JSON body. */
class Refusal {
  constructor(
    readonly status: number,
    readonly body: Record<string, string>,
    readonly headers: Record<string, string> = {},
  ) {}
}

function send(res: http.ServerResponse, r: Refusal) {
  if (res.headersSent) return res.end();
  res.writeHead(r.status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...r.headers });
  res.end(JSON.stringify(r.body));
}

function readBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Refusal(413, { error: 'invalid_request', error_description: `body over ${MAX_BODY_BYTES} bytes` }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new Refusal(400, { error: 'invalid_request', error_description: 'the body is not JSON' }));
      }
    });
    req.on('error', reject);
  });
}

/** The scopes the tools/call messages in `body` (one message or a batch) need. */
function scopesNeeded(body: unknown): string[] {
  const needed = new Set<string>();
  for (const m of Array.isArray(body) ? body : [body]) {
    if (m?.method !== 'tools/call') continue;
    const name = m.params?.name;
    const scope = typeof name === 'string' && Object.hasOwn(TOOL_SCOPES, name) ? TOOL_SCOPES[name] : undefined;
    if (!scope) throw new Refusal(400, { error: 'invalid_request', error_description: 'unknown tool' });
    needed.add(scope);
  }
  return [...needed];
}

/** Who is calling, with which scopes; throws a Refusal (401, or 503 when keys cannot be fetched). */
async function authenticate(req: http.IncomingMessage): Promise<Set<string>> {
  try {
    if (mode === 'gateway') return (await callerCheck!(req.headers['authgate-caller'] as string | undefined)).scopes;
    if (!req.headers.authorization) throw new MissingToken(); // 401 even while authgate is unreachable
    return await (await directCheck())(req.headers.authorization);
  } catch (e) {
    // A token that does not verify is the caller's problem (401); keys or metadata we cannot fetch are ours (503).
    const callersFault = e instanceof MissingToken || (e instanceof errors.JOSEError && !(e instanceof errors.JWKSTimeout));
    if (!callersFault) {
      console.error(`notes-mcp-ts: cannot check tokens: ${e instanceof Error ? e.message : e}`);
      throw new Refusal(503, { error: 'temporarily_unavailable', error_description: 'cannot fetch the signing keys' }, { 'retry-after': '5' });
    }
    if (mode === 'gateway') {
      throw new Refusal(
        401,
        { error: 'unauthorized', error_description: 'this MCP server accepts only requests forwarded by authgate\'s gateway' },
        { 'www-authenticate': 'Authgate-Caller realm="notes-mcp-ts"' },
      );
    }
    const invalid = !(e instanceof MissingToken);
    throw new Refusal(
      401,
      { error: invalid ? 'invalid_token' : 'unauthorized', error_description: invalid ? 'the access token is not valid for this server' : 'a bearer token is required' },
      { 'www-authenticate': unauthorizedChallenge(resource, BASELINE_SCOPE, invalid) },
    );
  }
}

async function handleMcp(req: http.IncomingMessage, res: http.ServerResponse) {
  const scopes = await authenticate(req);
  if (req.method !== 'POST') {
    // Stateless: no GET stream, no session to DELETE.
    return send(res, new Refusal(405, { error: 'method_not_allowed', error_description: 'POST only' }, { allow: 'POST' }));
  }
  const body = await readBody(req);
  const missing = scopesNeeded(body).filter((s) => !scopes.has(s));
  if (missing.length) {
    const challenge =
      mode === 'direct'
        ? insufficientScopeChallenge(resource, scopes, missing)
        : `Bearer error="insufficient_scope", scope="${[...new Set([...scopes, ...missing])].join(' ')}"`;
    throw new Refusal(403, { error: 'insufficient_scope', error_description: 'this tool needs more access' }, { 'www-authenticate': challenge });
  }
  const server = notesServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

const httpServer = http.createServer(async (req, res) => {
  try {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === mcpPath) return await handleMcp(req, res);
    if (mode === 'direct' && req.method === 'GET' && (path === new URL(metadataUrl(resource)).pathname || path === '/.well-known/oauth-protected-resource')) {
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      return res.end(JSON.stringify(protectedResourceMetadata(resource, issuer!, SCOPES_SUPPORTED)));
    }
    if (path === '/healthz') return res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    send(res, new Refusal(404, { error: 'not_found', error_description: `no ${path} here` }));
  } catch (e) {
    if (e instanceof Refusal) return send(res, e);
    console.error('notes-mcp-ts: request failed:', e);
    send(res, new Refusal(500, { error: 'server_error', error_description: 'internal error' }));
  }
});
// Bounded: headers within 10 s, a request body within 30 s (answers may stream longer).
httpServer.headersTimeout = 10_000;
httpServer.requestTimeout = 30_000;
httpServer.keepAliveTimeout = 5_000;
httpServer.maxConnections = 256;
httpServer.listen(Number(portText), host.replace(/^\[|\]$/g, ''), () => {
  console.error(`notes-mcp-ts: ${mode} mode, ${resource} on ${listen}${mode === 'direct' ? `, issuer ${issuer}` : `, gateway ${gateway}`}`);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => httpServer.close(() => process.exit(0)));
