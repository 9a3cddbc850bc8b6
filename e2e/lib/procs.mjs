// Child processes started by the suite: tracked by PID, logged to files,
// stopped in `after` hooks and, as a last resort, when the test process exits.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LOG_DIR, ensureDir, WAIT_MS } from './env.mjs';

const children = new Set();

function killAllNow() {
  for (const c of children) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killAllNow();
    process.exit(130);
  });
}

/**
 * Starts a long-running child. Its stdout and stderr go to
 * artifacts/logs/<name>.log. Returns { pid, name, logFile, exited, stop(), logTail() }.
 */
export function startProcess(name, cmd, args, { env = {}, cwd } = {}) {
  ensureDir(LOG_DIR);
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const out = fs.openSync(logFile, 'w');
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      children.delete(child);
      resolve(exitInfo);
    });
    child.on('error', (err) => {
      exitInfo = { code: null, signal: null, error: err };
      children.delete(child);
      resolve(exitInfo);
    });
  });
  children.add(child);
  const handle = {
    name,
    pid: child.pid,
    logFile,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    logTail(lines = 40) {
      try {
        return fs.readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    /** SIGTERM, then SIGKILL after a bounded wait. */
    async stop(graceMs = 3000) {
      if (exitInfo) return exitInfo;
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        return exitInfo;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }, graceMs);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
  };
  return handle;
}

/** Runs a command to completion with a bounded time; resolves { code, stdout, stderr }. */
export function runCommand(cmd, args, { input, env = {}, timeoutMs = WAIT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone
      }
      reject(new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A command may exit without reading all of its stdin (openssl never reads
    // it); the write then fails with EPIPE. That is not the command's result,
    // which its exit code and stderr report, so the stream error is dropped
    // here instead of surfacing as an uncaught exception in whichever test
    // happens to be running.
    child.stdin.on('error', (e) => {
      if (e.code !== 'EPIPE') reject(e);
    });
    child.stdin.end(input ?? '');
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `url` until `ok(response)` holds, the process exits, or the deadline
 * passes. Throws with the process's log tail on failure.
 */
export async function waitForHttp(url, { proc, ok = (r) => r.ok, timeoutMs = WAIT_MS } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc?.exitInfo) {
      throw new Error(
        `${proc.name} exited (${JSON.stringify(proc.exitInfo)}) before ${url} answered\n--- ${proc.logFile} ---\n${proc.logTail()}`,
      );
    }
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000), redirect: 'manual' });
      if (ok(r)) return r;
      last = `HTTP ${r.status}`;
      await r.body?.cancel();
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    await sleep(100);
  }
  throw new Error(
    `${url} not ready after ${timeoutMs} ms (last: ${last})${proc ? `\n--- ${proc.logFile} ---\n${proc.logTail()}` : ''}`,
  );
}
