// Issue 3: the authorization code flow for people, in a real browser.
// Chromium (driven by playwright-core) walks /authorize → sign-in → consent →
// redirect; the test plays the client: it exchanges the code with its PKCE
// verifier, refreshes (rotation and the grace window), is denied, and finally
// the person revokes the app from Connected apps.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { USER } from '../lib/env.mjs';
import { startAuthgate, weatherResource } from '../lib/authgate.mjs';
import { planWeather } from '../lib/weather.mjs';
import { startCallbackServer } from '../lib/callback.mjs';
import { launchBrowser, newPage, authorizeInBrowser, screenshotPath, bodyText } from '../lib/browser.mjs';
import { pkce, randomState, authorizationUrl, postForm, decodeJwt, scopeSet } from '../lib/oauth.mjs';

const CLIENT_ID = 'e2e-browser';
const CLIENT_NAME = 'E2E Browser Client';
// A confidential client standing in for a resource server that introspects.
const INTROSPECTOR = { id: 'e2e-introspector', secret: 'introspector-secret-0123456789abcdef' };

describe('authorization code flow in a real browser (issue 3)', () => {
  let ag, cb, browser, page, resource;
  // Carried from one step to the next (the steps run in order).
  const flow = {};

  before(async () => {
    cb = await startCallbackServer();
    resource = (await planWeather()).url; // only its URL matters here
    ag = await startAuthgate({
      name: 'authgate-browser',
      resources: [weatherResource(resource)],
      clients: [
        {
          client_id: CLIENT_ID,
          client_name: CLIENT_NAME,
          token_endpoint_auth_method: 'none',
          redirect_uris: [cb.redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          resources: ['weather'],
        },
        {
          client_id: INTROSPECTOR.id,
          client_name: 'E2E Introspector',
          client_secret: INTROSPECTOR.secret,
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['client_credentials'],
          // Listing weather makes it weather's resource server at /introspect.
          resources: ['weather'],
        },
      ],
    });
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await ag?.stop();
    await cb?.close();
  });

  const authorize = (extra = {}) => {
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
      ...extra,
    });
    return { url, state, pkce: p };
  };

  const token = (form) => postForm(ag.metadata.token_endpoint, form);
  const introspect = (tok) =>
    postForm(ag.metadata.introspection_endpoint, { token: tok }, {
      authorization: `Basic ${Buffer.from(`${INTROSPECTOR.id}:${INTROSPECTOR.secret}`).toString('base64')}`,
    });

  it('publishes metadata the flow relies on', () => {
    assert.equal(ag.metadata.issuer, ag.issuer);
    assert.deepEqual(ag.metadata.code_challenge_methods_supported, ['S256']);
    assert.equal(ag.metadata.authorization_response_iss_parameter_supported, true);
    assert.ok(ag.metadata.authorization_endpoint.startsWith(ag.issuer));
  });

  it('signs in, consents, and is redirected with code, state and iss', async () => {
    const req = authorize();
    const seen = await authorizeInBrowser(page, req.url, {
      redirectUri: cb.redirectUri,
      user: USER,
      decision: 'allow',
      shots: { signIn: 'browser-flow-1-sign-in', consent: 'browser-flow-2-consent' },
      expectConsent: true,
    });
    assert.ok(seen.signIn, 'the sign-in page was shown');
    assert.ok(seen.consent, 'the consent page was shown');
    // The consent page names the client, the MCP server and the scope.
    assert.match(seen.consentText, new RegExp(CLIENT_NAME));
    assert.match(seen.consentText, /Weather/);
    assert.match(seen.consentText, /weather:read|Read forecasts/);

    const cbUrl = await cb.next();
    assert.equal(cbUrl.toString(), seen.url.toString(), 'the callback server got what the browser reached');
    const q = cbUrl.searchParams;
    assert.equal(q.get('error'), null, `no error: ${q.get('error')} ${q.get('error_description')}`);
    assert.ok(q.get('code'), 'code present');
    assert.equal(q.get('state'), req.state, 'state echoed');
    assert.equal(q.get('iss'), ag.issuer, 'iss (RFC 9207) equals the issuer');
    flow.code = q.get('code');
    flow.verifier = req.pkce.verifier;

    // The session cookie as the browser holds it.
    const cookies = await page.context().cookies(ag.issuer);
    assert.ok(cookies.length >= 1, 'a session cookie');
    for (const c of cookies) {
      assert.equal(c.httpOnly, true, `${c.name} is HttpOnly`);
      assert.equal(c.sameSite, 'Lax', `${c.name} is SameSite=Lax`);
    }
  });

  it('exchanges the code with the PKCE verifier', async () => {
    assert.ok(flow.code, 'previous step gave a code');
    const r = await token({
      grant_type: 'authorization_code',
      code: flow.code,
      redirect_uri: cb.redirectUri,
      client_id: CLIENT_ID,
      code_verifier: flow.verifier,
      resource,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.headers.get('cache-control') ?? '', /no-store/);
    assert.equal(r.body.token_type, 'Bearer');
    assert.equal(typeof r.body.expires_in, 'number');
    assert.ok(r.body.expires_in > 0);
    assert.equal(typeof r.body.refresh_token, 'string');
    assert.ok(r.body.refresh_token.length >= 20);
    const { header, payload } = decodeJwt(r.body.access_token);
    assert.equal(header.typ?.toLowerCase(), 'at+jwt');
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    assert.deepEqual(aud, [resource], 'aud is the MCP server');
    assert.equal(payload.iss, ag.issuer);
    assert.ok(scopeSet(payload.scope).has('weather:read'), `scope claim: ${payload.scope}`);
    assert.ok(payload.exp > Date.now() / 1000);
    flow.refresh1 = r.body.refresh_token;
    flow.access1 = r.body.access_token;
  });

  it('refuses to redeem the same code twice', async () => {
    const r = await token({
      grant_type: 'authorization_code',
      code: flow.code,
      redirect_uri: cb.redirectUri,
      client_id: CLIENT_ID,
      code_verifier: flow.verifier,
      resource,
    });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error, 'invalid_grant');
  });

  it('refreshes with rotation; a replay within the grace window gets the same successor', async () => {
    // The code replay above revokes the tokens issued from that code, so get a
    // fresh grant first (consent is remembered: no consent page this time).
    const req = authorize();
    const seen = await authorizeInBrowser(page, req.url, { redirectUri: cb.redirectUri, user: USER });
    assert.equal(seen.signIn, false, 'still signed in (session cookie)');
    assert.equal(seen.consent, false, 'consent remembered for the same scopes');
    const q = (await cb.next()).searchParams;
    assert.equal(q.get('state'), req.state);
    assert.equal(q.get('iss'), ag.issuer);
    const first = await token({
      grant_type: 'authorization_code',
      code: q.get('code'),
      redirect_uri: cb.redirectUri,
      client_id: CLIENT_ID,
      code_verifier: req.pkce.verifier,
      resource,
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const r1 = first.body.refresh_token;

    const a = await token({ grant_type: 'refresh_token', refresh_token: r1, client_id: CLIENT_ID });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.body.token_type, 'Bearer');
    assert.equal(typeof a.body.expires_in, 'number');
    assert.ok(a.body.refresh_token, 'a new refresh token');
    assert.notEqual(a.body.refresh_token, r1, 'rotated');
    const aud = decodeJwt(a.body.access_token).payload.aud;
    assert.deepEqual(Array.isArray(aud) ? aud : [aud], [resource], 'refresh keeps the resource');

    // The same old token again, inside the grace window (parallel refreshes).
    const b = await token({ grant_type: 'refresh_token', refresh_token: r1, client_id: CLIENT_ID });
    assert.equal(b.status, 200, JSON.stringify(b.body));
    assert.equal(b.body.refresh_token, a.body.refresh_token, 'the same successor');

    // The successor works and rotates again.
    const c = await token({ grant_type: 'refresh_token', refresh_token: a.body.refresh_token, client_id: CLIENT_ID });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    assert.notEqual(c.body.refresh_token, a.body.refresh_token);
    flow.liveRefresh = c.body.refresh_token;
    flow.liveAccess = c.body.access_token;
  });

  it('Deny returns access_denied with state and iss', async () => {
    // New scopes are asked for again, so the consent page shows.
    const req = authorize({ scope: 'weather:read weather:write' });
    const seen = await authorizeInBrowser(page, req.url, {
      redirectUri: cb.redirectUri,
      user: USER,
      decision: 'deny',
      shots: { consent: 'browser-flow-3-consent-new-scope' },
      expectConsent: true,
    });
    assert.match(seen.consentText, /weather:write|Set weather alerts/);
    const q = (await cb.next()).searchParams;
    assert.equal(q.get('error'), 'access_denied');
    assert.equal(q.get('code'), null);
    assert.equal(q.get('state'), req.state);
    assert.equal(q.get('iss'), ag.issuer);
  });

  it('Connected apps lists the app; Revoke makes its refresh token fail with invalid_grant', async () => {
    assert.ok(flow.liveRefresh, 'previous step gave a refresh token');
    const before = await introspect(flow.liveAccess);
    assert.equal(before.status, 200, JSON.stringify(before.body));
    assert.equal(before.body.active, true, 'the access token is active before the revocation');
    await page.goto(`${ag.issuer}/account`);
    const item = page.getByRole('listitem').filter({ hasText: CLIENT_NAME });
    await item.waitFor();
    assert.match(await item.innerText(), /Weather/);
    await page.screenshot({ path: screenshotPath('browser-flow-4-connected-apps'), fullPage: true });
    await Promise.all([page.waitForLoadState(), item.getByRole('button', { name: 'Revoke' }).click()]);
    await page.waitForFunction((name) => !document.body.innerText.includes(name) || document.querySelector('[role=status]'), CLIENT_NAME);
    await page.screenshot({ path: screenshotPath('browser-flow-5-revoked'), fullPage: true });
    assert.equal(await page.getByRole('listitem').filter({ hasText: CLIENT_NAME }).count(), 0, `still listed:\n${await bodyText(page)}`);

    const r = await token({ grant_type: 'refresh_token', refresh_token: flow.liveRefresh, client_id: CLIENT_ID });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.error, 'invalid_grant');
    const after = await introspect(flow.liveAccess);
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(after.body.active, false, 'the access token fails introspection after the revocation');
  });

  it('Sign out ends the session: /authorize shows the sign-in page again', async () => {
    await page.goto(`${ag.issuer}/account`);
    await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: 'Sign out', exact: true }).click()]);
    const req = authorize();
    await page.goto(req.url.toString());
    // The sign-in page's first step asks for the email.
    await page.getByLabel('Email', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Continue', exact: true }).waitFor();
  });
});
