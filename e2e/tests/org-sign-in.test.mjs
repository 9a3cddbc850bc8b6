// Issue 19: email-first sign-in (home-realm discovery) in a real browser.
// An operator adds an organization with one upstream connection and a
// domain (marked verified by hand; DNS verification is tested in-process)
// with the CLI. Typing an email at that domain on the sign-in page lands on
// the connection's start (`/federation/<id>/start`); any other email gets
// the password step, whether the account exists or not.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUTHGATE_BIN, USER } from '../lib/env.mjs';
import { startAuthgate } from '../lib/authgate.mjs';
import { runCommand } from '../lib/procs.mjs';
import { launchBrowser, newPage, screenshotPath } from '../lib/browser.mjs';

async function cli(ag, args) {
  const r = await runCommand(AUTHGATE_BIN, ['--config', ag.configFile, ...args], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `authgate ${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

describe('email-first sign-in routes an organization to its identity provider (issue 19)', () => {
  let ag, browser, page;

  before(async () => {
    ag = await startAuthgate({ name: 'authgate-orgs', resources: [] });
    // Routing offers only connections that exist and are enabled.
    const secretFile = path.join(os.tmpdir(), `authgate-orgs-secret-${process.pid}`);
    fs.writeFileSync(secretFile, 'not-a-real-secret\n', { mode: 0o600 });
    await cli(ag, ['connection', 'add', 'acme-okta', '--preset', 'okta', '--upstream-issuer', 'https://acme.okta.example',
      '--client-id', 'authgate', '--client-secret-file', secretFile]);
    fs.rmSync(secretFile, { force: true });
    await cli(ag, ['org', 'add', 'acme', '--name', 'Acme Corp', '--connection', 'acme-okta', '--forbid-local-passwords']);
    const added = await cli(ag, ['org', 'domain', 'add', 'acme', 'Acme.Example']);
    assert.match(added, /_authgate-challenge\.acme\.example TXT "authgate-domain-verification=/);
    await cli(ag, ['org', 'domain', 'mark-verified', 'acme', 'acme.example']);
    assert.match(await cli(ag, ['org', 'show', 'acme']), /domain acme\.example: verified \(manual\)/);
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
  });

  after(async () => {
    await browser?.close();
    await ag?.stop();
  });

  it('sends an organization email to the connection start, others to the password step', async () => {
    await page.goto(`${ag.issuer}/login`);
    await page.getByLabel('Email', { exact: true }).fill('ann@acme.example');
    await page.screenshot({ path: screenshotPath('org-sign-in-1-email'), fullPage: true });
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/federation/acme-okta/start', { waitUntil: 'commit' }),
      page.getByRole('button', { name: 'Continue', exact: true }).click(),
    ]);
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get('login_hint'), 'ann@acme.example');

    for (const email of [USER.email, 'nobody@example.org']) {
      await page.goto(`${ag.issuer}/login`);
      await page.getByLabel('Email', { exact: true }).fill(email);
      await page.getByRole('button', { name: 'Continue', exact: true }).click();
      await page.getByLabel('Password', { exact: true }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/login/email');
    }
  });
});
