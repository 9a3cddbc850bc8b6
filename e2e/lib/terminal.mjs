// Terminals for running a README as a person would: one interactive shell
// whose `cd` and `export` carry from block to block, and new terminals for
// the servers a README says to start "in another terminal". Each runs bash
// in its own process group, so stopping a terminal stops what it started
// (a server under `cd … && ./server`), by that group's id, never by name.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LOG_DIR, ensureDir } from './env.mjs';

const groups = new Set();

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

process.on('exit', () => {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
});

function startBash(name, args, { cwd, env }) {
  ensureDir(LOG_DIR);
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const log = fs.createWriteStream(logFile);
  const child = spawn('bash', ['--noprofile', '--norc', ...args], { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  groups.add(child.pid);
  const t = {
    name,
    logFile,
    output: '',
    exitInfo: null,
    child,
    exited: new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        t.exitInfo = { code, signal };
        resolve(t.exitInfo);
      });
      child.on('error', (error) => {
        t.exitInfo = { code: null, signal: null, error };
        resolve(t.exitInfo);
      });
    }),
    logTail(lines = 40) {
      return t.output.split('\n').slice(-lines).join('\n');
    },
    /** SIGTERM to the terminal's process group, SIGKILL after `graceMs`. */
    async stop(graceMs = 5000) {
      if (!t.exitInfo) killGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
      await t.exited;
      // The shell may be gone while a server it started lingers.
      killGroup(child.pid, 'SIGTERM');
      clearTimeout(timer);
      groups.delete(child.pid);
      log.end();
    },
  };
  const take = (d) => {
    t.output += d;
    log.write(d);
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return t;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The processes in a terminal's group, for the message of a block that hangs. */
function processes(pgid) {
  try {
    return execFileSync('ps', ['-o', 'pid,stat,wchan:24,etime,args', '-g', String(pgid)], { encoding: 'utf8', timeout: 5000 });
  } catch (e) {
    return `(ps failed: ${e.message})`;
  }
}

/**
 * The person's main terminal: a bash reading commands, with `set -e` so a
 * failing command ends it (and the test) instead of going unnoticed.
 * `run(script)` resolves with what the block printed.
 */
export function openTerminal(name, { cwd, env, scratchDir }) {
  const t = startBash(name, [], { cwd, env });
  t.child.stdin.on('error', () => {}); // the shell exiting is reported by run()
  t.child.stdin.write('set -e\n');
  let n = 0;
  /** Output of the block now running, so far. */
  t.pending = '';
  t.run = async (script, { timeoutMs }) => {
    n += 1;
    const file = path.join(scratchDir, `block-${n}.sh`);
    fs.writeFileSync(file, script);
    const marker = `quickstart-block-done-${crypto.randomBytes(8).toString('hex')}`;
    const from = t.output.length;
    // Sourced, so `cd` and `export` carry on; stdin is not the block's.
    t.child.stdin.write(`. '${file}' </dev/null\necho ${marker}\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      t.pending = t.output.slice(from);
      const at = t.pending.indexOf(marker);
      if (at >= 0) {
        t.pending = '';
        // Let stderr written just before the marker arrive.
        await sleep(50);
        return t.output.slice(from).replace(`${marker}\n`, '');
      }
      if (t.exitInfo) {
        throw new Error(`the block failed (the shell exited: ${JSON.stringify(t.exitInfo)}):\n${script}--- output ---\n${t.output.slice(from)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the block did not finish within ${timeoutMs} ms:\n${script}--- output so far ---\n${t.output.slice(from)}\n--- what is still running ---\n${processes(t.child.pid)}`,
        );
      }
      await sleep(50);
    }
  };
  return t;
}

/** A new terminal running `script` (a server): `bash -e -c script`. */
export function startTerminal(name, script, { cwd, env }) {
  const t = startBash(name, ['-e', '-c', script], { cwd, env });
  t.child.stdin.end();
  return t;
}
