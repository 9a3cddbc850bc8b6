// A loopback HTTP server that receives OAuth redirects, as a native MCP
// client would (RFC 8252 §7.3).
import http from 'node:http';
import { WAIT_MS } from './env.mjs';

export async function startCallbackServer({ path = '/callback' } = {}) {
  const received = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname !== path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    received.push(url);
    const failed = url.searchParams.has('error');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(
      `<!doctype html><title>e2e callback</title><h1>${failed ? 'Authorization failed' : 'Authorized'}</h1><p>You can close this window.</p>`,
    );
    const w = waiters.shift();
    if (w) w(url);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const redirectUri = `http://127.0.0.1:${port}${path}`;
  let consumed = 0;
  return {
    redirectUri,
    port,
    received,
    /** The next redirect (not yet returned by an earlier call), as a URL. */
    next(timeoutMs = WAIT_MS) {
      if (received.length > consumed) return Promise.resolve(received[consumed++]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no redirect to ${redirectUri} within ${timeoutMs} ms`));
        }, timeoutMs);
        const w = (url) => {
          clearTimeout(timer);
          consumed++;
          resolve(url);
        };
        waiters.push(w);
      });
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
