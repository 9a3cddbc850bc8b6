// A real upstream OpenID Connect provider for authgate's federation tests:
// node `oidc-provider` (a certified OP) on a loopback port, with the
// clients and accounts given in the UPSTREAM_OIDC environment variable (JSON):
//
//   { "clients": [{ "client_id", "client_secret", "redirect_uris": [...] }],
//     "accounts": { "<login>": { "email", "email_verified", "name", "groups" } } }
//
// People sign in on oidc-provider's own development pages (any password;
// the login names the account). Prints one JSON line {"issuer": "..."}
// once it listens, and runs until killed.
import http from 'node:http';
import Provider from 'oidc-provider';

const cfg = JSON.parse(process.env.UPSTREAM_OIDC || '{}');
const accounts = cfg.accounts || {};

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(cfg.port || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: cfg.clients || [],
  async findAccount(ctx, id) {
    const a = accounts[id];
    if (!a) return undefined;
    return {
      accountId: id,
      async claims() {
        return { ...a, sub: id };
      },
    };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  pkce: { required: () => true },
  cookies: { keys: ['authgate-upstream-oidc-test-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  // authgate's callback must say where the person came from (RFC 9207).
  ttl: { Session: 600, Interaction: 600, Grant: 600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
});
provider.on('server_error', (ctx, err) => console.error('upstream-oidc server_error', err));
server.on('request', provider.callback());
console.log(JSON.stringify({ issuer }));

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
