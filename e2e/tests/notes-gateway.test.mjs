// Issue #20 item 7, through the gateway: examples/notes-mcp-ts and
// examples/notes-mcp-py in gateway mode behind `authgate gateway`, which
// checks the callers' access tokens and per-tool scopes and forwards with an
// Authgate-Caller JWT the upstreams verify.
//
// Real clients: the official TypeScript SDK client (browser consent in
// Chromium, step-up), the Python `mcp` client, and mcp-remote over stdio.
// Gateway behaviours: tools/list filtered by scope, Mcp-Method/Mcp-Name vs
// body mismatch (400), batches, a long SSE stream passed through as it
// flows, an upstream that hangs (504 within the configured bound) and one
// that dies mid-stream (the stream ends, the gateway stays up, 502 after).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport, UnauthorizedError, auth } from '@modelcontextprotocol/client';
import { USER } from '../lib/env.mjs';
import { startAuthgate } from '../lib/authgate.mjs';
import { planGateway, startGateway } from '../lib/gateway.mjs';
import { startCallbackServer } from '../lib/callback.mjs';
import { launchBrowser, newPage } from '../lib/browser.mjs';
import { TestOAuthProvider, browserOpener, recordingFetch, expectAuthorizationNeeded, authorizationCallback, resultText } from '../lib/mcp.mjs';
import { decodeJwt, postForm, scopeSet } from '../lib/oauth.mjs';
import { LANGS, notesResource, planNotes, startNotes, pythonClient } from '../lib/notes.mjs';
import { connectMcpRemote } from '../lib/mcp-remote.mjs';

const SERVICE = { id: 'e2e-gateway-service', secret: 'gateway-service-secret-0123456789abcdef' };
const UPSTREAM_TIMEOUT_MS = 3000;
const TOOL_RULES = [
  { name: 'list_notes', scopes: ['notes:read'] },
  { name: 'read_*', scopes: ['notes:read'] },
  { name: 'count_slowly', scopes: ['notes:read'] },
  { name: 'add_note', scopes: ['notes:write'] },
];

const isUnauthorized = (e) => e instanceof UnauthorizedError;

let browser, authgate, gateway;
/** lang → { notes (the upstream), publicUrl } */
const up = {};

before(async () => {
  const gw = await planGateway();
  const plans = {};
  for (const lang of Object.keys(LANGS)) {
    plans[lang] = await planNotes();
    up[lang] = { publicUrl: `${gw.origin}/notes-${lang}/mcp` };
  }
  authgate = await startAuthgate({
    name: 'authgate-gateway',
    resources: Object.keys(LANGS).map((lang) => notesResource(`notes-${lang}`, up[lang].publicUrl, { name: LANGS[lang].resourceName })),
    clients: [
      {
        client_id: SERVICE.id,
        client_name: 'E2E gateway service',
        client_secret: SERVICE.secret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        resources: Object.keys(LANGS).map((lang) => `notes-${lang}`),
      },
    ],
  });
  for (const lang of Object.keys(LANGS)) {
    up[lang].notes = await startNotes({ lang, mode: 'gateway', port: plans[lang].port, gateway: gw.origin });
  }
  gateway = await startGateway({
    port: gw.port,
    extra: { upstream_timeout_ms: UPSTREAM_TIMEOUT_MS },
    upstreams: Object.keys(LANGS).map((lang) => ({
      name: `notes-${lang}`,
      public_url: up[lang].publicUrl,
      upstream_url: up[lang].notes.url,
      issuer: authgate.issuer,
      scopes_supported: ['notes:read', 'notes:write'],
      // What the 401 asks for. Without it the challenge names no scope, and
      // a client following the MCP spec then asks for all of
      // scopes_supported (read and write) on first sign-in.
      baseline_scopes: ['notes:read'],
      unknown_tools: 'deny',
      list_filter: 'hide',
      tools: TOOL_RULES,
    })),
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await gateway?.stop();
  for (const u of Object.values(up)) await u.notes?.stop();
  await authgate?.stop();
});

/** An access token for `lang`'s public URL from the client credentials grant. */
async function serviceToken(lang, scope) {
  const r = await postForm(
    authgate.metadata.token_endpoint,
    { grant_type: 'client_credentials', resource: up[lang].publicUrl, scope },
    { authorization: `Basic ${Buffer.from(`${SERVICE.id}:${SERVICE.secret}`).toString('base64')}` },
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual([...scopeSet(decodeJwt(r.body.access_token).payload.scope)].sort(), scope.split(' ').sort());
  return r.body.access_token;
}

let nextId = 1;
const call = (name, args = {}, meta) => ({ jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } });

/** A raw MCP POST; `mcpHeaders` defaults to what the body says (Mcp-Method, Mcp-Name). */
function post(url, token, body, { mcpHeaders, signal } = {}) {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` };
  const h = mcpHeaders ?? (!Array.isArray(body) ? { 'mcp-method': body.method, ...(body.params?.name ? { 'mcp-name': body.params.name } : {}) } : {});
  return fetch(url, { method: 'POST', headers: { ...headers, ...h }, body: JSON.stringify(body), signal: signal ?? AbortSignal.timeout(20_000) });
}

/** Reads an SSE (or JSON) response into messages, each stamped with its arrival time. */
async function readMessages(res, { onMessage } = {}) {
  const out = [];
  const ct = res.headers.get('content-type') ?? '';
  if (ct.includes('application/json')) {
    const j = await res.json();
    for (const m of Array.isArray(j) ? j : [j]) out.push({ at: Date.now(), msg: m });
    return { messages: out, ended: 'complete' };
  }
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n'); // SSE lines end in CRLF, LF or CR
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const event = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n');
        if (!data) continue;
        const m = { at: Date.now(), msg: JSON.parse(data) };
        out.push(m);
        onMessage?.(m, out);
      }
    }
  } catch (e) {
    return { messages: out, ended: `error: ${e.cause?.code ?? e.message}` };
  }
  return { messages: out, ended: 'complete' };
}

const resultOf = (messages, id) => messages.find((m) => m.msg.id === id)?.msg;

/** The tools a caller holding `scopes` may call, by the gateway's rules (first match wins). */
function callableTools(scopes) {
  const match = (pattern, name) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(name);
  return ['add_note', 'count_slowly', 'list_notes', 'read_note'].filter((tool) => TOOL_RULES.find((r) => match(r.name, tool)).scopes.every((sc) => scopes.has(sc)));
}

function clientSuite(lang) {
  let callbackServer, page, fetchFn;
  /** One host following the gateway's challenge, one that asks for read access only. */
  let follower, reader, conn;

  const newProvider = (name) =>
    new TestOAuthProvider({
      redirectUrl: callbackServer.redirectUri,
      clientName: `E2E gateway ${lang} ${name}`,
      openBrowser: browserOpener({ page, callback: callbackServer, user: USER, shots: (n) => ({ consent: `notes-gateway-${lang}-${name}-${n}-consent` }) }),
    });

  before(async () => {
    callbackServer = await startCallbackServer();
    ({ page } = await newPage(browser));
    follower = newProvider('follower');
    reader = newProvider('reader');
    fetchFn = recordingFetch();
  });

  after(async () => {
    await conn?.client.close().catch(() => {});
    await page?.context().close().catch(() => {});
    await callbackServer?.close();
  });

  it('the upstream refuses requests that did not come through the gateway (401)', async () => {
    const direct = up[lang].notes.url;
    const token = await serviceToken(lang, 'notes:read notes:write'); // a genuine token, for the gateway's URL
    for (const [what, headers] of [
      ['no credentials', {}],
      ['an authgate access token', { authorization: `Bearer ${token}` }],
      ['the access token as Authgate-Caller', { 'authgate-caller': token }],
    ]) {
      const r = await fetch(direct, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(call('list_notes')),
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(r.status, 401, what);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Authgate-Caller /, what);
    }
  });

  it("the official TypeScript SDK client follows the gateway's 401 through Chromium consent; tools/list shows what the grant may call", async () => {
    const url = new URL(up[lang].publicUrl);
    const t1 = new StreamableHTTPClientTransport(url, { authProvider: follower, fetch: fetchFn });
    await expectAuthorizationNeeded(() => new Client({ name: 'authgate-e2e', version: '1.0.0' }).connect(t1), 'first connect', isUnauthorized);
    const first = fetchFn.log[0];
    assert.equal(first.status, 401);
    assert.match(first.wwwAuthenticate ?? '', new RegExp(`resource_metadata="${gateway.origin}/\\.well-known/oauth-protected-resource/notes-${lang}/mcp"`));
    const challenged = scopeSet(/scope="([^"]*)"/.exec(first.wwwAuthenticate ?? '')?.[1]);
    assert.deepEqual([...challenged], ['notes:read'], 'the challenge asks for baseline_scopes');
    const cb = await authorizationCallback(follower, authgate.issuer);
    assert.ok(cb.seen.consent, 'consented');
    await t1.finishAuth(cb.searchParams);
    await t1.close().catch(() => {});
    assert.equal(follower.authorizationUrls[0].searchParams.get('resource'), up[lang].publicUrl);
    const granted = scopeSet(decodeJwt(follower.tokens().access_token).payload.scope);
    assert.deepEqual([...granted].sort(), [...challenged].sort(), 'granted what the challenge asked for');
    const client = new Client({ name: 'authgate-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(url, { authProvider: follower, fetch: fetchFn }));
    try {
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(names, callableTools(granted), `tools/list for ${[...granted]}`);
      const r = await client.callTool({ name: 'read_note', arguments: { title: 'welcome' } });
      assert.notEqual(r.isError, true, resultText(r));
      assert.match(resultText(r), new RegExp(`notes-mcp-${lang}`), 'the upstream answered');
    } finally {
      await client.close().catch(() => {});
    }
  });

  it('step-up through the gateway: a read-only host (add_note hidden) → 403 insufficient_scope → re-authorization → add_note', async () => {
    const url = new URL(up[lang].publicUrl);
    // A host asking for the least it needs: read access only.
    assert.equal(await auth(reader, { serverUrl: url, scope: 'notes:read', fetchFn }), 'REDIRECT');
    const transport = new StreamableHTTPClientTransport(url, { authProvider: reader, fetch: fetchFn });
    await transport.finishAuth((await authorizationCallback(reader, authgate.issuer)).searchParams);
    assert.deepEqual([...scopeSet(decodeJwt(reader.tokens().access_token).payload.scope)], ['notes:read']);
    const client = new Client({ name: 'authgate-e2e', version: '1.0.0' });
    await client.connect(transport);
    conn = { client, transport };
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, ['count_slowly', 'list_notes', 'read_note'], 'add_note hidden from a read-only caller');

    const mark = fetchFn.log.length;
    const addNote = () => client.callTool({ name: 'add_note', arguments: { title: `via gateway ${lang}`, text: 'ok' } });
    await expectAuthorizationNeeded(addNote, 'add_note with a read-only token', isUnauthorized);
    const forbidden = fetchFn.since(mark, (e) => e.status === 403);
    assert.equal(forbidden.length, 1, 'one 403');
    assert.match(forbidden[0].wwwAuthenticate ?? '', /error="insufficient_scope"/);
    assert.match(forbidden[0].wwwAuthenticate ?? '', /scope="[^"]*notes:write[^"]*"/);
    const asked = scopeSet(reader.authorizationUrls.at(-1).searchParams.get('scope'));
    assert.ok(asked.has('notes:read') && asked.has('notes:write'), `scopes asked: ${[...asked]}`);
    const cb = await authorizationCallback(reader, authgate.issuer);
    assert.ok(cb.seen.consent, 'asked to consent to the new scope');
    await transport.finishAuth(cb.searchParams);
    const r = await addNote();
    assert.notEqual(r.isError, true, resultText(r));
    const after = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(after.includes('add_note'), 'add_note listed for a writer');
  });

  it('the Python mcp client calls through the gateway with the token the browser flow produced', async () => {
    const token = reader.tokens().access_token;
    const read = await pythonClient(up[lang].publicUrl, token, 'read_note', { title: `via gateway ${lang}` });
    assert.equal(read.is_error, false, JSON.stringify(read));
    assert.equal(read.text, 'ok');
    const readOnly = await serviceToken(lang, 'notes:read');
    const refused = await pythonClient(up[lang].publicUrl, readOnly, 'add_note', { title: 'x', text: 'y' });
    assert.equal(refused.http_status, 403, JSON.stringify(refused));
    assert.match(refused.www_authenticate, /error="insufficient_scope"/);
  });

  it('a long SSE response streams through as it flows', async () => {
    const token = await serviceToken(lang, 'notes:read');
    const n = 30;
    const req = call('count_slowly', { n, delay_ms: 100 }, { progressToken: `p-${lang}` });
    const started = Date.now();
    const res = await post(up[lang].publicUrl, token, req);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const { messages, ended } = await readMessages(res);
    assert.equal(ended, 'complete');
    const progress = messages.filter((m) => m.msg.method === 'notifications/progress');
    assert.deepEqual(progress.map((m) => m.msg.params.progress), Array.from({ length: n }, (_, i) => i + 1), JSON.stringify(messages.slice(0, 3)));
    assert.match(resultText(resultOf(messages, req.id)?.result), new RegExp(`counted to ${n}`));
    // Not buffered: the first notification arrived long before the answer (~3 s of counting).
    const last = messages.at(-1).at;
    assert.ok(last - progress[0].at > 2000, `first event ${progress[0].at - started} ms after the request, last ${last - started} ms`);
  });
}

for (const lang of Object.keys(LANGS)) {
  describe(`notes-mcp-${lang} behind authgate's gateway (issue #20)`, () => clientSuite(lang));
}

describe("gateway behaviours with real upstreams (issue #20)", () => {
  it('mcp-remote (stdio) authorizes through Chromium and calls a tool through the gateway', async () => {
    const { page } = await newPage(browser);
    let remote;
    try {
      let authorizationUrl, seen;
      ({ remote, authorizationUrl, seen } = await connectMcpRemote({ serverUrl: up.ts.publicUrl, page, user: USER, name: 'mcp-remote-gateway', shot: 'notes-gateway-mcp-remote-consent' }));
      assert.equal(authorizationUrl.origin + authorizationUrl.pathname, authgate.metadata.authorization_endpoint, 'it opened authgate /authorize');
      assert.equal(authorizationUrl.searchParams.get('resource'), up.ts.publicUrl);
      assert.ok(seen.consent, 'a new client asks for consent');
      const r = await remote.request('tools/call', { name: 'read_note', arguments: { title: 'welcome' } });
      assert.ok(r.result, JSON.stringify(r));
      assert.match(resultText(r.result), /notes-mcp-ts/);
    } finally {
      await page.context().close().catch(() => {});
      await remote?.stop();
    }
  });

  it('Mcp-Method / Mcp-Name headers that disagree with the body: 400, nothing forwarded', async () => {
    const token = await serviceToken('ts', 'notes:read notes:write');
    for (const [what, mcpHeaders] of [
      ['another tool name', { 'mcp-method': 'tools/call', 'mcp-name': 'list_notes' }],
      ['another method', { 'mcp-method': 'tools/list' }],
    ]) {
      const res = await post(up.ts.publicUrl, token, call('add_note', { title: 'smuggled', text: 'no' }), { mcpHeaders });
      assert.equal(res.status, 400, what);
      await res.body?.cancel();
    }
    const list = await readMessages(await post(up.ts.publicUrl, token, call('list_notes')));
    assert.doesNotMatch(JSON.stringify(list.messages), /smuggled/, 'the mismatched calls never reached the upstream');
  });

  it('batches: every call is checked; allowed calls pass, one forbidden call refuses the batch', async () => {
    const reader = await serviceToken('ts', 'notes:read');
    const ok = [call('read_note', { title: 'welcome' }), call('list_notes')];
    const res = await post(up.ts.publicUrl, reader, ok);
    assert.equal(res.status, 200);
    const { messages } = await readMessages(res);
    assert.match(resultText(resultOf(messages, ok[0].id)?.result), /notes-mcp-ts/);
    assert.ok(resultOf(messages, ok[1].id)?.result, 'both answers');
    for (const lang of Object.keys(LANGS)) {
      const token = await serviceToken(lang, 'notes:read');
      const bad = [call('read_note', { title: 'welcome' }), call('add_note', { title: 'batched', text: 'no' })];
      const r = await post(up[lang].publicUrl, token, bad);
      assert.equal(r.status, 403, `${lang}: a batch with a call the token may not make`);
      assert.match(r.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
      await r.body?.cancel();
    }
  });

  it('an upstream that hangs: 504 within upstream_timeout_ms, and the gateway keeps serving', async () => {
    const token = await serviceToken('py', 'notes:read');
    const pid = up.py.notes.proc.pid;
    process.kill(pid, 'SIGSTOP'); // alive, connected, silent
    try {
      const started = Date.now();
      const res = await post(up.py.publicUrl, token, call('list_notes'));
      const took = Date.now() - started;
      assert.equal(res.status, 504, `status ${res.status}`);
      await res.body?.cancel();
      assert.ok(took >= UPSTREAM_TIMEOUT_MS - 200 && took < UPSTREAM_TIMEOUT_MS + 5000, `answered after ${took} ms`);
      const other = await readMessages(await post(up.ts.publicUrl, await serviceToken('ts', 'notes:read'), call('list_notes')));
      assert.ok(other.messages.some((m) => m.msg.result), 'another upstream still served');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const again = await readMessages(await post(up.py.publicUrl, token, call('read_note', { title: 'welcome' })));
    assert.match(JSON.stringify(again.messages), /notes-mcp-py/, `the upstream answers again once it resumes: ${JSON.stringify(again)}`);
  });

  it('an upstream that dies mid-stream: the stream ends, the gateway stays up, then 502', async () => {
    const token = await serviceToken('ts', 'notes:read');
    const req = call('count_slowly', { n: 100, delay_ms: 100 }, { progressToken: 'dies' });
    const res = await post(up.ts.publicUrl, token, req, { signal: AbortSignal.timeout(30_000) });
    assert.equal(res.status, 200);
    let killedAt;
    const { messages, ended } = await readMessages(res, {
      onMessage: (_m, all) => {
        if (all.length === 3 && !killedAt) {
          killedAt = Date.now();
          process.kill(up.ts.notes.proc.pid, 'SIGKILL');
        }
      },
    });
    assert.ok(killedAt, 'the stream was flowing when the upstream died');
    assert.ok(Date.now() - killedAt < 10_000, `the client's stream ended ${Date.now() - killedAt} ms after the upstream died`);
    assert.equal(resultOf(messages, req.id), undefined, `no final answer (stream ${ended})`);
    assert.ok(messages.length < 100, 'the stream stopped');
    assert.equal((await fetch(`${gateway.origin}/healthz`)).status, 200, 'the gateway is alive');
    const after = await post(up.ts.publicUrl, token, call('list_notes'));
    assert.equal(after.status, 502, 'the upstream is gone');
    await after.body?.cancel();
    const py = await readMessages(await post(up.py.publicUrl, await serviceToken('py', 'notes:read'), call('list_notes')));
    assert.ok(py.messages.some((m) => m.msg.result), `the other upstream still served: ${JSON.stringify(py)}`);
  });
});
