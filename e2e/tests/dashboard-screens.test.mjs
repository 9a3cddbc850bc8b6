// Issue 22: every dashboard page, looked at. An administrator signs in (after
// one wrong password, so the audit log and the home page have a failure to
// show), runs the weather server's connection check, and a client registers
// dynamically; then each page is opened at desktop (1280x800) and phone
// (390x844) width, in light and dark, and must answer 200, fit the phone's
// width without horizontal scrolling, and have no serious or critical
// axe-core violation. Full-page screenshots go to e2e/screenshots/ (for a
// person to look at; CI keeps them).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { E2E_DIR, USER } from '../lib/env.mjs';
import { startAuthgate, weatherResource } from '../lib/authgate.mjs';
import { planWeather, startWeather } from '../lib/weather.mjs';
import { launchBrowser, newPage, signInWithPassword } from '../lib/browser.mjs';

const ADMIN = { email: 'grace@example.com', password: 'an admin password for the screens', admin: true };
const APP = { id: 'e2e-screens-app', name: 'Screens App' };
const SCREENS = path.join(E2E_DIR, 'screenshots');
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('every dashboard page at desktop and phone width, light and dark (issue 22)', () => {
  let ag, weather, browser, page;

  before(async () => {
    fs.mkdirSync(SCREENS, { recursive: true });
    const planned = await planWeather();
    ag = await startAuthgate({
      name: 'authgate-screens',
      resources: [weatherResource(planned.url)],
      clients: [
        {
          client_id: APP.id,
          client_name: APP.name,
          token_endpoint_auth_method: 'none',
          redirect_uris: ['http://127.0.0.1:9/callback'],
          grant_types: ['authorization_code', 'refresh_token'],
          resources: ['weather'],
        },
      ],
      extra: { admin_connection_check_allow_private: true },
      users: [USER, ADMIN],
    });
    weather = await startWeather({ port: planned.port, issuer: ag.issuer, name: 'weather-screens' });
    // A dynamically registered client, for the home page's attention list.
    const reg = await fetch(ag.metadata.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'A dynamically registered tool',
        redirect_uris: ['http://127.0.0.1:7777/callback'],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      }),
    });
    assert.equal(reg.status, 201, await reg.clone().text());
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await weather?.stop();
    await ag?.stop();
  });

  it('signs in as an administrator (after one wrong password) and checks the weather server', async () => {
    await page.goto(`${ag.issuer}/admin`);
    await page.waitForURL(/\/login$/);
    await signInWithPassword(page, ADMIN.email, 'not the password');
    await page.getByText(/not correct/).waitFor();
    await signInWithPassword(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(`${ag.issuer}/admin`);
    await page.goto(`${ag.issuer}/admin/servers/weather`);
    await page.getByRole('button', { name: 'Run connection check' }).click();
    await page.locator('#connection-check .points').waitFor();
    // The home page's checklist now shows the passed check.
    await page.goto(`${ag.issuer}/admin`);
    assert.equal(await page.locator('#step-server-checked').getAttribute('data-done'), 'true');
    assert.equal(await page.locator('#step-kek-backup').getAttribute('data-done'), 'false');
    await page.getByRole('button', { name: 'I have backed it up' }).click();
    await page.waitForURL(/notice=kek-confirmed/);
    assert.equal(await page.locator('#step-kek-backup').getAttribute('data-done'), 'true');
    const signIns = await page.locator('#sign-ins').innerText();
    assert.match(signIns, /refused/);
    assert.match(signIns, /success/);
    assert.match(await page.locator('#attention').innerText(), /A dynamically registered tool/);
  });

  it('every page answers 200, fits a phone, passes axe, in light and dark', async () => {
    await page.goto(`${ag.issuer}/admin/users`);
    const userHref = await page.locator(`a:has-text("${USER.email}")`).first().getAttribute('href');
    assert.ok(userHref, 'the users page links the person');
    const pages = {
      home: '/admin',
      servers: '/admin/servers',
      server: '/admin/servers/weather',
      clients: '/admin/clients',
      client: `/admin/clients/view?client_id=${APP.id}`,
      users: '/admin/users',
      user: new URL(userHref, ag.issuer).pathname,
      keys: '/admin/keys',
      audit: '/admin/audit',
      'api-reference': '/admin/api-reference',
      account: '/account',
    };
    const problems = [];
    for (const [name, p] of Object.entries(pages)) {
      for (const [size, viewport] of Object.entries(SIZES)) {
        for (const colorScheme of ['light', 'dark']) {
          const label = `${name} ${size} ${colorScheme}`;
          await page.setViewportSize(viewport);
          await page.emulateMedia({ colorScheme });
          const resp = await page.goto(`${ag.issuer}${p}`);
          assert.equal(resp.status(), 200, `${label}: ${p} answered ${resp.status()}`);
          await page.screenshot({ path: path.join(SCREENS, `${name}-${size}-${colorScheme}.png`), fullPage: true });
          if (size === 'phone') {
            const { scrollWidth, innerWidth } = await page.evaluate(() => ({
              scrollWidth: document.scrollingElement.scrollWidth,
              innerWidth: window.innerWidth,
            }));
            if (scrollWidth > innerWidth + 1) problems.push(`${label}: ${scrollWidth}px wide at ${innerWidth}px`);
          }
          // Runs in the page's world through the DevTools protocol: the
          // pages' script-src 'self' does not apply to it.
          await page.evaluate(AXE);
          const violations = await page.evaluate(async () => {
            const r = await globalThis.axe.run(document, { resultTypes: ['violations'] });
            return r.violations
              .filter((v) => v.impact === 'serious' || v.impact === 'critical')
              .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
          });
          for (const v of violations) problems.push(`${label}: ${v}`);
        }
      }
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  });
});
