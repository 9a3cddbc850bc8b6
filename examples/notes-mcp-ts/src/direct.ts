// Direct mode: this server validates authgate's access tokens itself (RFC 9068
// JWTs) with jose. The block between the markers is the whole token check; the
// README quotes it.
import { createRemoteJWKSet, jwtVerify } from 'jose';

// --- token check (README: "MCP servers in other languages") ---
export async function tokenChecker(issuer: string, resource: string) {
  const i = new URL(issuer); // RFC 8414: the well-known path goes before the issuer's path
  const meta = await (await fetch(`${i.origin}/.well-known/oauth-authorization-server${i.pathname.replace(/\/$/, '')}`)).json();
  if (meta.issuer !== issuer) throw new Error(`metadata issuer ${meta.issuer} is not ${issuer}`);
  const jwks = createRemoteJWKSet(new URL(meta.jwks_uri));
  /** The token's scopes, or a throw (401) when `authorization` is no valid token for this server. */
  return async (authorization: string | undefined): Promise<Set<string>> => {
    const token = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new MissingToken();
    const { payload } = await jwtVerify(token, jwks, {
      issuer, // exact
      audience: resource, // this server's own URL (RFC 8707)
      typ: 'at+jwt', // an access token, not an ID token (RFC 9068)
      algorithms: ['ES256', 'RS256', 'EdDSA'], // never "none", never HMAC
      clockTolerance: 30, // exp, nbf, iat
      requiredClaims: ['exp', 'sub', 'client_id'],
    });
    return new Set(String(payload.scope ?? '').split(' ').filter(Boolean));
  };
}
// --- end of token check ---

export class MissingToken extends Error {
  constructor() {
    super('no bearer token');
  }
}

/** RFC 9728 path-inserted metadata URL: https://h/mcp → https://h/.well-known/oauth-protected-resource/mcp */
export function metadataUrl(resource: string): string {
  const u = new URL(resource);
  return `${u.origin}/.well-known/oauth-protected-resource${u.pathname.replace(/\/$/, '')}`;
}

export function protectedResourceMetadata(resource: string, issuer: string, scopes: string[]) {
  return {
    resource,
    authorization_servers: [issuer],
    scopes_supported: scopes,
    bearer_methods_supported: ['header'],
    resource_name: 'Notes (TypeScript)',
  };
}

/** 401: no token (baseline scope) or a bad one (error="invalid_token"). */
export function unauthorizedChallenge(resource: string, baseline: string, invalid: boolean): string {
  let h = `Bearer resource_metadata="${metadataUrl(resource)}", scope="${baseline}"`;
  if (invalid) h += ', error="invalid_token", error_description="the access token is not valid for this server"';
  return h;
}

/** 403: one challenge naming what the token has plus what the call needs (the client asks for all of it). */
export function insufficientScopeChallenge(resource: string, granted: Set<string>, needed: string[]): string {
  const union = [...new Set([...granted, ...needed])].join(' ');
  return `Bearer error="insufficient_scope", scope="${union}", resource_metadata="${metadataUrl(resource)}", error_description="this tool needs more access"`;
}
