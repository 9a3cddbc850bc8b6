// Small OAuth helpers for tests that speak the protocol directly.
import crypto from 'node:crypto';

export function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge, method: 'S256' };
}

export const randomState = () => crypto.randomBytes(16).toString('base64url');

export function authorizationUrl(metadata, params) {
  const u = new URL(metadata.authorization_endpoint);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u;
}

/** POSTs a form to `url`; returns { status, headers, body } with body parsed as JSON when it is. */
export async function postForm(url, form, headers = {}) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await r.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, headers: r.headers, body };
}

/** Decodes a JWT's header and payload (no verification: the servers verify). */
export function decodeJwt(jwt) {
  const parts = String(jwt).split('.');
  if (parts.length !== 3) throw new Error(`not a JWT: ${String(jwt).slice(0, 20)}…`);
  const dec = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: dec(parts[0]), payload: dec(parts[1]) };
}

export function scopeSet(s) {
  return new Set(String(s ?? '').split(' ').filter(Boolean));
}
