// What an MCP host brings to the official TypeScript SDK: an in-memory
// OAuthClientProvider (the same shape for the v1 `@modelcontextprotocol/sdk`
// and the v2 `@modelcontextprotocol/client`) whose redirectToAuthorization
// opens the authorization URL in the Playwright-driven browser, and a fetch
// that records every HTTP exchange so a test can check what went over the wire.
import crypto from 'node:crypto';
import { authorizeInBrowser } from './browser.mjs';

/**
 * @param {object} opts
 * @param {string} opts.redirectUrl            the loopback callback URL
 * @param {string} opts.clientName
 * @param {string} [opts.clientMetadataUrl]    CIMD: the client's https client_id
 * @param {(url: URL) => Promise<URL>} opts.openBrowser  drives the browser; resolves with the callback URL
 */
export class TestOAuthProvider {
  constructor({ redirectUrl, clientName, clientMetadataUrl, openBrowser }) {
    this._redirectUrl = redirectUrl;
    this._clientName = clientName;
    if (clientMetadataUrl) this.clientMetadataUrl = clientMetadataUrl;
    this._openBrowser = openBrowser;
    this._client = undefined;
    this._tokens = undefined;
    this._verifier = undefined;
    this._discovery = undefined;
    this.lastState = undefined;
    /** Every authorization URL the SDK asked the host to open. */
    this.authorizationUrls = [];
    /** Every token set the SDK saved, in order. */
    this.savedTokens = [];
    /** Every client registration the SDK saved. */
    this.savedClients = [];
    this.invalidated = [];
    /** The browser run for the latest authorization URL (resolves with the callback URL). */
    this.pendingAuthorization = undefined;
  }

  get redirectUrl() {
    return this._redirectUrl;
  }

  get clientMetadata() {
    return {
      client_name: this._clientName,
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this.lastState = crypto.randomBytes(16).toString('base64url');
    return this.lastState;
  }

  clientInformation() {
    return this._client;
  }

  saveClientInformation(info) {
    this._client = info;
    this.savedClients.push(info);
  }

  tokens() {
    return this._tokens;
  }

  saveTokens(tokens) {
    this._tokens = tokens;
    this.savedTokens.push(tokens);
  }

  /** Test hook: replace the stored access token (e.g. to make it invalid). */
  replaceAccessToken(accessToken) {
    this._tokens = { ...this._tokens, access_token: accessToken };
  }

  /** Test hook: keep the access token, forget the refresh token. */
  dropRefreshToken() {
    const { refresh_token: _, ...rest } = this._tokens ?? {};
    this._tokens = rest;
  }

  redirectToAuthorization(authorizationUrl) {
    const url = new URL(authorizationUrl);
    this.authorizationUrls.push(url);
    // A real host opens the browser and returns; the code arrives later on
    // its loopback callback. The test awaits `pendingAuthorization`.
    this.pendingAuthorization = this._openBrowser(url);
    this.pendingAuthorization.catch(() => {}); // awaited (and reported) by the test
  }

  saveCodeVerifier(v) {
    this._verifier = v;
  }

  codeVerifier() {
    if (!this._verifier) throw new Error('no code verifier saved');
    return this._verifier;
  }

  saveDiscoveryState(s) {
    this._discovery = s;
  }

  discoveryState() {
    return this._discovery;
  }

  invalidateCredentials(scope) {
    this.invalidated.push(scope);
    if (scope === 'all' || scope === 'client') this._client = undefined;
    if (scope === 'all' || scope === 'tokens') this._tokens = undefined;
    if (scope === 'all' || scope === 'verifier') this._verifier = undefined;
    if (scope === 'all' || scope === 'discovery') this._discovery = undefined;
  }
}

/** A browser-opening function for TestOAuthProvider that uses `page` and waits for the callback server. */
export function browserOpener({ page, callback, user, shots }) {
  let n = 0;
  return async (url) => {
    n += 1;
    const s = typeof shots === 'function' ? shots(n) : shots;
    const seen = await authorizeInBrowser(page, url, { redirectUri: callback.redirectUri, user, shots: s ?? {} });
    const cbUrl = await callback.next();
    return Object.assign(cbUrl, { seen });
  };
}

/**
 * A fetch that records { method, url, status, wwwAuthenticate, form } for
 * every request (form: the urlencoded body of OAuth requests).
 */
export function recordingFetch() {
  const log = [];
  const f = async (input, init = {}) => {
    const req = new Request(input, init);
    let form;
    const ct = req.headers.get('content-type') ?? '';
    if (ct.includes('application/x-www-form-urlencoded')) {
      form = Object.fromEntries(new URLSearchParams(await req.clone().text()));
    } else if (ct.includes('application/json') && !new URL(req.url).pathname.endsWith('/mcp')) {
      try {
        form = await req.clone().json();
      } catch {
        // not JSON
      }
    }
    const entry = { method: req.method, url: new URL(req.url), form, status: undefined, wwwAuthenticate: undefined };
    log.push(entry);
    const res = await fetch(input, { ...init, signal: init.signal ?? AbortSignal.timeout(15_000) });
    entry.status = res.status;
    entry.wwwAuthenticate = res.headers.get('www-authenticate') ?? undefined;
    return res;
  };
  f.log = log;
  /** Entries from index `from` on matching `pred`. */
  f.since = (from, pred = () => true) => log.slice(from).filter(pred);
  return f;
}

export const isTokenRequest = (grant) => (e) => e.method === 'POST' && e.url.pathname.endsWith('/token') && (!grant || e.form?.grant_type === grant);

/** Flips characters in the signature so the token fails verification at the MCP server. */
export function corruptJwt(jwt) {
  const [h, p, s] = jwt.split('.');
  const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
  return `${h}.${p}.${flipped}`;
}

/** The text of a CallToolResult, joined. */
export function resultText(result) {
  return (result?.content ?? [])
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

/**
 * Runs `fn`, which must fail because the SDK needs the host to finish an
 * authorization in the browser (`isUnauthorized` tells that error apart).
 */
export async function expectAuthorizationNeeded(fn, what, isUnauthorized) {
  try {
    await fn();
  } catch (e) {
    if (isUnauthorized(e)) return;
    throw new Error(`${what}: expected UnauthorizedError (authorization needed), got ${e?.name}: ${e?.message}`, { cause: e });
  }
  throw new Error(`${what}: expected the client to need authorization, but it succeeded`);
}

/** Waits for the browser leg the SDK started; fails unless the callback carries a code and `iss` = `issuer`. */
export async function authorizationCallback(provider, issuer) {
  if (!provider.pendingAuthorization) throw new Error('the SDK did not ask the host to open an authorization URL');
  const cb = await provider.pendingAuthorization;
  const q = cb.searchParams;
  if (q.get('error') || !q.get('code')) throw new Error(`authorization failed: ${q.get('error')} ${q.get('error_description')}`);
  if (q.get('iss') !== issuer) throw new Error(`callback iss ${q.get('iss')}, expected ${issuer}`);
  return cb;
}
