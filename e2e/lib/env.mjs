// Paths and constants shared by the harness.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(E2E_DIR, '..');
export const ARTIFACTS_DIR = path.join(E2E_DIR, 'artifacts');
export const LOG_DIR = path.join(ARTIFACTS_DIR, 'logs');

const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR)
  : path.join(REPO_ROOT, 'target');

export const AUTHGATE_BIN = process.env.AUTHGATE_BIN ?? path.join(targetDir, 'debug', 'authgate');
export const WEATHER_MCP_BIN = process.env.WEATHER_MCP_BIN ?? path.join(targetDir, 'debug', 'weather-mcp');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The person every test signs in as. */
export const USER = { email: 'ada@example.com', password: 'correct horse battery staple' };

/** Upper bound for any single wait (a server start, a page load, a callback). */
export const WAIT_MS = Number(process.env.E2E_WAIT_MS ?? 20_000);

export function ensureDir(dir) {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Fails with a readable message when a binary the suite needs is missing. */
export function requireFile(file, hint) {
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: ${hint}`);
  }
  return file;
}
