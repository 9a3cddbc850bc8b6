// Starts a real authgate server (target/debug/authgate) on a free loopback
// port with a temporary SQLite database and config, and creates the test user
// with the CLI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUTHGATE_BIN, USER, requireFile } from './env.mjs';
import { freePort } from './ports.mjs';
import { startProcess, runCommand, waitForHttp } from './procs.mjs';
import { toToml } from './toml.mjs';

/** The weather MCP server as an authgate resource. */
export function weatherResource(uri, overrides = {}) {
  return {
    id: 'weather',
    name: 'Weather',
    uri,
    default_scopes: ['weather:read'],
    scopes: [
      { name: 'weather:read', description: 'Read forecasts' },
      { name: 'weather:write', description: 'Set weather alerts', implies: ['weather:read'] },
    ],
    access_token_ttl_secs: 300,
    allow_dynamic_registration: true,
    allow_client_id_metadata_documents: true,
    ...overrides,
  };
}

/**
 * @param {object} opts
 * @param {string} opts.name          label for logs
 * @param {object[]} opts.resources   [[resources]] tables
 * @param {object[]} [opts.clients]   [[clients]] tables
 * @param {object} [opts.extra]       more top-level keys or tables (e.g. { cimd: { allow_loopback: true } })
 * @param {object} [opts.env]         extra environment for the server (e.g. SSL_CERT_FILE)
 * @param {number} [opts.port]        a port chosen by the caller (else a free one)
 * @param {object[]} [opts.users]     people to create (default: USER); `admin: true` makes an administrator
 */
export async function startAuthgate({ name = 'authgate', resources, clients = [], extra = {}, env = {}, port, users = [USER] }) {
  requireFile(AUTHGATE_BIN, 'build it with `cargo build -p authgate-server --bin authgate` (or run e2e/run.sh)');
  port ??= await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authgate-e2e-'));
  const config = {
    issuer,
    listen: `127.0.0.1:${port}`,
    database_url: `sqlite://${path.join(dir, 'authgate.db')}`,
    data_dir: path.join(dir, 'data'),
    key_encryption_key_file: path.join(dir, 'kek'),
    log_level: process.env.E2E_AUTHGATE_LOG ?? 'info,authgate=debug',
    refresh_grace_secs: 10,
    instance_name: 'authgate e2e',
    ...extra,
    resources,
    clients: clients.length ? clients : undefined,
  };
  const configFile = path.join(dir, 'authgate.toml');
  fs.writeFileSync(configFile, toToml(config));
  // Settings in the environment would override the file: keep them out.
  const cleanEnv = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('AUTHGATE_'))
      .map((k) => [k, undefined]),
  );
  const childEnv = { ...cleanEnv, ...env };

  for (const u of users) {
    const args = ['--config', configFile, 'user', 'add', '--email', u.email, ...(u.admin ? ['--admin'] : [])];
    const r = await runCommand(AUTHGATE_BIN, args, {
      input: `${u.password}\n`,
      env: childEnv,
      timeoutMs: 60_000,
    });
    if (r.code !== 0) {
      throw new Error(`authgate user add failed (exit ${r.code})\nconfig:\n${fs.readFileSync(configFile, 'utf8')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
  }

  const proc = startProcess(`${name}-${port}`, AUTHGATE_BIN, ['--config', configFile, 'serve'], { env: childEnv });
  await waitForHttp(`${issuer}/readyz`, { proc });
  const metadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  return {
    issuer,
    port,
    dir,
    configFile,
    proc,
    metadata,
    async stop() {
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
