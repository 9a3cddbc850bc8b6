// mcp-remote (npm) as an MCP host would run it: a stdio MCP server that
// proxies to a remote streamable HTTP server and does OAuth itself. It opens
// the authorization URL with the `open` package, whose xdg-open honours
// $BROWSER: the test points BROWSER at a script that writes the URL to a file,
// and drives Chromium itself.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { E2E_DIR, LOG_DIR, WAIT_MS, ensureDir } from './env.mjs';

const BIN = path.join(E2E_DIR, 'node_modules', 'mcp-remote', 'dist', 'proxy.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function startMcpRemote(serverUrl, { name = 'mcp-remote' } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm ci in e2e/ (or e2e/run.sh)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-remote-e2e-'));
  const browserFile = path.join(dir, 'opened-urls');
  const browser = path.join(dir, 'browser.sh');
  fs.writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${browserFile}'\n`, { mode: 0o700 });
  ensureDir(LOG_DIR);
  const log = fs.createWriteStream(path.join(LOG_DIR, `${name}.log`));
  const env = { ...process.env, BROWSER: browser, MCP_REMOTE_CONFIG_DIR: path.join(dir, 'config') };
  delete env.DISPLAY; // no desktop: xdg-open's generic path, which uses $BROWSER
  delete env.WAYLAND_DISPLAY;
  const child = spawn(process.execPath, [BIN, serverUrl, '--host', '127.0.0.1', '--auth-timeout', '60'], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const killNow = () => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  process.on('exit', killNow);
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));

  // JSON-RPC over stdio: one message per line.
  const waiting = new Map();
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (!line) continue;
      log.write(`<stdout> ${line}\n`);
      let msg;
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      const w = waiting.get(msg.id);
      if (w) {
        waiting.delete(msg.id);
        w(msg);
      }
    }
  });

  let nextId = 1;
  return {
    pid: child.pid,
    /** The next URL mcp-remote asked the browser to open. */
    async openedUrl(timeoutMs = WAIT_MS) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exited) throw new Error(`mcp-remote exited (${JSON.stringify(exited)}) before opening a browser`);
        const urls = fs.existsSync(browserFile) ? fs.readFileSync(browserFile, 'utf8').split('\n').filter(Boolean) : [];
        if (urls.length) return new URL(urls[0]);
        await sleep(100);
      }
      throw new Error(`mcp-remote opened no browser within ${timeoutMs} ms`);
    },
    /** Sends a JSON-RPC request over stdin; resolves with the response. */
    request(method, params = {}, timeoutMs = WAIT_MS) {
      const id = nextId++;
      const msg = { jsonrpc: '2.0', id, method, params };
      log.write(`<stdin> ${JSON.stringify(msg)}\n`);
      child.stdin.write(`${JSON.stringify(msg)}\n`);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`mcp-remote: no answer to ${method} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
      });
    },
    notify(method, params = {}) {
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`);
    },
    async stop() {
      process.off('exit', killNow);
      if (!exited) {
        child.stdin.end();
        child.kill('SIGTERM');
        const t = setTimeout(killNow, 3000);
        await new Promise((r) => (exited ? r() : child.once('exit', r)));
        clearTimeout(t);
      }
      log.end();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts mcp-remote for `serverUrl`, walks the authorization it opens in
 * Chromium (`page`), and sends `initialize` over stdio. Resolves with
 * { remote, authorizationUrl, seen }; the caller stops `remote`.
 */
export async function connectMcpRemote({ serverUrl, page, user, name = 'mcp-remote', shot }) {
  const { authorizeInBrowser } = await import('./browser.mjs');
  const remote = startMcpRemote(serverUrl, { name });
  try {
    const authorizationUrl = await remote.openedUrl();
    const redirectUri = authorizationUrl.searchParams.get('redirect_uri');
    if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(redirectUri ?? '')) throw new Error(`unexpected redirect_uri ${redirectUri}`);
    const seen = await authorizeInBrowser(page, authorizationUrl, { redirectUri, user, shots: shot ? { consent: shot } : {} });
    const init = await remote.request(
      'initialize',
      { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'authgate-e2e-stdio', version: '1.0.0' } },
      60_000,
    );
    if (!init.result) throw new Error(`initialize over mcp-remote failed: ${JSON.stringify(init)}`);
    remote.notify('notifications/initialized');
    return { remote, authorizationUrl, seen };
  } catch (e) {
    await remote.stop();
    throw e;
  }
}
