#!/usr/bin/env node
// A tiny MCP client for the authgate quickstart: connects to an MCP server
// protected by authgate with the official MCP TypeScript SDK, does the OAuth
// flow the SDK drives (discovery, dynamic client registration, PKCE, a
// browser sign-in and consent, the loopback redirect, the token), calls one
// tool and prints its result.
//
//   node client.mjs [MCP server URL] [tool] [JSON arguments]
//   node client.mjs http://127.0.0.1:3000/mcp get_forecast '{"city": "Paris"}'
//
// The authorization URL is printed and opened with $BROWSER if set, else the
// desktop's opener (open, xdg-open, start). Nothing is stored: every run
// registers afresh and asks for consent again.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const [serverUrl = 'http://127.0.0.1:3000/mcp', tool = 'get_forecast', rawArgs = '{"city": "Paris"}'] = process.argv.slice(2);
const AUTHORIZE_TIMEOUT_MS = 5 * 60_000;

function fail(message) {
  console.error(`mcp-client: ${message}`);
  process.exit(1);
}

let toolArgs;
try {
  toolArgs = JSON.parse(rawArgs);
} catch (e) {
  fail(`the tool arguments are not JSON (${e.message}): ${rawArgs}`);
}

/** Opens `url` in the person's browser; failing to is not an error (the URL is printed). */
function openBrowser(url) {
  const [cmd, ...args] = process.env.BROWSER
    ? [process.env.BROWSER]
    : process.platform === 'darwin'
      ? ['open']
      : process.platform === 'win32'
        ? ['cmd', '/c', 'start', '""']
        : ['xdg-open'];
  try {
    const child = spawn(cmd, [...args, url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // no opener: the printed URL is enough
  }
}

/** Receives the OAuth redirect on 127.0.0.1 (RFC 8252 §7.3); resolves with its query. */
async function startCallbackServer() {
  let deliver;
  const received = new Promise((resolve) => (deliver = resolve));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    const ok = url.searchParams.has('code');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>mcp-client</title><p>${ok ? 'Authorized' : 'Authorization failed'}: you can close this window.</p>`);
    deliver(url.searchParams);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { redirectUrl: `http://127.0.0.1:${server.address().port}/callback`, received, close: () => server.close() };
}

/** What a host gives the SDK: client metadata, and memory for what the OAuth flow produces. */
class MemoryOAuthProvider {
  constructor(redirectUrl) {
    this.redirectUrl = redirectUrl;
    this.expectedState = undefined;
    this.saved = {};
  }
  get clientMetadata() {
    return {
      client_name: 'authgate quickstart client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() {
    this.expectedState = crypto.randomBytes(16).toString('base64url');
    return this.expectedState;
  }
  clientInformation() {
    return this.saved.client;
  }
  saveClientInformation(client) {
    this.saved.client = client;
  }
  tokens() {
    return this.saved.tokens;
  }
  saveTokens(tokens) {
    this.saved.tokens = tokens;
  }
  saveCodeVerifier(verifier) {
    this.saved.verifier = verifier;
  }
  codeVerifier() {
    return this.saved.verifier;
  }
  redirectToAuthorization(url) {
    console.log(`Sign in and allow access in your browser:\n\n  ${url.href}\n`);
    openBrowser(url.href);
  }
}

async function connect(transport) {
  const client = new Client({ name: 'authgate-quickstart-client', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

const newTransport = (provider) => new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider });

const callback = await startCallbackServer();
const provider = new MemoryOAuthProvider(callback.redirectUrl);
const first = newTransport(provider);
let client;
try {
  client = await connect(first);
} catch (e) {
  if (!(e instanceof UnauthorizedError)) fail(`cannot connect to ${serverUrl}: ${e.message}`);
  // The SDK registered, printed the authorization URL and now waits for the
  // browser to come back to the loopback redirect with a code.
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`no answer on ${callback.redirectUrl} within ${AUTHORIZE_TIMEOUT_MS / 60_000} minutes`)), AUTHORIZE_TIMEOUT_MS).unref(),
  );
  const params = await Promise.race([callback.received, timeout]).catch((err) => fail(err.message));
  if (params.get('error')) fail(`authorization refused: ${params.get('error')} ${params.get('error_description') ?? ''}`);
  if (params.get('state') !== provider.expectedState) fail('the redirect carried an unexpected state; not using its code');
  await first.finishAuth(params.get('code')).catch((err) => fail(`token request failed: ${err.message}`));
  await first.close().catch(() => {});
  client = await connect(newTransport(provider)).catch((err) => fail(`cannot connect with the new token: ${err.message}`));
} finally {
  callback.close();
}

console.log(`Connected to ${serverUrl} as "${provider.clientMetadata.client_name}" (client_id ${provider.clientInformation()?.client_id}).`);
const result = await client.callTool({ name: tool, arguments: toolArgs }).catch((e) => fail(`${tool}: ${e.message}`));
const text = (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
console.log(`${tool} ->`);
console.log(result.structuredContent ? JSON.stringify(result.structuredContent, null, 2) : text);
await client.close();
if (result.isError) process.exit(1);
