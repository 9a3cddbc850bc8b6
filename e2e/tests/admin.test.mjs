// Issue 6: the admin dashboard in a real browser. A fresh authgate with no
// administrator prints a one-time setup link; Chromium creates the first
// admin with it, signs out and in again, adds the sample weather-mcp as an
// MCP server, copies its metadata JSON, runs the connection check (all
// green), runs it against a misconfigured registration (the failing point is
// named), adds a confidential client (secret shown once, and it works), and
// revokes a person's grant. Screenshots go to e2e/artifacts/admin-*.png.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { USER, WAIT_MS } from '../lib/env.mjs';
import { startAuthgate } from '../lib/authgate.mjs';
import { planWeather, startWeather } from '../lib/weather.mjs';
import { startCallbackServer } from '../lib/callback.mjs';
import { launchBrowser, newPage, authorizeInBrowser, screenshotPath, bodyText, signInWithPassword } from '../lib/browser.mjs';
import { pkce, randomState, authorizationUrl, postForm } from '../lib/oauth.mjs';

const ADMIN = { email: 'grace@example.com', name: 'Grace', password: 'an admin password for e2e' };
const APP = { id: 'e2e-admin-app', name: 'E2E Notes App' };

/**
 * Waits for the setup link authgate writes at start to `<data_dir>/setup-link`
 * (mode 0600; the log only names the file, the link is a secret).
 */
async function setupLinkFromFile(ag) {
  const file = path.join(ag.dir, 'data', 'setup-link');
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (fs.existsSync(file)) {
      const mode = fs.statSync(file).mode & 0o777;
      assert.equal(mode, 0o600, `setup-link mode ${mode.toString(8)}`);
      const m = fs.readFileSync(file, 'utf8').match(/(http:\/\/127\.0\.0\.1:\d+\/admin\/setup\?token=[A-Za-z0-9_-]{43})/);
      if (m) {
        assert.ok(!fs.readFileSync(ag.proc.logFile, 'utf8').includes(m[1].split('token=')[1]), 'the setup token is in the log');
        return m[1];
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no setup link in ${file}:\n${ag.proc.logTail()}`);
}

describe('admin dashboard in a real browser (issue 6)', () => {
  let ag, weather, cb, browser, page, context;
  const shot = (name) => page.screenshot({ path: screenshotPath(`admin-${name}`), fullPage: true });

  before(async () => {
    cb = await startCallbackServer();
    const planned = await planWeather();
    ag = await startAuthgate({
      name: 'authgate-admin',
      resources: [],
      clients: [
        {
          client_id: APP.id,
          client_name: APP.name,
          token_endpoint_auth_method: 'none',
          redirect_uris: [cb.redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          // Every MCP server (weather is added through the dashboard later).
          resources: ['*'],
        },
      ],
      // The sample MCP server is on loopback: let the check reach it.
      extra: { admin_connection_check_allow_private: true },
      users: [USER], // a person who is not an administrator
    });
    weather = await startWeather({ port: planned.port, issuer: ag.issuer, name: 'weather-admin' });
    browser = await launchBrowser();
    ({ context, page } = await newPage(browser));
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ag.issuer });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await weather?.stop();
    await ag?.stop();
    await cb?.close();
  });

  it('first run: the one-time setup link creates the first administrator', async () => {
    const link = await setupLinkFromFile(ag);
    await page.goto(link);
    await page.getByLabel('Email', { exact: true }).fill(ADMIN.email);
    await page.getByLabel('Name', { exact: true }).fill(ADMIN.name);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await page.getByLabel('Password again', { exact: true }).fill(ADMIN.password);
    await shot('1-setup');
    await page.getByRole('button', { name: 'Create administrator' }).click();
    await page.waitForURL(`${ag.issuer}/admin`);
    assert.match(await bodyText(page), /MCP servers/);
    assert.match(await bodyText(page), new RegExp(ADMIN.email));
    // The link works once.
    const again = await fetch(link);
    assert.equal(again.status, 404);
  });

  it('signs out, and signing in again leads back to the dashboard', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/login$/);
    await page.goto(`${ag.issuer}/admin/users`);
    await page.waitForURL(/\/login$/);
    await shot('2-sign-in');
    await signInWithPassword(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(`${ag.issuer}/admin/users`);
    assert.match(await bodyText(page), /ada@example\.com/);
  });

  it('adds the weather MCP server and shows the metadata JSON to copy', async () => {
    await page.goto(`${ag.issuer}/admin/servers`);
    await page.getByRole('link', { name: 'Add MCP server' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Weather');
    await page.getByLabel('Server URL', { exact: true }).fill(weather.url);
    await page.getByLabel('Scope 1 name').fill('weather:read');
    await page.getByLabel('Scope 1 description').fill('Read forecasts');
    await page.getByLabel('Scope 1 is a default').check();
    await page.getByLabel('Scope 2 name').fill('weather:write');
    await page.getByLabel('Scope 2 description').fill('Set weather alerts');
    await page.getByLabel('Scope 2 implies').fill('weather:read');
    await page.getByLabel('Access token', { exact: true }).fill('300');
    await shot('3-add-server');
    await page.getByRole('button', { name: 'Add MCP server' }).click();
    await page.waitForURL(`${ag.issuer}/admin/servers/weather?notice=created`);
    const shown = JSON.parse(await page.locator('#metadata-json').innerText());
    assert.deepEqual(shown, {
      resource: weather.url,
      authorization_servers: [ag.issuer],
      scopes_supported: ['weather:read', 'weather:write'],
      bearer_methods_supported: ['header'],
      resource_name: 'Weather',
    });
    // The Copy button puts exactly that JSON on the clipboard.
    await page.locator('button[data-copy="metadata-json"]').click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.deepEqual(JSON.parse(copied), shown);
    const challenge = await page.locator('#www-authenticate').innerText();
    assert.equal(
      challenge,
      `WWW-Authenticate: Bearer resource_metadata="http://127.0.0.1:${weather.port}/.well-known/oauth-protected-resource/mcp", scope="weather:read"`,
    );
    assert.match(await page.locator('#snippet-rust').innerText(), /Validator::builder/);
    await shot('4-server-detail');
  });

  it('connection check against the sample weather-mcp: every point green', async () => {
    await page.getByRole('button', { name: 'Run connection check' }).click();
    await page.locator('#check-summary').waitFor();
    assert.equal(await page.locator('#check-summary').getAttribute('data-ok'), 'true', await bodyText(page));
    const points = page.locator('#check-points li');
    assert.ok((await points.count()) >= 8);
    assert.equal(await page.locator('#check-points li[data-ok="false"]').count(), 0);
    await page.locator('#connection-check').scrollIntoViewIfNeeded();
    await shot('5-check-green');
  });

  it('connection check against a misconfigured registration names the failing points', async () => {
    // Registered as localhost while the server calls itself 127.0.0.1: the
    // challenge and the metadata name a different resource.
    await page.goto(`${ag.issuer}/admin/servers/new`);
    await page.getByLabel('Name', { exact: true }).fill('Weather (wrong URL)');
    await page.getByLabel('Server URL', { exact: true }).fill(`http://localhost:${weather.port}/mcp`);
    await page.getByLabel('Scope 1 name').fill('weather:read');
    await page.getByLabel('Scope 1 is a default').check();
    await page.getByRole('button', { name: 'Add MCP server' }).click();
    await page.waitForURL(/\/admin\/servers\/weather-wrong-url/);
    await page.getByRole('button', { name: 'Run connection check' }).click();
    await page.locator('#check-summary').waitFor();
    assert.equal(await page.locator('#check-summary').getAttribute('data-ok'), 'false');
    const failing = await page.locator('#check-points li[data-ok="false"]').evaluateAll((els) => els.map((e) => e.id));
    assert.ok(failing.includes('check-metadata.resource'), failing.join(', '));
    assert.ok(failing.includes('check-challenge.resource_metadata'), failing.join(', '));
    const resourcePoint = await page.locator('[id="check-metadata.resource"]').innerText();
    assert.match(resourcePoint, /resource is exactly the registered server URL/);
    assert.match(resourcePoint, /failed/);
    await page.locator('#connection-check').scrollIntoViewIfNeeded();
    await shot('6-check-misconfigured');
  });

  it('adds a confidential client; the secret is shown once and works', async () => {
    await page.goto(`${ag.issuer}/admin/clients`);
    await page.getByLabel('Name', { exact: true }).fill('Nightly report');
    await page.getByLabel('Client id', { exact: true }).fill('nightly-report');
    await page.getByLabel('Weather weather', { exact: true }).check();
    await page.getByLabel(/^Scopes it may be granted/).fill('weather:read');
    await page.getByRole('button', { name: 'Add client' }).click();
    await page.locator('#new-client-secret').waitFor();
    const secret = (await page.locator('#new-client-secret').innerText()).trim();
    assert.equal(secret.length, 43);
    await shot('7-client-secret');
    const r = await postForm(
      ag.metadata.token_endpoint,
      { grant_type: 'client_credentials', resource: weather.url },
      { authorization: `Basic ${Buffer.from(`nightly-report:${secret}`).toString('base64')}` },
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await page.goto(`${ag.issuer}/admin/clients`);
    assert.doesNotMatch(await page.content(), new RegExp(secret));
    assert.match(await bodyText(page), /nightly-report/);
  });

  it("revokes a person's grant", async () => {
    // Ada allows the app in her own browser.
    const { context: adaContext, page: adaPage } = await newPage(browser);
    const p = pkce();
    const url = authorizationUrl(ag.metadata, {
      response_type: 'code',
      client_id: APP.id,
      redirect_uri: cb.redirectUri,
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
      state: randomState(),
      scope: 'weather:read',
      resource: weather.url,
    });
    const seen = await authorizeInBrowser(adaPage, url, { redirectUri: cb.redirectUri, user: USER, expectConsent: true });
    await adaContext.close();
    const code = seen.url.searchParams.get('code');
    const tokens = await postForm(ag.metadata.token_endpoint, {
      grant_type: 'authorization_code',
      client_id: APP.id,
      code,
      code_verifier: p.verifier,
      redirect_uri: cb.redirectUri,
      resource: weather.url,
    });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));

    // The administrator sees it on Ada's page and revokes it.
    await page.goto(`${ag.issuer}/admin/users`);
    await page.getByRole('link', { name: USER.email }).click();
    await page.locator('#apps').waitFor();
    assert.match(await page.locator('#apps').innerText(), new RegExp(APP.name));
    await shot('8-user-grants');
    await page.getByRole('button', { name: `Revoke ${APP.name} for Weather` }).click();
    await page.locator('#no-apps').waitFor();
    assert.match(await bodyText(page), /Access revoked/);
    await shot('9-grant-revoked');
    const refreshed = await postForm(ag.metadata.token_endpoint, {
      grant_type: 'refresh_token',
      client_id: APP.id,
      refresh_token: tokens.body.refresh_token,
    });
    assert.equal(refreshed.status, 400);
    assert.equal(refreshed.body.error, 'invalid_grant');
  });

  it('the audit log shows what happened', async () => {
    await page.goto(`${ag.issuer}/admin/audit?q=admin.`);
    const text = await bodyText(page);
    assert.match(text, /admin\.resource\.created/);
    assert.match(text, /admin\.client\.created/);
    await shot('10-audit');
  });
});
