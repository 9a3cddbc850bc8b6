// Issue 21 part 5: every person-facing page, looked at in both languages.
// A person starts an authorization (sign-in page), signs in (consent page),
// allows (connected apps page), and opens an expired request (error page).
// Each page is opened at desktop (1280x800) and phone (390x844) width, in
// light and dark, in English and French (chosen by Accept-Language), and
// must answer as expected, speak the language (<html lang> and a known
// phrase), fit the phone's width, and have no serious or critical axe-core
// violation. Screenshots go to e2e/screenshots/pages/.
//
// Adding a person page: add one entry to PAGES (how to reach it, and a
// phrase it shows in each language).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { E2E_DIR, USER } from '../lib/env.mjs';
import { startAuthgate, weatherResource } from '../lib/authgate.mjs';
import { planWeather } from '../lib/weather.mjs';
import { launchBrowser, newPage, signInWithPassword } from '../lib/browser.mjs';
import { authorizationUrl, pkce, randomState } from '../lib/oauth.mjs';
import { startSmtpSink } from '../lib/smtp.mjs';
import { totpCode } from '../lib/totp.mjs';

const APP = { id: 'e2e-pages-app', name: 'Pages App', redirect: 'http://127.0.0.1:9/callback' };

/** Every person page: `path(ctx)` gives its address once the flow reached it. */
const PAGES = [
  { name: 'login', path: (c) => c.login, status: 200, phrase: { en: 'Sign in', fr: 'Se connecter' } },
  { name: 'consent', path: (c) => c.consent, status: 200, phrase: { en: 'Registered by your administrator', fr: 'Enregistrée par votre administrateur' } },
  { name: 'account', path: () => '/account', status: 200, phrase: { en: 'Connected apps', fr: 'Applications connectées' } },
  { name: 'account-mfa', path: () => '/account/mfa', status: 200, phrase: { en: 'Two-step verification', fr: 'Validation en deux étapes' } },
  { name: 'error', path: () => '/consent?r=no-such-request', status: 400, phrase: { en: 'This request expired', fr: 'Cette demande a expiré' } },
  { name: 'account-passkeys', path: () => '/account/passkeys', status: 200, phrase: { en: 'Passkeys', fr: "Clés d'accès" } },
  { name: 'password-forgot', path: () => '/password/forgot', status: 200, phrase: { en: 'Forgot your password?', fr: 'Mot de passe oublié ?' } },
  // The second sign-in step (reached last: it needs an authenticator app
  // set up, then a new sign-in).
  { name: 'login-mfa', path: (c) => c.mfaStep, status: 200, phrase: { en: 'Now confirm it is you with your second factor', fr: 'Confirmez maintenant votre identité avec votre second facteur' } },
  // The two pages a mailed link opens (read from the real SMTP server;
  // opening them spends nothing: only their form's POST does).
  { name: 'password-reset', path: (c) => c.resetLink, status: 200, phrase: { en: 'Set your password', fr: 'Choisissez votre mot de passe' } },
  { name: 'email-verify', path: (c) => c.verifyLink, status: 200, phrase: { en: 'Confirm your email address', fr: 'Confirmez votre adresse e-mail' } },
];

const SCREENS = path.join(E2E_DIR, 'screenshots', 'pages');
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

describe('person pages in English and French, light and dark, desktop and phone (issue 21)', () => {
  let ag, sink, browser, page, context;
  const ctx = {};

  before(async () => {
    fs.mkdirSync(SCREENS, { recursive: true });
    sink = await startSmtpSink();
    const planned = await planWeather();
    ctx.resource = planned.url;
    ag = await startAuthgate({
      name: 'authgate-pages',
      resources: [weatherResource(planned.url)],
      clients: [
        {
          client_id: APP.id,
          client_name: APP.name,
          token_endpoint_auth_method: 'none',
          redirect_uris: [APP.redirect],
          grant_types: ['authorization_code', 'refresh_token'],
          resources: ['weather'],
        },
      ],
      extra: {
        primary_color: '#1a56b0',
        primary_color_dark: '#8ab4f8',
        smtp: { host: '127.0.0.1', port: sink.port, tls: 'none', from: 'authgate e2e <id@example.test>', retry_base_secs: 1 },
      },
    });
    browser = await launchBrowser();
    ({ page, context } = await newPage(browser));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await ag?.stop();
    await sink?.stop();
  });

  async function look(p, where) {
    const problems = [];
    for (const lang of ['en', 'fr']) {
      await context.setExtraHTTPHeaders({ 'accept-language': lang === 'fr' ? 'fr-FR,fr;q=0.9,en;q=0.5' : 'en-US,en;q=0.9' });
      for (const [size, viewport] of Object.entries(SIZES)) {
        for (const colorScheme of ['light', 'dark']) {
          const label = `${p.name} ${lang} ${size} ${colorScheme}`;
          await page.setViewportSize(viewport);
          await page.emulateMedia({ colorScheme });
          const resp = await page.goto(`${ag.issuer}${where}`);
          if (resp.status() !== p.status) problems.push(`${label}: ${where} answered ${resp.status()}`);
          await page.screenshot({ path: path.join(SCREENS, `${p.name}-${lang}-${size}-${colorScheme}.png`), fullPage: true });
          const htmlLang = await page.locator('html').getAttribute('lang');
          if (htmlLang !== lang) problems.push(`${label}: <html lang="${htmlLang}">`);
          const text = await page.locator('body').innerText();
          if (!text.includes(p.phrase[lang])) problems.push(`${label}: does not show "${p.phrase[lang]}"`);
          if (size === 'phone') {
            const { scrollWidth, innerWidth } = await page.evaluate(() => ({
              scrollWidth: document.scrollingElement.scrollWidth,
              innerWidth: window.innerWidth,
            }));
            if (scrollWidth > innerWidth + 1) problems.push(`${label}: ${scrollWidth}px wide at ${innerWidth}px`);
          }
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
    await context.setExtraHTTPHeaders({});
    return problems;
  }

  it('every person page, in both languages, light and dark, passes axe', async () => {
    const problems = [];
    const byName = Object.fromEntries(PAGES.map((p) => [p.name, p]));
    const { challenge } = pkce();
    const url = authorizationUrl(ag.metadata, {
      response_type: 'code',
      client_id: APP.id,
      redirect_uri: APP.redirect,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: randomState(),
      resource: ctx.resource,
    });
    await page.goto(url.toString());
    await page.waitForURL(/\/login\?r=/);
    ctx.login = new URL(page.url()).pathname + new URL(page.url()).search;
    problems.push(...(await look(byName.login, ctx.login)));

    await page.goto(`${ag.issuer}${ctx.login}`);
    await signInWithPassword(page, USER.email, USER.password);
    await page.waitForURL(/\/consent\?r=/);
    ctx.consent = new URL(page.url()).pathname + new URL(page.url()).search;
    problems.push(...(await look(byName.consent, ctx.consent)));

    // The consent page names the app, its host and how it is identified.
    await page.goto(`${ag.issuer}${ctx.consent}`);
    const consentText = await page.locator('main').innerText();
    assert.match(consentText, /Pages App/);
    assert.match(consentText, /127\.0\.0\.1/);
    const seen = page.waitForRequest((r) => r.url().startsWith(APP.redirect));
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await seen;

    // The links of the two mailed pages: a verification asked for on the
    // account page, and a reset asked for on "Forgot your password?".
    // (In a second tab: the first is still leaving for the app's
    // unreachable redirect URI.)
    const tab = await context.newPage();
    const linkIn = (mail, part) => {
      const u = new URL(mail.text.split(/\s+/).find((w) => w.includes(part)));
      return u.pathname + u.search;
    };
    await tab.goto(`${ag.issuer}/account`);
    await tab.locator('#verify-email').click();
    ctx.verifyLink = linkIn(await sink.waitFor(/Confirm your email address/), '/email/verify?token=');
    await tab.goto(`${ag.issuer}/password/forgot`);
    await tab.getByLabel('Email').fill(USER.email);
    await tab.getByRole('button', { name: 'Send me a link' }).click();
    ctx.resetLink = linkIn(await sink.waitFor(/Reset your password/), '/password/reset?token=');
    await tab.close();
    await page.waitForLoadState().catch(() => {});

    for (const p of PAGES.filter((p) => !['login', 'consent', 'login-mfa'].includes(p.name))) {
      problems.push(...(await look(p, p.path(ctx))));
    }

    // An authenticator app, then a new sign-in: the second step.
    await page.goto(`${ag.issuer}/account/mfa`);
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.locator('details summary', { hasText: 'Setup link' }).click();
    const uri = (await page.locator('#totp-uri').innerText()).trim();
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(uri));
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    await page.locator('#recovery-codes').waitFor();
    await page.goto(`${ag.issuer}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(/\/login/);
    await page.goto(`${ag.issuer}/login`);
    await signInWithPassword(page, USER.email, USER.password);
    await page.waitForURL((u) => u.pathname === '/login/mfa');
    ctx.mfaStep = new URL(page.url()).pathname + new URL(page.url()).search;
    problems.push(...(await look(byName['login-mfa'], ctx.mfaStep)));
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  it('serves the operator colours as a stylesheet', async () => {
    const r = await fetch(`${ag.issuer}/assets/brand.css`);
    assert.equal(r.status, 200);
    const css = await r.text();
    assert.match(css, /--accent:#1a56b0/);
    assert.match(css, /--accent:#8ab4f8/);
  });
});
