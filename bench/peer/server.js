// Benchmark peer: node oidc-provider doing the same work as authgate's client
// credentials path — one confidential client authenticating with
// client_secret_basic, resource indicators, ES256-signed JWT access tokens whose
// `aud` is the MCP URL and whose scope is `mcp:read`.
//
// Configuration comes from the environment (the runner sets all of it):
//   PEER_LISTEN   host:port to bind (127.0.0.1 only)
//   PEER_ISSUER   issuer URL
//   BENCH_CLIENT_ID / BENCH_CLIENT_SECRET
//   BENCH_RESOURCE (the MCP URL, used as `aud`) / BENCH_SCOPE
import { generateKeyPairSync } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const listen = process.env.PEER_LISTEN ?? '127.0.0.1:18081';
const [host, portText] = listen.split(':');
const port = Number(portText);
const issuer = process.env.PEER_ISSUER ?? `http://${listen}`;
const clientId = process.env.BENCH_CLIENT_ID ?? 'bench-client';
const clientSecret = process.env.BENCH_CLIENT_SECRET ?? 'bench-secret-0123456789abcdef0123456789abcdef';
const resource = process.env.BENCH_RESOURCE ?? 'http://127.0.0.1:19999/mcp';
const scope = process.env.BENCH_SCOPE ?? 'mcp:read';

if (host !== '127.0.0.1' && host !== 'localhost') {
  throw new Error(`peer must listen on loopback only, got ${listen}`);
}

// A fresh P-256 signing key per start, as authgate makes its own on first start.
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench-es256' };

const resourceServer = {
  scope,
  audience: resource,
  accessTokenFormat: 'jwt',
  accessTokenTTL: 3600,
  jwt: { sign: { alg: 'ES256' } },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  jwks: { keys: [signingJwk] },
  // The only key is ES256; the default (RS256) would fail client validation.
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  // Only what the benchmark exercises; no sign-in pages are reachable.
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    // Open RFC 7591 registration, as authgate allows for its MCP servers.
    registration: { enabled: true },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        if (resourceIndicator !== resource) {
          throw new errors.InvalidTarget();
        }
        return resourceServer;
      },
    },
  },
  // offline_access makes the refresh_token grant available to registered clients.
  scopes: [scope, 'offline_access'],
  // A fixed cookie key so production mode does not complain; no cookies are set
  // on the token endpoint.
  cookies: { keys: ['authgate-bench-peer-cookie-key'] },
});
provider.proxy = false;

// Keep the logs quiet under load: failures show up as non-2xx in the load
// generator, and a server_error is printed once here.
let serverErrors = 0;
provider.on('server_error', (_ctx, err) => {
  serverErrors += 1;
  if (serverErrors <= 3) console.error('peer server_error:', err);
});

const server = provider.listen(port, host, () => {
  console.log(`peer listening on http://${listen} issuer=${issuer} pid=${process.pid}`);
});
server.keepAliveTimeout = 65_000;

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
