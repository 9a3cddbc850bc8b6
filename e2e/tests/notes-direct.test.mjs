// Issue #20 item 7: MCP servers in other languages validating authgate's
// tokens themselves — examples/notes-mcp-ts (official TypeScript SDK, jose)
// and examples/notes-mcp-py (PyPI `mcp`, PyJWT), in direct mode.
//
// For each: an unauthenticated request gets 401 with the RFC 9728 challenge
// and the metadata it points at names authgate; the official TypeScript SDK
// client (v2, @modelcontextprotocol/client) walks discovery, registration and
// Chromium consent and calls a read tool; a token for another MCP server is
// refused (401 invalid_token); the write tool with a read-only token gets 403
// insufficient_scope, the client re-authorizes for both scopes and succeeds;
// the Python `mcp` client calls the server with the tokens the browser flow
// produced (read-only: 403 on the write tool; stepped up: it writes).
import fs from 'node:fs';
import path from 'node:path';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError as UnauthorizedErrorV1 } from '@modelcontextprotocol/sdk/client/auth.js';
import { USER, REPO_ROOT } from '../lib/env.mjs';
import { startAuthgate } from '../lib/authgate.mjs';
import { startCallbackServer } from '../lib/callback.mjs';
import { launchBrowser, newPage } from '../lib/browser.mjs';
import { TestOAuthProvider, browserOpener, recordingFetch, expectAuthorizationNeeded, authorizationCallback, corruptJwt, resultText } from '../lib/mcp.mjs';
import { decodeJwt, postForm, scopeSet } from '../lib/oauth.mjs';
import { LANGS, notesResource, planNotes, startNotes, pythonClient } from '../lib/notes.mjs';
import { connectMcpRemote } from '../lib/mcp-remote.mjs';

const OTHER_SERVICE = { id: 'e2e-other-service', secret: 'other-service-secret-0123456789abcdef' };

const isUnauthorized = (e) => e instanceof UnauthorizedError;

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close().catch(() => {});
});

const mcpPost = (url, headers = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    signal: AbortSignal.timeout(10_000),
  });

function directSuite(lang) {
  const { label, resourceName } = LANGS[lang];
  let authgate, notes, otherUrl, callbackServer, page, provider, fetchFn, conn;

  before(async () => {
    const plan = await planNotes();
    otherUrl = (await planNotes()).url; // another MCP server: only its URL matters
    authgate = await startAuthgate({
      name: `authgate-notes-${lang}`,
      resources: [notesResource(`notes-${lang}`, plan.url, { name: resourceName }), notesResource('other', otherUrl)],
      clients: [
        {
          client_id: OTHER_SERVICE.id,
          client_name: 'E2E other service',
          client_secret: OTHER_SERVICE.secret,
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['client_credentials'],
          resources: ['other'],
        },
      ],
    });
    notes = await startNotes({ lang, mode: 'direct', port: plan.port, issuer: authgate.issuer });
    callbackServer = await startCallbackServer();
    ({ page } = await newPage(browser));
    provider = new TestOAuthProvider({
      redirectUrl: callbackServer.redirectUri,
      clientName: `E2E ${label} notes client`,
      openBrowser: browserOpener({
        page,
        callback: callbackServer,
        user: USER,
        shots: (n) => ({ consent: `notes-direct-${lang}-${n}-consent` }),
      }),
    });
    fetchFn = recordingFetch();
  });

  after(async () => {
    await conn?.client.close().catch(() => {});
    await page?.context().close().catch(() => {});
    await callbackServer?.close();
    await notes?.stop();
    await authgate?.stop();
  });

  it('no token: 401 with resource_metadata and the baseline scope; the metadata names authgate', async () => {
    for (const method of ['GET', 'POST']) {
      const r = method === 'GET' ? await fetch(notes.url, { signal: AbortSignal.timeout(10_000) }) : await mcpPost(notes.url);
      assert.equal(r.status, 401, `${method} without a token`);
      const h = r.headers.get('www-authenticate') ?? '';
      const prm = `${new URL(notes.url).origin}/.well-known/oauth-protected-resource/mcp`;
      assert.equal(h, `Bearer resource_metadata="${prm}", scope="notes:read"`);
    }
    const md = await (await fetch(`${new URL(notes.url).origin}/.well-known/oauth-protected-resource/mcp`)).json();
    assert.equal(md.resource, notes.url);
    assert.deepEqual(md.authorization_servers, [authgate.issuer]);
    assert.deepEqual(md.scopes_supported, ['notes:read', 'notes:write']);
    assert.equal(md.resource_name, resourceName);
  });

  it('the official TypeScript SDK client gets a token through Chromium consent and calls read_note', async () => {
    const url = new URL(notes.url);
    const t1 = new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: fetchFn });
    const c1 = new Client({ name: 'authgate-e2e', version: '1.0.0' });
    await expectAuthorizationNeeded(() => c1.connect(t1), 'first connect', isUnauthorized);
    const cb = await authorizationCallback(provider, authgate.issuer);
    assert.ok(cb.seen.signIn && cb.seen.consent, 'signed in and consented');
    assert.match(cb.seen.consentText, /Read notes/);
    assert.ok(cb.seen.consentText.includes(resourceName), 'consent names the MCP server');
    await t1.finishAuth(cb.searchParams);
    await t1.close().catch(() => {});
    assert.equal(provider.authorizationUrls[0].searchParams.get('resource'), notes.url, 'RFC 8707 resource');
    const { header, payload } = decodeJwt(provider.tokens().access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(payload.aud === notes.url || payload.aud?.includes?.(notes.url), true, `aud ${JSON.stringify(payload.aud)}`);
    assert.deepEqual([...scopeSet(payload.scope)], ['notes:read']);

    const transport = new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: fetchFn });
    const client = new Client({ name: 'authgate-e2e', version: '1.0.0' });
    await client.connect(transport);
    conn = { client, transport };
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['add_note', 'count_slowly', 'list_notes', 'read_note']);
    const r = await client.callTool({ name: 'read_note', arguments: { title: 'welcome' } });
    assert.notEqual(r.isError, true, resultText(r));
    assert.match(resultText(r), new RegExp(`notes-mcp-${lang}`));
  });

  it('refuses a token for another MCP server, and a token that does not verify, with 401 invalid_token', async () => {
    const t = await postForm(
      authgate.metadata.token_endpoint,
      { grant_type: 'client_credentials', resource: otherUrl },
      { authorization: `Basic ${Buffer.from(`${OTHER_SERVICE.id}:${OTHER_SERVICE.secret}`).toString('base64')}` },
    );
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.equal(decodeJwt(t.body.access_token).payload.aud, otherUrl, 'a genuine authgate token, for the other server');
    for (const [what, token] of [
      ['another audience', t.body.access_token],
      ['a corrupted signature', corruptJwt(provider.tokens().access_token)],
    ]) {
      const r = await mcpPost(notes.url, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 401, what);
      const h = r.headers.get('www-authenticate') ?? '';
      assert.match(h, /^Bearer resource_metadata="[^"]+", scope="notes:read", error="invalid_token"/, `${what}: ${h}`);
    }
  });

  it('the Python mcp client reads with the read-only token and gets 403 insufficient_scope on add_note', async () => {
    assert.ok(conn, 'connected');
    const token = provider.tokens().access_token;
    const read = await pythonClient(notes.url, token, 'read_note', { title: 'welcome' });
    assert.deepEqual(read.tools?.sort(), ['add_note', 'count_slowly', 'list_notes', 'read_note'], JSON.stringify(read));
    assert.equal(read.is_error, false);
    assert.match(read.text, new RegExp(`notes-mcp-${lang}`));
    const write = await pythonClient(notes.url, token, 'add_note', { title: 'from python', text: 'refused' });
    assert.equal(write.http_status, 403, JSON.stringify(write));
    assert.match(write.www_authenticate, /error="insufficient_scope"/);
  });

  it('add_note with a read-only token: 403 insufficient_scope, the client re-authorizes for both scopes, and it succeeds', async () => {
    assert.ok(conn, 'connected');
    const mark = fetchFn.log.length;
    const addNote = () => conn.client.callTool({ name: 'add_note', arguments: { title: 'shopping', text: 'bread' } });
    await expectAuthorizationNeeded(addNote, 'add_note with a read-only token', isUnauthorized);
    const forbidden = fetchFn.since(mark, (e) => e.status === 403);
    assert.equal(forbidden.length, 1, 'one 403');
    const h = forbidden[0].wwwAuthenticate ?? '';
    assert.match(h, /^Bearer error="insufficient_scope", scope="notes:read notes:write", resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource\/mcp"/);
    const asked = scopeSet(provider.authorizationUrls.at(-1).searchParams.get('scope'));
    assert.ok(asked.has('notes:read') && asked.has('notes:write'), `scopes asked: ${[...asked]}`);
    const cb = await authorizationCallback(provider, authgate.issuer);
    assert.ok(cb.seen.consent, 'asked to consent to the new scope');
    assert.match(cb.seen.consentText, /Add notes/);
    await conn.transport.finishAuth(cb.searchParams);
    assert.ok(scopeSet(decodeJwt(provider.tokens().access_token).payload.scope).has('notes:write'));
    const r = await addNote();
    assert.notEqual(r.isError, true, resultText(r));
    const list = await conn.client.callTool({ name: 'list_notes', arguments: {} });
    assert.match(resultText(list), /shopping/);
  });

  it('the Python mcp client writes with the stepped-up token', async () => {
    const token = provider.tokens().access_token;
    assert.ok(scopeSet(decodeJwt(token).payload.scope).has('notes:write'), 'stepped up');
    const write = await pythonClient(notes.url, token, 'add_note', { title: 'from python', text: 'accepted' });
    assert.equal(write.is_error, false, JSON.stringify(write));
    assert.match(write.text, /added from python/);
    const read = await pythonClient(notes.url, token, 'read_note', { title: 'from python' });
    assert.equal(read.text, 'accepted');
  });

  it('the v1 TypeScript SDK client (@modelcontextprotocol/sdk 1.32) registers, authorizes and calls read_note', async () => {
    const v1 = new TestOAuthProvider({
      redirectUrl: callbackServer.redirectUri,
      clientName: `E2E ${label} notes v1 client`,
      openBrowser: browserOpener({ page, callback: callbackServer, user: USER }),
    });
    const url = new URL(notes.url);
    const t1 = new TransportV1(url, { authProvider: v1 });
    await expectAuthorizationNeeded(() => new ClientV1({ name: 'authgate-e2e-v1', version: '1.0.0' }).connect(t1), 'v1 first connect', (e) => e instanceof UnauthorizedErrorV1);
    await t1.finishAuth((await authorizationCallback(v1, authgate.issuer)).searchParams.get('code'));
    await t1.close().catch(() => {});
    const client = new ClientV1({ name: 'authgate-e2e-v1', version: '1.0.0' });
    await client.connect(new TransportV1(url, { authProvider: v1 }));
    try {
      const r = await client.callTool({ name: 'read_note', arguments: { title: 'welcome' } });
      assert.notEqual(r.isError, true, resultText(r));
      assert.match(resultText(r), new RegExp(`notes-mcp-${lang}`));
    } finally {
      await client.close().catch(() => {});
    }
  });

  it('mcp-remote (stdio) registers, authorizes through Chromium and calls read_note', async () => {
    const { page: p } = await newPage(browser);
    let remote;
    try {
      let authorizationUrl;
      ({ remote, authorizationUrl } = await connectMcpRemote({ serverUrl: notes.url, page: p, user: USER, name: `mcp-remote-direct-${lang}` }));
      assert.equal(authorizationUrl.searchParams.get('resource'), notes.url);
      const r = await remote.request('tools/call', { name: 'read_note', arguments: { title: 'welcome' } });
      assert.ok(r.result, JSON.stringify(r));
      assert.match(resultText(r.result), new RegExp(`notes-mcp-${lang}`));
    } finally {
      await p.context().close().catch(() => {});
      await remote?.stop();
    }
  });
}

for (const lang of Object.keys(LANGS)) {
  describe(`notes-mcp-${lang}: ${LANGS[lang].label} MCP server validating authgate tokens itself (issue #20)`, () => directSuite(lang));
}

it('the README quotes the token checks exactly as the examples run them', () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  for (const [file, marker] of [
    ['examples/notes-mcp-ts/src/direct.ts', '//'],
    ['examples/notes-mcp-py/notes_mcp/direct.py', '#'],
  ]) {
    const src = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
    const start = src.indexOf(`${marker} --- token check`);
    const end = src.indexOf(`${marker} --- end of token check ---`);
    assert.ok(start >= 0 && end > start, `${file} marks its token check`);
    const block = src.slice(src.indexOf('\n', start) + 1, end).trimEnd();
    assert.ok(block.split('\n').length <= 25, `${file}: the check stays short`);
    assert.ok(readme.includes(block), `README.md quotes ${file}'s token check as it is`);
  }
});
