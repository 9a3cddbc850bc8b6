// Issue 21 part 4: a new person signs up from an MCP client's
// authorization, as they would: the official MCP TypeScript SDK client
// (v2) connects to weather-mcp, the host opens authgate in Chromium, the
// person chooses "Create an account", reads the verification mail (a real
// SMTP server, aiosmtpd), is told to verify before allowing anything,
// verifies, allows the app, and the tool call succeeds. The new pages
// (sign-up, "confirm your email first") pass axe in English and French,
// light and dark; screenshots go to e2e/screenshots/pages/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { E2E_DIR } from '../lib/env.mjs';
import { startAuthgate, weatherResource } from '../lib/authgate.mjs';
import { planWeather, startWeather } from '../lib/weather.mjs';
import { startCallbackServer } from '../lib/callback.mjs';
import { launchBrowser, newPage, signInWithPassword, bodyText } from '../lib/browser.mjs';
import { startSmtpSink } from '../lib/smtp.mjs';
import { TestOAuthProvider, expectAuthorizationNeeded, authorizationCallback, resultText } from '../lib/mcp.mjs';

const NORA = { email: 'nora@example.com', name: 'Nora Example', password: 'a fresh sign-up passphrase' };
const SCREENS = path.join(E2E_DIR, 'screenshots', 'pages');
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('self sign-up from an MCP client in a real browser (issue 21)', () => {
  let sink, ag, weather, callback, browser, page, context;
  const stops = [];
  const seen = {};

  before(async () => {
    fs.mkdirSync(SCREENS, { recursive: true });
    sink = await startSmtpSink();
    stops.push(() => sink.stop());
    const w = await planWeather();
    ag = await startAuthgate({
      name: 'authgate-signup',
      resources: [weatherResource(w.url)],
      extra: {
        smtp: { host: '127.0.0.1', port: sink.port, tls: 'none', from: 'authgate e2e <id@example.test>', retry_base_secs: 1 },
        signup: { enabled: true },
      },
    });
    stops.push(() => ag.stop());
    weather = await startWeather({ port: w.port, issuer: ag.issuer, name: 'weather-mcp-signup' });
    stops.push(() => weather.stop());
    callback = await startCallbackServer();
    stops.push(() => callback.close());
    browser = await launchBrowser();
    ({ page, context } = await newPage(browser));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    for (const stop of stops.reverse()) await stop().catch(() => {});
  });

  /** The new pages in both languages and colour schemes: axe, language, screenshots. */
  async function look(name, where, status, phrase) {
    const problems = [];
    for (const lang of ['en', 'fr']) {
      await context.setExtraHTTPHeaders({ 'accept-language': lang === 'fr' ? 'fr-FR,fr;q=0.9' : 'en-US,en;q=0.9' });
      for (const colorScheme of ['light', 'dark']) {
        const label = `${name} ${lang} ${colorScheme}`;
        await page.emulateMedia({ colorScheme });
        const resp = await page.goto(`${ag.issuer}${where}`);
        if (resp.status() !== status) problems.push(`${label}: answered ${resp.status()}`);
        await page.screenshot({ path: path.join(SCREENS, `${name}-${lang}-${colorScheme}.png`), fullPage: true });
        if ((await page.locator('html').getAttribute('lang')) !== lang) problems.push(`${label}: wrong <html lang>`);
        const text = await page.locator('body').innerText();
        if (!text.includes(phrase[lang])) problems.push(`${label}: does not show "${phrase[lang]}"`);
        await page.evaluate(AXE);
        const violations = await page.evaluate(async () => {
          const r = await globalThis.axe.run(document, { resultTypes: ['violations'] });
          return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(' | ')}`);
        });
        for (const v of violations) problems.push(`${label}: ${v}`);
      }
    }
    await context.setExtraHTTPHeaders({});
    return problems;
  }

  /** The host's browser leg: sign up, verify, allow. */
  async function signUpInBrowser(url) {
    const problems = [];
    await page.goto(url.toString());
    await page.waitForURL(/\/login\?r=/);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(/\/signup\?r=/);
    const signupPath = new URL(page.url()).pathname + new URL(page.url()).search;
    problems.push(...(await look('signup', signupPath, 200, { en: 'Create an account', fr: 'Créer un compte' })));
    await page.goto(`${ag.issuer}${signupPath}`);
    await page.getByLabel('Email', { exact: true }).fill(NORA.email);
    await page.getByLabel('Name (optional)', { exact: true }).fill(NORA.name);
    await page.getByLabel('Password', { exact: true }).fill(NORA.password);
    await page.getByRole('button', { name: 'Create my account' }).click();
    assert.match(await bodyText(page), /Check your email/);
    const mail = await sink.waitFor(/Confirm your email address/);
    assert.deepEqual(mail.rcpt_tos, [NORA.email]);
    const link = mail.text.split(/\s+/).find((w) => w.includes('/email/verify?token='));
    assert.ok(link, mail.text);

    // Signing in works, but nothing can be allowed before verifying.
    await page.getByRole('link', { name: 'Back to sign-in' }).click();
    await signInWithPassword(page, NORA.email, NORA.password);
    await page.waitForURL(/\/consent\?r=/);
    assert.match(await bodyText(page), /Confirm your email address first/);
    assert.equal(await page.getByRole('button', { name: 'Allow', exact: true }).count(), 0);
    const consentPath = new URL(page.url()).pathname + new URL(page.url()).search;
    problems.push(...(await look('signup-verify-first', consentPath, 403, { en: 'Confirm your email address first', fr: 'Confirmez d’abord votre adresse e-mail' })));

    // The held page stays open while the mail is opened in another tab.
    await page.goto(`${ag.issuer}${consentPath}`);
    const mailTab = await context.newPage();
    await mailTab.goto(link);
    await mailTab.getByRole('button', { name: 'Confirm my email address' }).click();
    assert.match(await bodyText(mailTab), /is confirmed/);
    await mailTab.close();

    await page.getByRole('link', { name: 'I confirmed it: continue' }).click();
    seen.consentText = await bodyText(page);
    await Promise.all([page.waitForURL((u) => u.toString().startsWith(callback.redirectUri)), page.getByRole('button', { name: 'Allow', exact: true }).click()]);
    seen.problems = problems;
    return callback.next();
  }

  it('a new person signs up, verifies, allows the app, and the tool call succeeds', async () => {
    const provider = new TestOAuthProvider({ redirectUrl: callback.redirectUri, clientName: 'E2E Sign-up Client', openBrowser: signUpInBrowser });
    const url = new URL(weather.url);
    const isUnauthorized = (e) => e instanceof UnauthorizedError;
    const t1 = new StreamableHTTPClientTransport(url, { authProvider: provider });
    await expectAuthorizationNeeded(() => new Client({ name: 'authgate-e2e', version: '1.0.0' }).connect(t1), 'first connect', isUnauthorized);
    const cb = await authorizationCallback(provider, ag.issuer);
    await t1.finishAuth(cb.searchParams);
    await t1.close().catch(() => {});
    assert.deepEqual(seen.problems, [], seen.problems.join('\n'));
    assert.match(seen.consentText, /E2E Sign-up Client/);

    const client = new Client({ name: 'authgate-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
    const r = await client.callTool({ name: 'get_forecast', arguments: { city: 'Lyon', days: 1 } });
    assert.notEqual(r.isError, true, resultText(r));
    assert.match(resultText(r), /Lyon/i);
    await client.close().catch(() => {});
  });

  it('answers an address that has an account like any other, and mails its owner', async () => {
    const p = await context.newPage();
    await p.goto(`${ag.issuer}/signup`);
    await p.getByLabel('Email', { exact: true }).fill(NORA.email);
    await p.getByLabel('Password', { exact: true }).fill('another passphrase 99');
    await p.getByRole('button', { name: 'Create my account' }).click();
    assert.match(await bodyText(p), /Check your email/);
    const notice = await sink.waitFor(/already have an account/);
    assert.deepEqual(notice.rcpt_tos, [NORA.email]);
    await p.close();
  });
});
