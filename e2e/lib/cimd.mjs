// Serves Client ID Metadata Documents over HTTPS on 127.0.0.1, with a test
// CA made here by openssl. The MCP SDK only accepts an https clientMetadataUrl,
// so authgate is started with SSL_CERT_FILE pointing at that CA (its HTTP
// client, reqwest with rustls-platform-verifier, reads the system trust store,
// which honours SSL_CERT_FILE) and with its test-only loopback switch on.
import https from 'node:https';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCommand } from './procs.mjs';

async function openssl(args) {
  const r = await runCommand('openssl', args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

/** A CA and a server certificate for 127.0.0.1 (and localhost), in a temp dir. */
export async function makeLoopbackCertificates() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authgate-e2e-tls-'));
  const f = (n) => path.join(dir, n);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('ca.key')]);
  await openssl(['req', '-x509', '-new', '-key', f('ca.key'), '-sha256', '-days', '2', '-subj', '/CN=authgate e2e test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', f('ca.pem')]);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('server.key')]);
  await openssl(['req', '-new', '-key', f('server.key'), '-subj', '/CN=127.0.0.1', '-out', f('server.csr')]);
  fs.writeFileSync(
    f('server.ext'),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  await openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2',
    '-sha256', '-extfile', f('server.ext'), '-out', f('server.pem')]);
  return { dir, caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key') };
}

/**
 * An HTTPS server on 127.0.0.1 serving JSON documents set with `put(path, doc)`.
 * Records every request (so a test can see authgate fetched the document).
 */
export async function startCimdServer(certs) {
  const docs = new Map();
  const requests = [];
  const server = https.createServer(
    { cert: fs.readFileSync(certs.certFile), key: fs.readFileSync(certs.keyFile) },
    (req, res) => {
      const url = new URL(req.url, 'https://127.0.0.1');
      requests.push({ method: req.method, path: url.pathname, at: Date.now() });
      const doc = docs.get(url.pathname);
      if (!doc) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
      res.end(JSON.stringify(doc));
    },
  );
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const origin = `https://127.0.0.1:${port}`;
  return {
    origin,
    requests,
    /** Publishes `doc` at `path`; returns its URL. */
    put(p, doc) {
      docs.set(p, doc);
      return `${origin}${p}`;
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
