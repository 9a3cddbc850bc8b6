// The sample MCP servers in other languages (examples/notes-mcp-ts,
// examples/notes-mcp-py), their authgate resource, and the Python `mcp`
// client script.
import path from 'node:path';
import { REPO_ROOT, E2E_DIR, requireFile } from './env.mjs';
import { freePort } from './ports.mjs';
import { startProcess, runCommand, waitForHttp } from './procs.mjs';

export const NOTES_TS_DIR = path.join(REPO_ROOT, 'examples', 'notes-mcp-ts');
export const NOTES_PY_DIR = path.join(REPO_ROOT, 'examples', 'notes-mcp-py');
/** The venv e2e/run.sh makes from examples/notes-mcp-py/requirements.txt (the `mcp` server and client, PyJWT). */
export const PYTHON = process.env.NOTES_PYTHON ?? path.join(NOTES_PY_DIR, '.venv', 'bin', 'python');
const PY_CLIENT = path.join(E2E_DIR, 'clients', 'py_mcp_client.py');

export const LANGS = {
  ts: { label: 'TypeScript', resourceName: 'Notes (TypeScript)' },
  py: { label: 'Python', resourceName: 'Notes (Python)' },
};

/** The notes server as an authgate resource (no scope implies another: step-up asks for both). */
export function notesResource(id, uri, overrides = {}) {
  return {
    id,
    name: `Notes ${id}`,
    uri,
    default_scopes: ['notes:read'],
    scopes: [
      { name: 'notes:read', description: 'Read notes' },
      { name: 'notes:write', description: 'Add notes' },
    ],
    access_token_ttl_secs: 300,
    allow_dynamic_registration: true,
    allow_client_id_metadata_documents: true,
    ...overrides,
  };
}

/** A port and URL for a notes server started later (authgate's config needs the URL first). */
export async function planNotes() {
  const port = await freePort();
  return { port, url: `http://127.0.0.1:${port}/mcp` };
}

/**
 * Starts examples/notes-mcp-<lang>.
 * @param {object} o
 * @param {'ts'|'py'} o.lang
 * @param {'direct'|'gateway'} o.mode
 * @param {number} o.port
 * @param {string} [o.issuer]   direct mode
 * @param {string} [o.gateway]  gateway mode: the gateway's origin
 */
export async function startNotes({ lang, mode, port, issuer, gateway, name = `notes-${lang}-${mode}` }) {
  const url = `http://127.0.0.1:${port}/mcp`;
  const args = ['--mode', mode, '--listen', `127.0.0.1:${port}`, '--resource', url];
  if (issuer) args.push('--issuer', issuer);
  if (gateway) args.push('--gateway', gateway);
  let proc;
  if (lang === 'ts') {
    const main = requireFile(path.join(NOTES_TS_DIR, 'dist', 'main.js'), 'run `npm ci && npm run build` in examples/notes-mcp-ts (or e2e/run.sh)');
    proc = startProcess(`${name}-${port}`, process.execPath, [main, ...args], { cwd: NOTES_TS_DIR });
  } else {
    requireFile(PYTHON, 'make the venv: python3 -m venv examples/notes-mcp-py/.venv && …/pip install -r requirements.txt (or e2e/run.sh)');
    proc = startProcess(`${name}-${port}`, PYTHON, ['-m', 'notes_mcp', ...args], { cwd: NOTES_PY_DIR });
  }
  // Ready when the MCP endpoint refuses an unauthenticated GET.
  await waitForHttp(url, { proc, ok: (r) => r.status === 401 });
  return { url, port, proc, lang, mode, stop: () => proc.stop() };
}

/**
 * Runs the Python `mcp` client: lists tools and calls `tool` with `args`,
 * sending `token` as a bearer token. Resolves with its JSON report.
 */
export async function pythonClient(url, token, tool, args = {}) {
  requireFile(PYTHON, 'run e2e/run.sh (it makes the Python venv)');
  const r = await runCommand(PYTHON, [PY_CLIENT, url, tool, JSON.stringify(args)], {
    env: { MCP_ACCESS_TOKEN: token },
    timeoutMs: 45_000,
  });
  if (r.code !== 0) throw new Error(`py_mcp_client.py exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').at(-1);
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`py_mcp_client.py printed no JSON\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}
