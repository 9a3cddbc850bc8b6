// Issue 21, part 2: two-step verification with an authenticator app in a
// real browser, the codes computed by pyotp (PyPI) from the otpauth:// URI
// the page shows — never by authgate's own TOTP code. A person sets up the
// app on /account/mfa, signs out, and signs in through an MCP client's
// /authorize with the password and a code; the token says `otp` and `mfa`
// in `amr`. A wrong code and a code used twice are refused, and consent is
// out of reach while the second step is owed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { USER } from '../lib/env.mjs';
import { startAuthgate, weatherResource } from '../lib/authgate.mjs';
import { planWeather } from '../lib/weather.mjs';
import { startCallbackServer } from '../lib/callback.mjs';
import { launchBrowser, newPage, screenshotPath, bodyText, signInWithPassword } from '../lib/browser.mjs';
import { pkce, randomState, authorizationUrl, postForm, decodeJwt } from '../lib/oauth.mjs';
import { totpCode } from '../lib/totp.mjs';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Serious or critical axe-core violations on the page as it is now. */
async function axeProblems(page) {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await globalThis.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
  });
}

const CLIENT_ID = 'e2e-mfa-client';

describe('two-step verification with an authenticator app (issue 21)', () => {
  let ag, cb, browser, page, resource, issuer, uri, recoveryCodes;

  before(async () => {
    cb = await startCallbackServer();
    resource = (await planWeather()).url;
    ag = await startAuthgate({
      name: 'authgate-mfa',
      resources: [weatherResource(resource)],
      clients: [
        {
          client_id: CLIENT_ID,
          client_name: 'MFA Test Client',
          token_endpoint_auth_method: 'none',
          redirect_uris: [cb.redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          resources: ['weather'],
        },
      ],
    });
    issuer = ag.metadata.issuer;
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await ag?.stop();
    await cb?.close();
  });

  it('sets up an authenticator app on the account page', async () => {
    await page.goto(`${issuer}/login`);
    await signInWithPassword(page, USER.email, USER.password);
    await page.waitForURL(`${issuer}/account`);
    await page.getByRole('link', { name: 'Two-step verification' }).click();
    await page.waitForURL(`${issuer}/account/mfa`);
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
    await qr.waitFor();
    // The QR code is an SVG image the page's CSP allows (it rendered).
    assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code rendered');
    await page.locator('details summary', { hasText: 'Setup link' }).click();
    uri = (await page.locator('#totp-uri').innerText()).trim();
    assert.match(uri, /^otpauth:\/\/totp\/.+\?secret=[A-Z2-7]+/);
    const key = (await page.locator('#totp-secret').innerText()).replace(/\s+/g, '');
    assert.equal(new URL(uri).searchParams.get('secret'), key, 'the key shown is the URI\'s');
    await page.screenshot({ path: screenshotPath('mfa-1-enrol'), fullPage: true });
    assert.deepEqual(await axeProblems(page), [], 'the enrolment page passes axe');
    await page.getByLabel('Code from your authenticator app').fill(await totpCode(uri));
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    await page.locator('#recovery-codes').waitFor();
    recoveryCodes = (await page.locator('#recovery-codes code').allInnerTexts()).map((c) => c.trim());
    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
    await page.screenshot({ path: screenshotPath('mfa-2-recovery-codes'), fullPage: true });
  });

  it('signs in through /authorize with the password and a code; amr says otp and mfa', async () => {
    await page.goto(`${issuer}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${issuer}/login`);

    const p = pkce();
    const state = randomState();
    const url = authorizationUrl(ag.metadata, {
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: cb.redirectUri,
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
      state,
      scope: 'openid weather:read',
      nonce: 'mfa-nonce',
      resource,
    });
    await page.goto(url.toString());
    await signInWithPassword(page, USER.email, USER.password);
    await page.waitForURL((u) => u.pathname === '/login/mfa');
    const stepUrl = page.url();
    await page.screenshot({ path: screenshotPath('mfa-3-second-step'), fullPage: true });
    assert.deepEqual(await axeProblems(page), [], 'the second step passes axe');

    // Half signed in: consent is out of reach.
    const rid = new URL(stepUrl).searchParams.get('r');
    await page.goto(`${issuer}/consent?r=${encodeURIComponent(rid)}`);
    assert.notEqual(new URL(page.url()).pathname, '/consent', 'no consent page while the code is owed');
    await page.goto(`${issuer}/account`);
    assert.notEqual(new URL(page.url()).pathname, '/account', 'no account page either');

    // A wrong code is refused.
    await page.goto(stepUrl);
    const right = await totpCode(uri, 1);
    await page.getByLabel('Code from your authenticator app').fill(right === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('#mfa-error').waitFor();
    assert.match(await page.locator('#mfa-error').innerText(), /not correct/);

    // The next step's code (the current one confirmed the app).
    await page.getByLabel('Code from your authenticator app').fill(right);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('button', { name: 'Allow', exact: true }).waitFor();
    await Promise.all([
      page.waitForURL((u) => u.toString().startsWith(cb.redirectUri)),
      page.getByRole('button', { name: 'Allow', exact: true }).click(),
    ]);
    const q = (await cb.next()).searchParams;
    assert.equal(q.get('state'), state);
    const r = await postForm(ag.metadata.token_endpoint, {
      grant_type: 'authorization_code',
      code: q.get('code'),
      redirect_uri: cb.redirectUri,
      client_id: CLIENT_ID,
      code_verifier: p.verifier,
      resource,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const at = decodeJwt(r.body.access_token).payload;
    assert.deepEqual(at.amr, ['pwd', 'otp', 'mfa'], JSON.stringify(at));
    assert.equal(at.aud, resource);
    const id = decodeJwt(r.body.id_token).payload;
    assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa'], JSON.stringify(id));
    assert.equal(id.nonce, 'mfa-nonce');

    // The same code once more (another sign-in): refused.
    await page.goto(`${issuer}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${issuer}/login`);
    await signInWithPassword(page, USER.email, USER.password);
    await page.waitForURL((u) => u.pathname === '/login/mfa');
    await page.getByLabel('Code from your authenticator app').fill(right);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('#mfa-error').waitFor();
    assert.match(await bodyText(page), /already used/);
  });

  it('a recovery code signs in once', async () => {
    await page.goto(`${issuer}/login`);
    await signInWithPassword(page, USER.email, USER.password);
    await page.waitForURL((u) => u.pathname === '/login/mfa');
    await page.locator('details summary', { hasText: 'recovery code' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[0]);
    await page.getByRole('button', { name: 'Use this recovery code' }).click();
    await page.waitForURL(`${issuer}/account`);
    await page.goto(`${issuer}/account/mfa`);
    assert.match(await page.locator('#mfa-status').innerText(), /Recovery codes left: 9/);
    await page.goto(`${issuer}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${issuer}/login`);
    await signInWithPassword(page, USER.email, USER.password);
    await page.waitForURL((u) => u.pathname === '/login/mfa');
    await page.locator('details summary', { hasText: 'recovery code' }).click();
    await page.getByLabel('Recovery code').fill(recoveryCodes[0]);
    await page.getByRole('button', { name: 'Use this recovery code' }).click();
    await page.locator('#mfa-error').waitFor();
    assert.match(await bodyText(page), /not correct/);
  });
});
