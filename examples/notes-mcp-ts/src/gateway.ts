// Gateway mode: authgate's gateway has checked the caller's access token and
// the tool's scope, stripped the Authorization header and sent a short-lived
// Authgate-Caller JWT it signed. This server accepts only that.
import { createRemoteJWKSet, errors, jwtVerify } from 'jose';

export interface Caller {
  sub: string;
  clientId: string;
  scopes: Set<string>;
}

/** `gateway` is the gateway's origin (the JWT's iss); `upstreamUrl` this server's URL as the gateway calls it (the JWT's aud). */
export function callerChecker(gateway: string, upstreamUrl: string) {
  const origin = new URL(gateway).origin;
  const jwks = createRemoteJWKSet(new URL(`${origin}/.well-known/jwks.json`));
  return async (header: string | undefined): Promise<Caller> => {
    if (!header) throw new errors.JWTInvalid('no Authgate-Caller header');
    const { payload } = await jwtVerify(header.trim(), jwks, {
      issuer: origin,
      audience: upstreamUrl,
      typ: 'authgate-caller+jwt',
      algorithms: ['ES256'],
      clockTolerance: 5,
      maxTokenAge: 120, // the gateway mints one per request, valid 60 s
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
    });
    return {
      sub: String(payload.sub),
      clientId: String(payload.client_id ?? ''),
      scopes: new Set(String(payload.scope ?? '').split(' ').filter(Boolean)),
    };
  };
}
