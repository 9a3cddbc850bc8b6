// The real SMTP server the email tests send to: aiosmtpd, run by
// e2e/smtp-sink/smtp_sink.py (venv made by e2e/run.sh or the Rust tests),
// which writes each message it receives to a directory, decoded as a mail
// client reads it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { E2E_DIR, WAIT_MS, requireFile } from './env.mjs';
import { startProcess } from './procs.mjs';

const SINK_DIR = path.join(E2E_DIR, 'smtp-sink');
const PYTHON = path.join(SINK_DIR, '.venv', 'bin', 'python');

export async function startSmtpSink() {
  requireFile(PYTHON, 'run e2e/run.sh (it makes the e2e/smtp-sink venv)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'authgate-smtp-'));
  const portFile = path.join(dir, 'port');
  const mailDir = path.join(dir, 'mail');
  const proc = startProcess('smtp-sink', PYTHON, [path.join(SINK_DIR, 'smtp_sink.py'), portFile, mailDir]);
  const deadline = Date.now() + WAIT_MS;
  while (!fs.existsSync(portFile)) {
    if (Date.now() > deadline) throw new Error('the SMTP server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = Number(fs.readFileSync(portFile, 'utf8').trim());
  const received = () =>
    (fs.existsSync(mailDir) ? fs.readdirSync(mailDir) : [])
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(fs.readFileSync(path.join(mailDir, f), 'utf8')));
  return {
    port,
    received,
    /** The first message whose subject matches `re`, waiting for it. */
    async waitFor(re) {
      const until = Date.now() + WAIT_MS;
      for (;;) {
        const m = received().find((x) => re.test(x.subject));
        if (m) return m;
        if (Date.now() > until) throw new Error(`no mail matching ${re}; got ${JSON.stringify(received().map((x) => x.subject))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
