// Issue 5: the official MCP TypeScript SDK client against the sample MCP
// server (weather-mcp) protected by authgate, with no prior registration:
// 401 → protected resource metadata → authorization server metadata →
// registration (dynamic, or a client ID metadata document) → /authorize in
// Chromium (sign-in, consent) → code → token → tools → 403 insufficient_scope
// → step-up → the write tool → an access token that stops working → refresh.
//
// The v2 client (@modelcontextprotocol/client) walks all of it. The v1 client
// (@modelcontextprotocol/sdk 1.32) mishandles step-up while it holds a
// refresh token (upstream issue #2255: it refreshes at the same scope and
// gives up); its leg checks that behaviour and the host-side workaround.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError as UnauthorizedErrorV1 } from '@modelcontextprotocol/sdk/client/auth.js';
import { USER } from '../lib/env.mjs';
import { startStack, stopStack } from '../lib/stack.mjs';
import { startCallbackServer } from '../lib/callback.mjs';
import { launchBrowser, newPage } from '../lib/browser.mjs';
import { TestOAuthProvider, browserOpener, recordingFetch, isTokenRequest, corruptJwt, resultText } from '../lib/mcp.mjs';
import { decodeJwt, scopeSet } from '../lib/oauth.mjs';

const SDKS = {
  v2: { Client, Transport: StreamableHTTPClientTransport, isUnauthorized: (e) => e instanceof UnauthorizedError },
  v1: { Client: ClientV1, Transport: TransportV1, isUnauthorized: (e) => e instanceof UnauthorizedErrorV1 },
};

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close().catch(() => {});
});

/** Runs `fn`, which must fail with the SDK's UnauthorizedError (the host is to finish authorization in the browser). */
async function expectRedirect(sdk, fn, what) {
  try {
    await fn();
  } catch (e) {
    if (sdk.isUnauthorized(e)) return;
    throw new Error(`${what}: expected UnauthorizedError (authorization needed), got ${e?.name}: ${e?.message}`, { cause: e });
  }
  assert.fail(`${what}: expected the client to need authorization, but it succeeded`);
}

/** Waits for the browser leg the SDK started, and checks the callback it produced. */
async function callbackFor(provider, issuer) {
  assert.ok(provider.pendingAuthorization, 'the SDK asked the host to open an authorization URL');
  const cb = await provider.pendingAuthorization;
  const q = cb.searchParams;
  assert.equal(q.get('error'), null, `authorization failed: ${q.get('error')} ${q.get('error_description')}`);
  assert.ok(q.get('code'), 'code in the callback');
  assert.equal(q.get('state'), provider.lastState, 'state echoed');
  assert.equal(q.get('iss'), issuer, 'iss equals the issuer');
  return cb;
}

const connect = async (sdk, transport) => {
  const client = new sdk.Client({ name: 'authgate-e2e', version: '1.0.0' });
  await client.connect(transport);
  return client;
};

/** The first connection: 401 → discovery → registration → browser → finishAuth → connected. */
async function firstConnection({ sdk, version, stack, provider, fetchFn }) {
  const url = new URL(stack.weather.url);
  const t1 = new sdk.Transport(url, { authProvider: provider, fetch: fetchFn });
  await expectRedirect(sdk, () => connect(sdk, t1), 'first connect');
  const cb = await callbackFor(provider, stack.authgate.issuer);
  if (version === 'v2') await t1.finishAuth(cb.searchParams);
  else await t1.finishAuth(cb.searchParams.get('code'));
  await t1.close().catch(() => {});
  // Reconnect with the tokens now held by the provider.
  const transport = new sdk.Transport(url, { authProvider: provider, fetch: fetchFn });
  const client = await connect(sdk, transport);
  return { client, transport, cb };
}

function assertDiscoveryWalk(log, { stack, registration }) {
  const paths = log.map((e) => `${e.method} ${e.url.origin === stack.authgate.issuer ? 'AS' : e.url.origin === new URL(stack.weather.url).origin ? 'RS' : e.url.origin}${e.url.pathname} ${e.status}`);
  const trail = paths.join('\n');
  const first = log[0];
  assert.equal(first.status, 401, `first request answered 401:\n${trail}`);
  assert.match(first.wwwAuthenticate ?? '', /^Bearer /);
  assert.match(first.wwwAuthenticate ?? '', /resource_metadata="[^"]+"/);
  const idx = (pred, what) => {
    const i = log.findIndex(pred);
    assert.ok(i >= 0, `${what} in the trail:\n${trail}`);
    return i;
  };
  const prm = idx((e) => e.url.pathname.startsWith('/.well-known/oauth-protected-resource') && e.status === 200, 'protected resource metadata (200)');
  const asm = idx(
    (e) => (e.url.pathname.startsWith('/.well-known/oauth-authorization-server') || e.url.pathname.startsWith('/.well-known/openid-configuration')) && e.status === 200,
    'authorization server metadata (200)',
  );
  assert.ok(prm < asm, `resource metadata before AS metadata:\n${trail}`);
  const reg = log.findIndex((e) => e.method === 'POST' && e.url.pathname.endsWith('/register'));
  if (registration) {
    assert.ok(reg > asm, `dynamic registration after discovery:\n${trail}`);
    assert.equal(log[reg].status, 201, `registration answered 201:\n${trail}`);
  } else {
    assert.equal(reg, -1, `no dynamic registration for a CIMD client:\n${trail}`);
  }
  const tok = idx(isTokenRequest('authorization_code'), 'authorization_code token request');
  assert.equal(log[tok].status, 200, `token request answered 200:\n${trail}`);
  assert.ok(tok > asm);
}

function assertAuthorizationUrl(url, { stack, clientId }) {
  const p = url.searchParams;
  assert.equal(url.origin + url.pathname, stack.authgate.metadata.authorization_endpoint);
  assert.equal(p.get('response_type'), 'code');
  assert.equal(p.get('client_id'), clientId);
  assert.equal(p.get('code_challenge_method'), 'S256');
  assert.ok(p.get('code_challenge'));
  assert.equal(p.get('resource'), stack.weather.url, 'RFC 8707 resource is the MCP server');
  assert.ok(scopeSet(p.get('scope')).has('weather:read'), `scope asked: ${p.get('scope')}`);
}

async function assertToolsWork(client) {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  assert.ok(names.includes('get_forecast'), `tools: ${names}`);
  assert.ok(names.includes('set_alert'), `tools: ${names}`);
  const r = await client.callTool({ name: 'get_forecast', arguments: { city: 'Lyon', days: 2 } });
  assert.notEqual(r.isError, true, resultText(r));
  assert.match(resultText(r), /Lyon/i);
}

const setAlert = (client) => client.callTool({ name: 'set_alert', arguments: { city: 'Lyon', condition: 'frost' } });

/** The v2 client end to end; `cimd` switches registration to a client ID metadata document. */
function v2Suite({ cimd }) {
  const label = cimd ? 'v2-cimd' : 'v2-dcr';
  const sdk = SDKS.v2;
  let stack, callback, page, provider, fetchFn, conn;

  before(async () => {
    stack = await startStack({ name: label, cimd });
    callback = await startCallbackServer();
    ({ page } = await newPage(browser));
    let clientMetadataUrl;
    if (cimd) {
      clientMetadataUrl = `${stack.cimd.origin}/clients/authgate-e2e.json`;
      stack.cimd.put('/clients/authgate-e2e.json', {
        client_id: clientMetadataUrl,
        client_name: 'E2E CIMD Client',
        client_uri: stack.cimd.origin,
        redirect_uris: [callback.redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
      });
    }
    provider = new TestOAuthProvider({
      redirectUrl: callback.redirectUri,
      clientName: cimd ? 'E2E CIMD Client' : 'E2E DCR Client',
      clientMetadataUrl,
      openBrowser: browserOpener({
        page,
        callback,
        user: USER,
        shots: (n) => ({ signIn: `mcp-${label}-${n}-sign-in`, consent: `mcp-${label}-${n}-consent` }),
      }),
    });
    fetchFn = recordingFetch();
  });

  after(async () => {
    await conn?.client.close().catch(() => {});
    await page?.context().close().catch(() => {});
    await callback?.close();
    await stopStack(stack);
  });

  it('connects with no prior registration: 401 → metadata → registration → browser → token', async () => {
    conn = await firstConnection({ sdk, version: 'v2', stack, provider, fetchFn });
    assertDiscoveryWalk(fetchFn.log, { stack, registration: !cimd });
    const clientId = provider.clientInformation()?.client_id;
    if (cimd) {
      assert.equal(clientId, provider.clientMetadataUrl, 'the client_id is the metadata document URL');
      assert.ok(stack.cimd.requests.some((r) => r.path === '/clients/authgate-e2e.json'), 'authgate fetched the client metadata document');
    } else {
      assert.ok(clientId, 'registered dynamically');
      assert.ok(provider.savedClients.length >= 1);
    }
    assert.equal(provider.authorizationUrls.length, 1);
    assertAuthorizationUrl(provider.authorizationUrls[0], { stack, clientId });
    const seen = conn.cb.seen;
    assert.ok(seen.signIn && seen.consent, 'signed in and consented in the browser');
    if (cimd) assert.match(seen.consentText, /127\.0\.0\.1/, 'consent shows the client_id host');
    const tokens = provider.tokens();
    assert.equal(tokens.token_type, 'Bearer');
    assert.ok(tokens.refresh_token, 'a refresh token');
    const { payload } = decodeJwt(tokens.access_token);
    assert.equal(payload.aud === stack.weather.url || payload.aud?.includes?.(stack.weather.url), true, `aud ${JSON.stringify(payload.aud)}`);
    assert.equal(payload.iss, stack.authgate.issuer);
    assert.ok(!scopeSet(payload.scope).has('weather:write'), `first grant is read-only: ${payload.scope}`);
  });

  it('tools/list and get_forecast succeed', async () => {
    assert.ok(conn, 'connected');
    await assertToolsWork(conn.client);
  });

  it('set_alert gets 403 insufficient_scope; the client re-authorizes for the union of scopes and it succeeds', async () => {
    assert.ok(conn, 'connected');
    const mark = fetchFn.log.length;
    const before = provider.authorizationUrls.length;
    await expectRedirect(sdk, () => setAlert(conn.client), 'set_alert with a read-only token');
    const forbidden = fetchFn.since(mark, (e) => e.status === 403);
    assert.equal(forbidden.length, 1, 'one 403');
    assert.match(forbidden[0].wwwAuthenticate ?? '', /error="insufficient_scope"/);
    assert.match(forbidden[0].wwwAuthenticate ?? '', /scope="[^"]*weather:write[^"]*"/);
    assert.match(forbidden[0].wwwAuthenticate ?? '', /resource_metadata="/);
    assert.equal(fetchFn.since(mark, isTokenRequest('refresh_token')).length, 0, 'step-up does not refresh at the old scope (#2255)');
    assert.equal(provider.authorizationUrls.length, before + 1, 'a new authorization request');
    const stepUp = provider.authorizationUrls.at(-1);
    const asked = scopeSet(stepUp.searchParams.get('scope'));
    assert.ok(asked.has('weather:write') && asked.has('weather:read'), `union of scopes asked: ${[...asked]}`);

    const cb = await callbackFor(provider, stack.authgate.issuer);
    assert.equal(cb.seen.signIn, false, 'still signed in');
    assert.ok(cb.seen.consent, 'asked to consent to the new scope');
    await conn.transport.finishAuth(cb.searchParams);
    assert.ok(scopeSet(decodeJwt(provider.tokens().access_token).payload.scope).has('weather:write'));

    const r = await setAlert(conn.client);
    assert.notEqual(r.isError, true, resultText(r));
    const f = await conn.client.callTool({ name: 'get_forecast', arguments: { city: 'Lyon' } });
    assert.match(resultText(f), /frost/i, 'the alert shows in the forecast');
  });

  it('when the access token stops working the client refreshes and the call succeeds', async () => {
    assert.ok(conn, 'connected');
    const old = provider.tokens();
    assert.ok(old.refresh_token);
    // What an expired token looks like to the MCP server: it no longer verifies.
    provider.replaceAccessToken(corruptJwt(old.access_token));
    const mark = fetchFn.log.length;
    const redirects = provider.authorizationUrls.length;
    const r = await conn.client.callTool({ name: 'get_forecast', arguments: { city: 'Oslo' } });
    assert.notEqual(r.isError, true, resultText(r));
    const unauthorized = fetchFn.since(mark, (e) => e.status === 401);
    assert.ok(unauthorized.length >= 1, 'the MCP server answered 401');
    assert.match(unauthorized[0].wwwAuthenticate ?? '', /error="invalid_token"/);
    const refreshes = fetchFn.since(mark, isTokenRequest('refresh_token'));
    assert.equal(refreshes.length, 1, 'one refresh');
    assert.equal(refreshes[0].status, 200);
    assert.equal(refreshes[0].form.refresh_token, old.refresh_token);
    assert.equal(provider.authorizationUrls.length, redirects, 'no new browser round');
    const now = provider.tokens();
    assert.notEqual(now.refresh_token, old.refresh_token, 'the refresh token rotated');
    assert.ok(scopeSet(decodeJwt(now.access_token).payload.scope).has('weather:write'), 'refresh keeps the stepped-up scope');
  });
}

describe('MCP TypeScript SDK v2 client, dynamic client registration (issue 5)', () => v2Suite({ cimd: false }));

describe('MCP TypeScript SDK v2 client, client ID metadata document (issue 5)', () => v2Suite({ cimd: true }));

describe('MCP TypeScript SDK v1 client (1.32), dynamic client registration (issue 5)', () => {
  const sdk = SDKS.v1;
  let stack, callback, page, provider, fetchFn, conn;

  before(async () => {
    stack = await startStack({ name: 'v1-dcr' });
    callback = await startCallbackServer();
    ({ page } = await newPage(browser));
    provider = new TestOAuthProvider({
      redirectUrl: callback.redirectUri,
      clientName: 'E2E v1 Client',
      openBrowser: browserOpener({ page, callback, user: USER }),
    });
    fetchFn = recordingFetch();
  });

  after(async () => {
    await conn?.client.close().catch(() => {});
    await page?.context().close().catch(() => {});
    await callback?.close();
    await stopStack(stack);
  });

  it('connects with no prior registration and calls the read tool', async () => {
    conn = await firstConnection({ sdk, version: 'v1', stack, provider, fetchFn });
    assertDiscoveryWalk(fetchFn.log, { stack, registration: true });
    assertAuthorizationUrl(provider.authorizationUrls[0], { stack, clientId: provider.clientInformation().client_id });
    await assertToolsWork(conn.client);
  });

  it('set_alert: 403 insufficient_scope reaches the client; v1 refreshes at the same scope and gives up (#2255)', async () => {
    assert.ok(conn, 'connected');
    const mark = fetchFn.log.length;
    await assert.rejects(setAlert(conn.client), (e) => {
      assert.match(String(e?.message), /403/);
      return true;
    });
    const forbidden = fetchFn.since(mark, (e) => e.status === 403);
    assert.ok(forbidden.length >= 1);
    assert.match(forbidden[0].wwwAuthenticate ?? '', /error="insufficient_scope"/);
    // The refresh it does instead of re-authorizing succeeds (and rotates):
    // authgate keeps the grant's scope and does not widen it.
    for (const r of fetchFn.since(mark, isTokenRequest('refresh_token'))) assert.equal(r.status, 200);
    assert.ok(!scopeSet(decodeJwt(provider.tokens().access_token).payload.scope).has('weather:write'));
  });

  it('with the host dropping the refresh token first, v1 steps up through the browser and set_alert succeeds', async () => {
    assert.ok(conn, 'connected');
    // A successful call clears v1's "already tried upscoping" memory.
    await conn.client.callTool({ name: 'get_forecast', arguments: { city: 'Lyon' } });
    provider.dropRefreshToken();
    await expectRedirect(sdk, () => setAlert(conn.client), 'set_alert with a read-only token and no refresh token');
    const asked = scopeSet(provider.authorizationUrls.at(-1).searchParams.get('scope'));
    assert.ok(asked.has('weather:write'), `scope asked: ${[...asked]}`);
    const cb = await callbackFor(provider, stack.authgate.issuer);
    await conn.transport.finishAuth(cb.searchParams.get('code'));
    const r = await setAlert(conn.client);
    assert.notEqual(r.isError, true, resultText(r));
  });

  it('when the access token stops working v1 refreshes and the call succeeds', async () => {
    const old = provider.tokens();
    assert.ok(old.refresh_token);
    provider.replaceAccessToken(corruptJwt(old.access_token));
    const mark = fetchFn.log.length;
    const r = await conn.client.callTool({ name: 'get_forecast', arguments: { city: 'Oslo' } });
    assert.notEqual(r.isError, true, resultText(r));
    const refreshes = fetchFn.since(mark, isTokenRequest('refresh_token'));
    assert.equal(refreshes.length, 1);
    assert.equal(refreshes[0].status, 200);
    assert.notEqual(provider.tokens().refresh_token, old.refresh_token);
  });
});
