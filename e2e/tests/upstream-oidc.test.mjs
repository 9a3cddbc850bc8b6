// Issue 19: sign-in through an upstream OpenID Connect provider, in a real
// browser, against a REAL provider: node `oidc-provider` (a certified OP,
// e2e/upstream-oidc/server.mjs). The operator adds the connection and an
// organization with the CLI; the person types their company email at
// authgate, signs in on oidc-provider's own pages, consents at authgate, and
// the client's token carries `idp`, `org_id` and `amr` and calls the weather
// MCP server's tool with it (TypeScript SDK client). Then the attacks: a
// replayed callback (state spent), a callback whose `iss` names another
// issuer (RFC 9207 mix-up), and a sign-in cancelled at the upstream.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUTHGATE_BIN, E2E_DIR } from '../lib/env.mjs';
import { startAuthgate, weatherResource } from '../lib/authgate.mjs';
import { planWeather, startWeather } from '../lib/weather.mjs';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startCallbackServer } from '../lib/callback.mjs';
import { freePort } from '../lib/ports.mjs';
import { runCommand, startProcess, waitForHttp } from '../lib/procs.mjs';
import { launchBrowser, newPage, screenshotPath, bodyText } from '../lib/browser.mjs';
import { pkce, randomState, authorizationUrl, postForm, decodeJwt } from '../lib/oauth.mjs';

const CLIENT_ID = 'e2e-upstream';
const UPSTREAM_SECRET = 'upstream-client-secret-0123456789';
const EMAIL = 'ann@acme.example';

async function cli(ag, args) {
  const r = await runCommand(AUTHGATE_BIN, ['--config', ag.configFile, ...args], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `authgate ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

describe('sign-in through an upstream OpenID Connect provider (issue 19)', () => {
  let ag, up, upIssuer, cb, browser, resource, planned, weather;
  // Secrets seen along the way, which no log may contain.
  const secrets = [UPSTREAM_SECRET];

  before(async () => {
    cb = await startCallbackServer();
    planned = await planWeather();
    resource = planned.url;
    const agPort = await freePort();
    const upPort = await freePort();
    upIssuer = `http://127.0.0.1:${upPort}`;
    up = startProcess('upstream-oidc', 'node', [path.join(E2E_DIR, 'upstream-oidc', 'server.mjs')], {
      env: {
        UPSTREAM_OIDC: JSON.stringify({
          port: upPort,
          clients: [{
            client_id: 'authgate',
            client_secret: UPSTREAM_SECRET,
            redirect_uris: [`http://127.0.0.1:${agPort}/federation/acme-sso/callback`],
            grant_types: ['authorization_code'],
          }],
          accounts: {
            [EMAIL]: { email: EMAIL, email_verified: true, name: 'Ann Acme', groups: ['eng'] },
          },
        }),
      },
    });
    await waitForHttp(`${upIssuer}/.well-known/openid-configuration`, { proc: up });
    ag = await startAuthgate({
      name: 'authgate-upstream-oidc',
      port: agPort,
      resources: [weatherResource(resource)],
      clients: [{
        client_id: CLIENT_ID,
        client_name: 'E2E Upstream Client',
        token_endpoint_auth_method: 'none',
        redirect_uris: [cb.redirectUri],
        grant_types: ['authorization_code'],
        resources: ['weather'],
      }],
    });
    const secretFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'authgate-up-')), 'secret');
    fs.writeFileSync(secretFile, `${UPSTREAM_SECRET}\n`, { mode: 0o600 });
    const added = await cli(ag, ['connection', 'add', 'acme-sso', '--preset', 'okta', '--upstream-issuer', upIssuer,
      '--client-id', 'authgate', '--client-secret-file', secretFile, '--name', 'Acme SSO',
      '--trusted-domain', 'acme.example']);
    assert.match(added, new RegExp(`${ag.issuer}/federation/acme-sso/callback`));
    const shown = await cli(ag, ['connection', 'show', 'acme-sso']);
    assert.ok(!shown.includes(UPSTREAM_SECRET), 'the secret is never printed');
    await cli(ag, ['org', 'add', 'acme', '--name', 'Acme Corp', '--connection', 'acme-sso']);
    await cli(ag, ['org', 'domain', 'add', 'acme', 'acme.example']);
    await cli(ag, ['org', 'domain', 'mark-verified', 'acme', 'acme.example']);
    weather = await startWeather({ port: planned.port, issuer: ag.issuer, name: 'weather-upstream-oidc' });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await weather?.stop();
    await ag?.stop();
    await up?.stop();
    await cb?.close();
  });

  const authorize = () => {
    const p = pkce();
    const url = authorizationUrl(ag.metadata, {
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: cb.redirectUri,
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
      state: randomState(),
      scope: 'weather:read',
      resource,
    });
    return { url, pkce: p };
  };

  /** authgate's email step, then on to the upstream's sign-in page. */
  async function toUpstream(page, url) {
    await page.goto(url.toString());
    await page.getByLabel('Email', { exact: true }).fill(EMAIL);
    await Promise.all([
      page.waitForURL((u) => u.toString().startsWith(`${upIssuer}/interaction/`)),
      page.getByRole('button', { name: 'Continue', exact: true }).click(),
    ]);
  }

  /** Signs in on oidc-provider's own pages and consents there. */
  async function signInUpstream(page) {
    await page.locator('input[name="login"]').fill(EMAIL);
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  it('signs in at the upstream, consents at authgate, and the token carries idp, org_id and amr', async () => {
    const { page } = await newPage(browser);
    const callbacks = [];
    page.on('request', (r) => {
      if (r.url().includes('/federation/acme-sso/callback')) callbacks.push(r.url());
    });
    const { url, pkce: p } = authorize();
    await toUpstream(page, url);
    await page.screenshot({ path: screenshotPath('upstream-oidc-1-provider-sign-in'), fullPage: true });
    await signInUpstream(page);
    // Back at authgate: its consent page.
    const allow = page.getByRole('button', { name: 'Allow', exact: true });
    await allow.waitFor();
    assert.equal(new URL(page.url()).origin, ag.issuer);
    await page.screenshot({ path: screenshotPath('upstream-oidc-2-consent'), fullPage: true });
    const [redirect] = await Promise.all([cb.next(), allow.click()]);
    const code = redirect.searchParams.get('code');
    assert.ok(code, `no code in ${redirect}`);
    const tok = await postForm(ag.metadata.token_endpoint, {
      grant_type: 'authorization_code',
      client_id: CLIENT_ID,
      code,
      code_verifier: p.verifier,
      redirect_uri: cb.redirectUri,
      resource,
    });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    const claims = decodeJwt(tok.body.access_token).payload;
    assert.equal(claims.idp, 'acme-sso');
    assert.equal(claims.org_id, 'acme');
    assert.deepEqual(claims.amr, ['fed']);

    // The MCP server takes the token as any other (TypeScript SDK client).
    const client = new Client({ name: 'authgate-e2e-upstream', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), {
      requestInit: { headers: { authorization: `Bearer ${tok.body.access_token}` } },
    }));
    const forecast = await client.callTool({ name: 'get_forecast', arguments: { city: 'Lyon' } });
    assert.ok(!forecast.isError, JSON.stringify(forecast));
    await client.close();

    // The callback again (a replayed response): its state is spent.
    assert.equal(callbacks.length, 1, callbacks.join('\n'));
    const cbUrl = new URL(callbacks[0]);
    secrets.push(cbUrl.searchParams.get('code'), cbUrl.searchParams.get('state'), tok.body.access_token);
    assert.equal(cbUrl.searchParams.get('iss'), upIssuer, 'oidc-provider sends iss (RFC 9207)');
    const replay = await page.goto(callbacks[0]);
    assert.equal(replay.status(), 400);
    assert.match(await bodyText(page), /already used/);
    await page.context().close();
  });

  it('refuses a callback whose iss names another issuer (mix-up)', async () => {
    const { page, context } = await newPage(browser);
    // The upstream walk is replayed with the browser context's own cookies
    // (context.request shares them) without following redirects, so the
    // callback URL is seen before the browser would use it.
    await toUpstream(page, authorize().url);
    let url = page.url();
    let captured;
    for (let i = 0; i < 8 && !captured; i++) {
      let r;
      if (url.includes('/interaction/')) {
        const html = await (await context.request.get(url)).text();
        const form = html.includes('value="login"')
          ? { prompt: 'login', login: EMAIL, password: 'any password' }
          : { prompt: 'consent' };
        r = await context.request.post(url, { form, maxRedirects: 0 });
      } else {
        r = await context.request.get(url, { maxRedirects: 0 });
      }
      const loc = new URL(r.headers().location, url).toString();
      if (loc.includes('/federation/acme-sso/callback')) captured = loc;
      url = loc;
    }
    assert.ok(captured, 'the upstream sent the browser back');
    const forged = new URL(captured);
    forged.searchParams.set('iss', 'https://evil.example');
    const r = await page.goto(forged.toString());
    assert.equal(r.status(), 502);
    assert.match(await bodyText(page), /could not be accepted/);
    await context.close();
  });

  it("never writes the upstream's code, the state, tokens or the client secret to authgate's log", async () => {
    const log = fs.readFileSync(ag.proc.logFile, 'utf8');
    assert.ok(log.includes('upstream sign-in failed'), 'the failures are logged (by reason)');
    for (const s of secrets) {
      assert.ok(s && s.length > 8, 'a secret was captured');
      assert.ok(!log.includes(s), `the log contains ${s.slice(0, 6)}…`);
    }
  });

  it('shows a page a person understands when the sign-in is cancelled at the upstream', async () => {
    const { page, context } = await newPage(browser);
    await toUpstream(page, authorize().url);
    // oidc-provider's "Cancel" (its abort endpoint) answers access_denied.
    const r = await page.goto(`${page.url()}/abort`);
    assert.equal(r.status(), 403);
    assert.equal(new URL(page.url()).origin, ag.issuer);
    assert.match(await bodyText(page), /cancelled or refused at your identity provider/);
    await page.screenshot({ path: screenshotPath('upstream-oidc-3-denied'), fullPage: true });
    await context.close();
  });
});
