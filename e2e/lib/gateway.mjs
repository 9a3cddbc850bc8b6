// Starts `authgate gateway --config gateway.toml` (the same binary as the
// authorization server) on a loopback port, with a temporary config.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUTHGATE_BIN, requireFile } from './env.mjs';
import { freePort } from './ports.mjs';
import { startProcess, waitForHttp } from './procs.mjs';
import { toToml } from './toml.mjs';

/** A port and origin for a gateway started later (authgate's resources need its public URLs first). */
export async function planGateway() {
  const port = await freePort();
  return { port, origin: `http://127.0.0.1:${port}` };
}

/**
 * @param {object} o
 * @param {number} o.port
 * @param {object[]} o.upstreams  [[upstreams]] tables (tools as an array of { name, scopes })
 * @param {object} [o.extra]      more top-level keys (e.g. upstream_timeout_ms)
 */
export async function startGateway({ port, upstreams, extra = {}, name = 'gateway' }) {
  requireFile(AUTHGATE_BIN, 'build it with `cargo build -p authgate-server --bin authgate` (or run e2e/run.sh)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authgate-gateway-e2e-'));
  const auditLog = path.join(dir, 'audit.jsonl');
  const config = {
    listen: `127.0.0.1:${port}`,
    signing_key_file: path.join(dir, 'signing-key.pem'),
    audit_log: auditLog,
    ...extra,
    upstreams,
  };
  const configFile = path.join(dir, 'gateway.toml');
  fs.writeFileSync(configFile, toToml(config));
  const proc = startProcess(`${name}-${port}`, AUTHGATE_BIN, ['gateway', '--config', configFile], {
    env: { AUTHGATE_LOG: process.env.E2E_GATEWAY_LOG ?? 'info' },
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(`${origin}/readyz`, { proc });
  return {
    origin,
    port,
    dir,
    proc,
    configFile,
    auditLog,
    /** The audit rows written so far. */
    audit() {
      try {
        return fs
          .readFileSync(auditLog, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l));
      } catch {
        return [];
      }
    },
    async stop() {
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
