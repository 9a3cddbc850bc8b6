// Issue 19 part 6: sign-in through a SAML 2.0 identity provider, in a real
// browser, against a REAL IdP: pysaml2's (e2e/upstream-saml/idp.py, signing
// with xmlsec1). The operator adds the connection and an organization with
// the CLI; the IdP reads authgate's SP metadata from its entity id; the
// person types their company email at authgate, signs in on the IdP's page,
// whose form POSTs the signed Response cross-site to authgate's ACS (so the
// SameSite=Lax session cookie is not sent: authgate's own page hands it on
// same-site), consents, and the client's token carries `idp` and `org_id`
// and calls the weather MCP server's tool (TypeScript SDK client). Then the
// attacks: the same response posted again, and a response with a RelayState
// of no flow of this browser.
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

const CLIENT_ID = 'e2e-upstream-saml';
const EMAIL = 'ann@acme.example';
const IDP_PASSWORD = 'ann-idp-password';
const PYTHON = path.join(E2E_DIR, 'upstream-saml', '.venv', 'bin', 'python');

async function cli(ag, args) {
  const r = await runCommand(AUTHGATE_BIN, ['--config', ag.configFile, ...args], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `authgate ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

describe('sign-in through a SAML 2.0 identity provider (issue 19)', () => {
  let ag, idp, idpBase, cb, browser, resource, planned, weather;
  const secrets = [];

  before(async () => {
    assert.ok(fs.existsSync(PYTHON), `${PYTHON} is missing: run e2e/run.sh (it makes the pysaml2 venv)`);
    cb = await startCallbackServer();
    planned = await planWeather();
    resource = planned.url;
    const agPort = await freePort();
    const idpPort = await freePort();
    // `localhost`, not 127.0.0.1: another site than authgate, so the IdP's
    // POST to the ACS is cross-site, as in production.
    idpBase = `http://localhost:${idpPort}`;
    const idpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'authgate-saml-idp-'));
    idp = startProcess('upstream-saml', PYTHON, [path.join(E2E_DIR, 'upstream-saml', 'idp.py')], {
      env: {
        UPSTREAM_SAML: JSON.stringify({
          port: idpPort,
          host: 'localhost',
          dir: idpDir,
          sp_prefixes: [`http://127.0.0.1:${agPort}/`],
          accounts: {
            ann: {
              password: IDP_PASSWORD,
              name_id: 'ann-0001',
              attributes: { mail: [EMAIL], displayName: ['Ann Acme'], groups: ['eng'] },
            },
          },
        }),
      },
    });
    await waitForHttp(`http://127.0.0.1:${idpPort}/metadata`, { proc: idp });
    ag = await startAuthgate({
      name: 'authgate-upstream-saml',
      port: agPort,
      resources: [weatherResource(resource)],
      clients: [{
        client_id: CLIENT_ID,
        client_name: 'E2E SAML Client',
        token_endpoint_auth_method: 'none',
        redirect_uris: [cb.redirectUri],
        grant_types: ['authorization_code'],
        resources: ['weather'],
      }],
    });
    const added = await cli(ag, ['connection', 'add', 'corp-saml', '--kind', 'saml', '--name', 'Acme SAML',
      '--idp-entity-id', `${idpBase}/metadata`, '--sso-url', `${idpBase}/sso`,
      '--idp-certificate-file', path.join(idpDir, 'idp.crt'), '--trusted-domain', 'acme.example']);
    assert.match(added, new RegExp(`${ag.issuer}/saml/corp-saml/acs`));
    const shown = await cli(ag, ['connection', 'show', 'corp-saml']);
    assert.match(shown, new RegExp(`SP entity id and metadata URL: ${ag.issuer}/saml/corp-saml`));
    await cli(ag, ['org', 'add', 'acme', '--name', 'Acme Corp', '--connection', 'corp-saml']);
    await cli(ag, ['org', 'domain', 'add', 'acme', 'acme.example']);
    await cli(ag, ['org', 'domain', 'mark-verified', 'acme', 'acme.example']);
    weather = await startWeather({ port: planned.port, issuer: ag.issuer, name: 'weather-upstream-saml' });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await weather?.stop();
    await ag?.stop();
    await idp?.stop();
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

  /** authgate's email step, then on to the IdP's sign-in page. */
  async function toIdp(page, url) {
    await page.goto(url.toString());
    await page.getByLabel('Email', { exact: true }).fill(EMAIL);
    await Promise.all([
      page.waitForURL((u) => u.toString().startsWith(`${idpBase}/sso?`)),
      page.getByRole('button', { name: 'Continue', exact: true }).click(),
    ]);
  }

  it('signs in at the IdP, consents at authgate, and the token carries idp and org_id', async () => {
    const { page } = await newPage(browser);
    const acsPosts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/saml/corp-saml/acs')) {
        acsPosts.push({ url: r.url(), body: r.postData(), headers: r.allHeaders() });
      }
    });
    const { url, pkce: p } = authorize();
    await toIdp(page, url);
    const relay = new URL(page.url()).searchParams.get('RelayState');
    assert.ok(relay && relay.length >= 32 && !relay.includes('/'), `an opaque RelayState: ${relay}`);
    await page.screenshot({ path: screenshotPath('upstream-saml-1-idp-sign-in'), fullPage: true });
    await page.locator('#username').fill('ann');
    await page.locator('#password').fill(IDP_PASSWORD);
    await page.locator('#sign-in').click();
    // The IdP's form posts to the ACS, authgate's page hands it on: consent.
    const allow = page.getByRole('button', { name: 'Allow', exact: true });
    await allow.waitFor();
    assert.equal(new URL(page.url()).origin, ag.issuer);
    assert.match(await bodyText(page), /Acme SAML/);
    await page.screenshot({ path: screenshotPath('upstream-saml-2-consent'), fullPage: true });
    assert.deepEqual(acsPosts.map((x) => new URL(x.url).pathname),
      ['/saml/corp-saml/acs', '/saml/corp-saml/acs/continue']);
    // The IdP's cross-site POST came without the SameSite=Lax session
    // cookie; authgate's own hand-on POST (same site) carried it.
    const [crossSite, sameSite] = await Promise.all(acsPosts.map((x) => x.headers));
    assert.ok(!(crossSite.cookie ?? '').includes('authgate_session'), `cookie sent cross-site: ${crossSite.cookie}`);
    assert.match(sameSite.cookie ?? '', /authgate_session=/);
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
    assert.equal(claims.idp, 'corp-saml');
    assert.equal(claims.org_id, 'acme');
    assert.deepEqual(claims.amr, ['fed']);

    const client = new Client({ name: 'authgate-e2e-upstream-saml', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), {
      requestInit: { headers: { authorization: `Bearer ${tok.body.access_token}` } },
    }));
    const forecast = await client.callTool({ name: 'get_forecast', arguments: { city: 'Lyon' } });
    assert.ok(!forecast.isError, JSON.stringify(forecast));
    await client.close();

    // The same response posted again by this browser: the flow is spent.
    const form = new URLSearchParams(acsPosts[1].body);
    secrets.push(form.get('SAMLResponse'), form.get('RelayState'), tok.body.access_token);
    const replay = await page.request.post(`${ag.issuer}/saml/corp-saml/acs/continue`, {
      form: Object.fromEntries(form), maxRedirects: 0,
    });
    assert.equal(replay.status(), 400);
    assert.match(await replay.text(), /already used/);
    await page.context().close();
  });

  it('refuses a response whose RelayState is no flow of this browser', async () => {
    const { page, context } = await newPage(browser);
    await toIdp(page, authorize().url);
    // Another browser (context) receives this one's IdP answer.
    const other = await newPage(browser);
    const sso = page.url();
    await other.page.goto(sso);
    await other.page.locator('#username').fill('ann');
    await other.page.locator('#password').fill(IDP_PASSWORD);
    await other.page.locator('#sign-in').click();
    await other.page.waitForURL((u) => u.pathname === '/saml/corp-saml/acs/continue');
    await other.page.waitForLoadState('load');
    assert.match(await bodyText(other.page), /not started in this browser/);
    await other.page.screenshot({ path: screenshotPath('upstream-saml-3-other-browser'), fullPage: true });
    await other.context.close();
    await context.close();
  });

  it("never writes the SAML response, the RelayState or tokens to authgate's log", async () => {
    const log = fs.readFileSync(ag.proc.logFile, 'utf8');
    for (const s of secrets) {
      assert.ok(s && s.length > 8, 'a secret was captured');
      assert.ok(!log.includes(s), `the log contains ${s.slice(0, 6)}…`);
    }
  });
});
