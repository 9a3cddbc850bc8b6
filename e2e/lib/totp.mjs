// TOTP codes from pyotp (PyPI), an implementation independent of authgate's:
// e2e/totp/code.py reads the otpauth:// URI the enrolment page shows. The
// venv is made by e2e/run.sh from e2e/totp/requirements.txt.
import path from 'node:path';
import { E2E_DIR, requireFile } from './env.mjs';
import { runCommand } from './procs.mjs';

const DIR = path.join(E2E_DIR, 'totp');
export const TOTP_PYTHON = process.env.TOTP_PYTHON ?? path.join(DIR, '.venv', 'bin', 'python');

/** The code for `uri` now, or `steps` 30-second steps later. */
export async function totpCode(uri, steps = 0) {
  requireFile(TOTP_PYTHON, 'run e2e/run.sh (it makes the pyotp venv in e2e/totp/.venv)');
  const r = await runCommand(TOTP_PYTHON, [path.join(DIR, 'code.py'), uri, String(steps)]);
  if (r.code !== 0) throw new Error(`pyotp failed: ${r.stderr}`);
  const code = r.stdout.trim();
  if (!/^\d{6}$/.test(code)) throw new Error(`pyotp printed ${JSON.stringify(r.stdout)}`);
  return code;
}
