// OIDC correctness (issue #17): openid-client 6, a strict certified OIDC
// relying party, drives the authorization code flow against authgate —
// discovery, PKCE, sign-in and consent in Chromium, the code grant with ID
// token validation (RS256, the OIDC default, since the client registers no
// id_token_signed_response_alg), userinfo, refresh, and refresh-token reuse
// detection. authgate listens on plain http on loopback, which openid-client
// allows only with `allowInsecureRequests`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { USER } from '../lib/env.mjs';
import { startAuthgate, weatherResource } from '../lib/authgate.mjs';
import { planWeather } from '../lib/weather.mjs';
import { startCallbackServer } from '../lib/callback.mjs';
import { launchBrowser, newPage, authorizeInBrowser } from '../lib/browser.mjs';
import { decodeJwt } from '../lib/oauth.mjs';

const CLIENT_ID = 'e2e-openid-client';
// Short, so the test can wait it out: a rotated refresh token presented
// again after this window revokes the grant.
const GRACE_SECS = 1;

describe('openid-client 6 (strict) against authgate', () => {
  let ag, cb, browser, page, resource, config;
  // Carried from one step to the next (the steps run in order).
  const flow = {};

  before(async () => {
    cb = await startCallbackServer();
    resource = (await planWeather()).url; // only its URL matters here
    ag = await startAuthgate({
      name: 'authgate-openid-client',
      resources: [weatherResource(resource)],
      clients: [
        {
          client_id: CLIENT_ID,
          client_name: 'E2E openid-client',
          token_endpoint_auth_method: 'none',
          redirect_uris: [cb.redirectUri],
          grant_types: ['authorization_code', 'refresh_token'],
          resources: ['weather'],
        },
      ],
      extra: { refresh_grace_secs: GRACE_SECS },
    });
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await ag?.stop();
    await cb?.close();
  });

  it('discovers authgate as an OpenID provider', async () => {
    config = await oidc.discovery(
      new URL(ag.issuer),
      CLIENT_ID,
      { token_endpoint_auth_method: 'none' },
      oidc.None(),
      { execute: [oidc.allowInsecureRequests] },
    );
    const m = config.serverMetadata();
    assert.equal(m.issuer, ag.issuer);
    assert.ok(m.id_token_signing_alg_values_supported.includes('RS256'), 'OIDC Discovery requires RS256');
    assert.ok(m.code_challenge_methods_supported.includes('S256'));
  });

  it('runs the strict authorization code flow with PKCE and validates the RS256 ID token', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const challenge = await oidc.calculatePKCECodeChallenge(verifier);
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: cb.redirectUri,
      scope: 'openid email weather:read',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      nonce,
      resource,
    });
    const seen = await authorizeInBrowser(page, url, { redirectUri: cb.redirectUri, user: USER, expectConsent: true });
    assert.ok(seen.signIn && seen.consent, 'signed in and consented');
    const callback = await cb.next();
    assert.equal(callback.searchParams.get('iss'), ag.issuer, 'RFC 9207 iss in the response');

    const tokens = await oidc.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true },
      { resource },
    );
    // openid-client has verified the ID token's signature against the JWKS,
    // its iss, aud, exp, iat and nonce, and the expected algorithm (RS256).
    const idHeader = decodeJwt(tokens.id_token).header;
    assert.equal(idHeader.alg, 'RS256');
    const claims = tokens.claims();
    assert.equal(claims.iss, ag.issuer);
    assert.equal(claims.aud, CLIENT_ID);
    assert.equal(claims.nonce, nonce);
    assert.equal(claims.email, USER.email);
    // Access tokens keep the configured algorithm (ES256), for the MCP server.
    const at = decodeJwt(tokens.access_token);
    assert.equal(at.header.alg, 'ES256');
    assert.equal(at.payload.aud, resource);
    assert.ok(tokens.refresh_token, 'a refresh token');
    flow.sub = claims.sub;
    flow.tokens = tokens;
  });

  it('fetches userinfo for the same subject', async () => {
    const info = await oidc.fetchUserInfo(config, flow.tokens.access_token, flow.sub);
    assert.equal(info.sub, flow.sub);
    assert.equal(info.email, USER.email);
  });

  it('refreshes, rotating the refresh token', async () => {
    const refreshed = await oidc.refreshTokenGrant(config, flow.tokens.refresh_token, { resource });
    assert.ok(refreshed.access_token);
    assert.ok(refreshed.refresh_token);
    assert.notEqual(refreshed.refresh_token, flow.tokens.refresh_token, 'rotated');
    const info = await oidc.fetchUserInfo(config, refreshed.access_token, flow.sub);
    assert.equal(info.sub, flow.sub);
    flow.refreshed = refreshed;
  });

  it('detects refresh-token reuse after the grace window and revokes the grant', async () => {
    await new Promise((r) => setTimeout(r, GRACE_SECS * 1000 + 1100));
    // The first refresh token, already rotated, presented again: a replay.
    await assert.rejects(
      oidc.refreshTokenGrant(config, flow.tokens.refresh_token, { resource }),
      (e) => {
        assert.ok(e instanceof oidc.ResponseBodyError, `${e}`);
        assert.equal(e.error, 'invalid_grant');
        return true;
      },
    );
    // The whole grant is gone: the newest refresh token too ...
    await assert.rejects(
      oidc.refreshTokenGrant(config, flow.refreshed.refresh_token, { resource }),
      (e) => {
        assert.ok(e instanceof oidc.ResponseBodyError, `${e}`);
        assert.equal(e.error, 'invalid_grant');
        return true;
      },
    );
    // ... and the access tokens issued under it.
    await assert.rejects(oidc.fetchUserInfo(config, flow.refreshed.access_token, flow.sub));
  });
});
