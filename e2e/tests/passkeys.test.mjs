// Issue 21: passkeys through Chromium's virtual authenticator (DevTools
// WebAuthn domain: a CTAP2 authenticator with resident keys and user
// verification), never a mocked ceremony. A person registers a passkey on
// the account page, signs out, and then signs in with the passkey alone
// during an OAuth authorization; the code becomes a token for them. An
// assertion the authenticator made for another origin is refused. A new
// passkey is mailed to the person (a real SMTP server, aiosmtpd).
//
// WebAuthn needs a host name as RP id, so this authgate's issuer is
// http://localhost:<port> (a secure context for the browser).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { USER } from '../lib/env.mjs';
import { startAuthgate, weatherResource } from '../lib/authgate.mjs';
import { planWeather } from '../lib/weather.mjs';
import { startCallbackServer } from '../lib/callback.mjs';
import { freePort } from '../lib/ports.mjs';
import { launchBrowser, newPage, screenshotPath, bodyText, signInWithPassword as signIn } from '../lib/browser.mjs';
import { pkce, randomState, authorizationUrl, postForm, decodeJwt } from '../lib/oauth.mjs';
import { startSmtpSink } from '../lib/smtp.mjs';

const CLIENT_ID = 'e2e-passkey-client';

describe('passkeys in a real browser (issue 21)', () => {
  let ag, cb, browser, page, cdp, authenticatorId, resource, issuer, sink;

  before(async () => {
    cb = await startCallbackServer();
    sink = await startSmtpSink();
    resource = (await planWeather()).url;
    const port = await freePort();
    issuer = `http://localhost:${port}`;
    ag = await startAuthgate({
      name: 'authgate-passkeys',
      port,
      extra: {
        issuer,
        smtp: { host: '127.0.0.1', port: sink.port, tls: 'none', from: 'authgate e2e <id@example.test>' },
      },
      resources: [weatherResource(resource)],
      clients: [
        {
          client_id: CLIENT_ID,
          client_name: 'Passkey Test Client',
          token_endpoint_auth_method: 'none',
          redirect_uris: [cb.redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          resources: ['weather'],
        },
      ],
    });
    assert.equal(ag.metadata.issuer, issuer);
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
    cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await ag?.stop();
    await cb?.close();
    await sink?.stop();
  });

  const signInWithPassword = async () => {
    await page.goto(`${issuer}/login`);
    await signIn(page, USER.email, USER.password);
    await page.waitForURL(`${issuer}/account`);
  };

  it('registers a discoverable passkey from the account page', async () => {
    await signInWithPassword();
    await page.getByRole('link', { name: 'Passkeys' }).click();
    await page.waitForURL(`${issuer}/account/passkeys`);
    assert.match(await bodyText(page), /no passkey yet/);
    await page.getByLabel('Name for the new passkey').fill('Test laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.locator('#passkey-notice').waitFor();
    assert.match(await page.locator('#passkey-notice').innerText(), /Test laptop/);
    await page.screenshot({ path: screenshotPath('passkeys-1-registered'), fullPage: true });
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'one credential on the authenticator');
    assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');
    assert.equal(credentials[0].rpId, 'localhost');
    // The person is told by mail.
    const notice = await sink.waitFor(/A passkey was added/);
    assert.deepEqual(notice.rcpt_tos, [USER.email]);
    assert.match(notice.text, /Test laptop/);
    // Renaming is the person's own business, and is checked.
    await page.getByLabel('New name').fill('Work laptop');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.locator('#passkey-notice').waitFor();
    assert.match(await bodyText(page), /Work laptop/);
  });

  it('signs in with the passkey alone during an authorization', async () => {
    // Sign out: the next sign-in starts from nothing.
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
      scope: 'weather:read',
      resource,
    });
    await page.goto(url.toString());
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('button', { name: 'Allow', exact: true }).waitFor();
    await page.screenshot({ path: screenshotPath('passkeys-2-consent-after-passkey'), fullPage: true });
    await Promise.all([
      page.waitForURL((u) => u.toString().startsWith(cb.redirectUri)),
      page.getByRole('button', { name: 'Allow', exact: true }).click(),
    ]);
    const q = (await cb.next()).searchParams;
    assert.equal(q.get('state'), state);
    assert.ok(q.get('code'), `a code: ${q}`);
    const r = await postForm(ag.metadata.token_endpoint, {
      grant_type: 'authorization_code',
      code: q.get('code'),
      redirect_uri: cb.redirectUri,
      client_id: CLIENT_ID,
      code_verifier: p.verifier,
      resource,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const { payload } = decodeJwt(r.body.access_token);
    assert.equal(payload.aud, resource);
    const u = await postForm(ag.metadata.userinfo_endpoint ?? `${issuer}/userinfo`, {}, {
      authorization: `Bearer ${r.body.access_token}`,
    }).catch(() => null);
    if (u && u.status === 200 && u.body.email) assert.equal(u.body.email, USER.email);
    // The passkey's last use is now recorded on the account page.
    await page.goto(`${issuer}/account/passkeys`);
    assert.doesNotMatch(await page.locator('#passkey-list').innerText(), /last used -/);
  });

  it('refuses an assertion made for another origin', async () => {
    await page.goto(`${issuer}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${issuer}/login`);
    // Options from authgate (the ceremony's state goes into this browser's
    // pre-session cookie)…
    const options = await page.evaluate(async () => {
      const f = document.querySelector('#passkey-sign-in');
      const res = await fetch(f.dataset.options, {
        method: 'POST',
        headers: { 'X-CSRF-Token': f.querySelector('input[name=csrf]').value },
      });
      return (await res.json()).publicKey;
    });
    assert.equal(options.rpId, 'localhost');
    // …answered by the same authenticator on another origin (same RP id,
    // another port): clientDataJSON names that origin.
    await page.goto(`http://localhost:${cb.port}/elsewhere`);
    const foreign = await page.evaluate(async (opts) => {
      const cred = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts),
      });
      return JSON.stringify(cred.toJSON());
    }, options);
    const origin = JSON.parse(Buffer.from(JSON.parse(foreign).response.clientDataJSON, 'base64url')).origin;
    assert.equal(origin, `http://localhost:${cb.port}`);
    // Posted back to authgate from its own sign-in page: refused.
    await page.goto(`${issuer}/login`);
    await page.evaluate((c) => {
      const f = document.querySelector('#passkey-sign-in');
      f.querySelector('input[name=credential]').value = c;
      f.submit();
    }, foreign);
    await page.waitForLoadState();
    const text = await bodyText(page);
    assert.match(text, /Passkey sign-in failed/, text);
    assert.doesNotMatch(page.url(), /account/);
    const me = await page.goto(`${issuer}/account`);
    assert.equal(new URL(page.url()).pathname, '/login', `not signed in (${me.status()})`);
  });

  it('asks a person with a passkey for it after the password (second factor)', async () => {
    await page.goto(`${issuer}/login`);
    await signIn(page, USER.email, USER.password);
    await page.waitForURL((u) => u.pathname === '/login/mfa');
    const stepUrl = page.url();
    // Half signed in: the account page is out of reach.
    await page.goto(`${issuer}/account`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.goto(stepUrl);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${issuer}/account`);
  });

  it('removes the passkey, after which it signs nobody in', async () => {
    // Signed in (password and passkey) by the test before.
    await page.goto(`${issuer}/account/passkeys`);
    await page.getByRole('button', { name: /^Remove/ }).click();
    await page.locator('#passkey-notice').waitFor();
    assert.match(await bodyText(page), /no passkey yet/);
    await page.goto(`${issuer}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${issuer}/login`);
    await page.goto(`${issuer}/login`);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForLoadState();
    await page.getByText('Passkey sign-in failed').waitFor();
    assert.match(await bodyText(page), /not registered here/);
  });
});

// A person for whom MFA is required and who has no second factor yet
// enrols a passkey on the sign-in's second step (next to the
// authenticator app), is shown recovery codes once, and the sign-in goes
// on to consent and a code; the next sign-in asks for that passkey after
// the password.
describe('a passkey enrolled as the required second factor at sign-in', () => {
  let ag, cb, browser, page, cdp, authenticatorId, resource, issuer;

  before(async () => {
    cb = await startCallbackServer();
    resource = (await planWeather()).url;
    const port = await freePort();
    issuer = `http://localhost:${port}`;
    ag = await startAuthgate({
      name: 'authgate-mfa-passkey',
      port,
      extra: { issuer, mfa: { required: true } },
      resources: [weatherResource(resource)],
      clients: [
        {
          client_id: CLIENT_ID,
          client_name: 'Passkey Test Client',
          token_endpoint_auth_method: 'none',
          redirect_uris: [cb.redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          resources: ['weather'],
        },
      ],
    });
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
    cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    }));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await ag?.stop();
    await cb?.close();
  });

  it('enrols a passkey on the forced step, then recovery codes, consent and a code; the next sign-in asks for it', async () => {
    const p = pkce();
    const state = randomState();
    const url = authorizationUrl(ag.metadata, {
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: cb.redirectUri,
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
      state,
      scope: 'weather:read',
      resource,
    });
    await page.goto(url.toString());
    await signIn(page, USER.email, USER.password);
    await page.waitForURL((u) => u.pathname === '/login/mfa');
    // Both ways to enrol are offered.
    await page.locator('#mfa-enrol').waitFor();
    await page.screenshot({ path: screenshotPath('passkeys-mfa-1-enrol-step'), fullPage: true });
    await page.getByLabel('Name for the new passkey').fill('Test laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    // The recovery codes, shown once, then on to consent.
    await page.locator('#recovery-codes').waitFor();
    assert.equal(await page.locator('#recovery-codes li').count(), 10);
    await page.screenshot({ path: screenshotPath('passkeys-mfa-2-recovery-codes'), fullPage: true });
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'one credential on the authenticator');
    await page.locator('#mfa-continue').click();
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
    const { payload } = decodeJwt(r.body.access_token);
    assert.equal(payload.amr[0], 'pwd', JSON.stringify(payload));
    assert.ok(['hwk', 'swk'].includes(payload.amr[1]), JSON.stringify(payload));
    assert.equal(payload.amr[2], 'mfa', JSON.stringify(payload));

    // Signed out, the password alone is not enough any more: the step
    // asks for the passkey, with nothing left to enrol.
    await page.goto(`${issuer}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${issuer}/login`);
    await signIn(page, USER.email, USER.password);
    await page.waitForURL((u) => u.pathname === '/login/mfa');
    assert.equal(await page.locator('#mfa-passkey-enrol').count(), 0);
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await page.waitForURL(`${issuer}/account`);
  });
});
