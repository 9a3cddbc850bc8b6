// Issue #22: the README's quickstart, run exactly as written. Every
// `sh quickstart` block of README.md runs in order: the plain ones in one
// shell (the person's first terminal, starting in the checkout, so `cd`
// carries on), the `terminal` ones in new shells left running (servers),
// all with HOME set to a fresh temporary directory. Chromium does what the
// person does in the browser: opens the setup link, creates the first
// administrator, lands on the dashboard, and approves the MCP client on
// the consent page. Then the README's words are checked against what
// happened: the tool result, the consent page naming the MCP server and
// the client, the audit row, the connection check, remote mode, the
// OpenAPI document.
//
// A block that fails fails the test; so does one whose output no longer
// means what the README says (the `EXPECT` list), or a README that no
// longer has a block some expectation is about.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT, WAIT_MS } from '../lib/env.mjs';
import { launchBrowser, newPage, authorizeInBrowser, screenshotPath, bodyText } from '../lib/browser.mjs';
import { quickstartBlocks, title } from '../lib/readme.mjs';
import { openTerminal, startTerminal } from '../lib/terminal.mjs';

const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const BLOCKS = quickstartBlocks(README);
const ISSUER = 'http://127.0.0.1:8080';
const MCP_URL = 'http://127.0.0.1:3000/mcp';
/** The person who follows the README. */
const ADMIN = { email: 'newcomer@example.com', name: 'New Comer', password: 'a long and new password' };
/** A block may build (cargo, when the binaries are stale) or install (npm): bounded, generously. */
const BLOCK_TIMEOUT_MS = 240_000;

/** What each block must show, found by what the block runs. */
const EXPECT = [
  {
    what: 'the build copies both binaries and the client into ~/authgate-quickstart',
    block: /cargo build/,
    check: (_out, { home }) => {
      for (const f of ['authgate', 'weather-mcp', 'mcp-client/client.mjs']) {
        assert.ok(fs.existsSync(path.join(home, 'authgate-quickstart', f)), `~/authgate-quickstart/${f} exists`);
      }
    },
  },
  {
    what: 'the setup link is printed',
    block: /setup-link/,
    check: (out) => assert.match(out, new RegExp(`${ISSUER}/admin/setup\\?token=\\S+`)),
  },
  {
    what: 'the MCP server is registered at its real local URL',
    block: /resource add/,
    check: (out) => {
      assert.match(out, new RegExp(`"resource":\\s*"${MCP_URL}"`), 'resource show prints the metadata for the local URL');
      assert.match(out, new RegExp(`"${ISSUER}"`), 'naming the issuer');
    },
  },
  {
    what: 'the connection check passes',
    block: /admin check weather/,
    // It exits non-zero when a point fails; the output says so point by point too.
    check: (out) => {
      assert.match(out, /authgate can reach the MCP server/i, out);
      assert.doesNotMatch(out, /✗/, out);
    },
  },
  {
    what: 'the client calls the tool and prints its result',
    block: /client\.mjs/,
    check: (out, ctx) => {
      assert.match(out, /get_forecast ->/);
      ctx.clientId = /client_id ([\w-]+)/.exec(out)?.[1];
      assert.ok(ctx.clientId, 'the client says which client_id it registered');
      assert.match(out, /"city":\s*"Paris"/);
      assert.match(out, /"days":\s*\[/);
      const consent = ctx.browser.consent;
      assert.ok(consent, 'the consent page was shown');
      assert.match(consent.consentText, /Weather/, 'the consent page names the MCP server');
      assert.match(consent.consentText, /authgate quickstart client/, 'the consent page names the client');
      assert.match(consent.consentText, /Read forecasts/, 'the consent page says what the scope allows');
      assert.equal(consent.signIn, false, 'signed in since the setup: no sign-in page');
    },
  },
  {
    what: 'the audit log has the consent row',
    block: /^\.\/authgate audit/m,
    check: (out, ctx) => {
      const row = out.split('\n').find((l) => /\bconsent\.given\b/.test(l));
      assert.ok(row, `a consent.given row in:\n${out}`);
      assert.ok(ctx.clientId && row.includes(ctx.clientId), `the row names the client the client printed (${ctx.clientId}):\n${row}`);
      assert.match(row, /\bweather\b/, 'and the MCP server');
    },
  },
  {
    what: 'remote mode shows the same row through the admin API',
    block: /--server/,
    check: (out, { home }) => {
      const file = path.join(home, 'authgate-quickstart', 'ops-credentials');
      assert.match(fs.readFileSync(file, 'utf8'), /^client_secret:\s*\S{16,}/m, 'the admin client got a secret, in the file');
      assert.equal(fs.statSync(file).mode & 0o077, 0, 'ops-credentials is readable by its owner only');
      assert.doesNotMatch(out, /client_secret/, 'the secret went to the file, not the terminal');
      assert.match(out, /consent\.given/);
    },
  },
  {
    what: 'the OpenAPI document is served',
    block: /openapi\.json/,
    check: (out) => assert.match(out, /"openapi":\s*"3\./),
  },
];

/** Tells whether something already listens on 127.0.0.1:`port`. */
function portInUse(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function waitReady(ready, terminal, home) {
  const deadline = Date.now() + WAIT_MS;
  let last = 'not yet';
  while (Date.now() < deadline) {
    if (terminal.exitInfo) {
      throw new Error(`the terminal exited (${JSON.stringify(terminal.exitInfo)}) before ${ready}:\n${terminal.logTail()}`);
    }
    if (ready.startsWith('~/')) {
      if (fs.existsSync(path.join(home, ready.slice(2)))) return;
    } else {
      try {
        const r = await fetch(ready, { signal: AbortSignal.timeout(2000) });
        await r.body?.cancel();
        if (r.ok) return;
        last = `HTTP ${r.status}`;
      } catch (e) {
        last = e.cause?.code ?? e.message;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${ready} not ready after ${WAIT_MS} ms (last: ${last}):\n${terminal.logTail()}`);
}

/** The first URL on its own in `text` that matches `pattern`. */
function urlIn(text, pattern) {
  const m = (text.match(/https?:\/\/\S+/g) ?? []).find((u) => pattern.test(u));
  return m ? new URL(m) : undefined;
}

/** The browser steps the README asks for, by name. */
const BROWSER_STEPS = {
  /** Opens the printed setup link, creates the first administrator, lands on the dashboard. */
  async setup(ctx, running) {
    const out = await running;
    const link = urlIn(out, /\/admin\/setup\?token=/);
    assert.ok(link, `a setup link in:\n${out}`);
    const { page } = ctx;
    await page.goto(link.href);
    await page.screenshot({ path: screenshotPath('readme-quickstart-1-setup'), fullPage: true });
    await page.getByLabel('Email', { exact: true }).fill(ADMIN.email);
    await page.getByLabel('Name', { exact: true }).fill(ADMIN.name);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await page.getByLabel('Password again', { exact: true }).fill(ADMIN.password);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/admin' || u.pathname === '/admin/'),
      page.getByRole('button', { name: 'Create administrator' }).click(),
    ]);
    await page.waitForLoadState();
    await page.screenshot({ path: screenshotPath('readme-quickstart-2-dashboard'), fullPage: true });
    assert.equal(new URL(page.url()).origin, ISSUER);
    const text = await bodyText(page);
    assert.ok(text.includes(ADMIN.email), `signed in on the dashboard as the new administrator:\n${text}`);
    ctx.browser.setup = { dashboardText: text };
  },
  /** Waits for the authorization URL the client prints, then approves on the consent page. */
  async consent(ctx, running, terminal) {
    let url;
    const deadline = Date.now() + BLOCK_TIMEOUT_MS;
    let finished = false;
    running.then(
      () => (finished = true),
      () => (finished = true),
    );
    while (!(url = urlIn(terminal.pending, /\/authorize\?/))) {
      if (finished) throw new Error('the client finished without printing an authorization URL');
      if (Date.now() > deadline) throw new Error(`no authorization URL printed:\n${terminal.pending}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(url.origin, ISSUER, 'the client found authgate from the MCP server');
    assert.equal(url.searchParams.get('resource'), MCP_URL, 'RFC 8707 resource = the MCP server');
    const redirectUri = url.searchParams.get('redirect_uri');
    assert.match(redirectUri ?? '', /^http:\/\/127\.0\.0\.1:\d+\//, 'a loopback redirect');
    ctx.browser.consent = await authorizeInBrowser(ctx.page, url, {
      redirectUri,
      user: ADMIN,
      expectConsent: true,
      shots: { signIn: 'readme-quickstart-3-sign-in', consent: 'readme-quickstart-3-consent' },
    });
    await running;
  },
};

describe('README quickstart, as written (issue #22)', () => {
  const ctx = { browser: {} };
  const servers = [];
  let scratch, shell, browserApp, failed;

  before(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-quickstart-'));
    ctx.home = path.join(scratch, 'home');
    fs.mkdirSync(ctx.home);
    fs.mkdirSync(path.join(scratch, 'blocks'));
    // A fresh home, as on a new machine; the toolchains stay where they
    // are installed (rustup and cargo find them through these).
    const realHome = os.homedir();
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AUTHGATE_') && k !== 'WEATHER_LISTEN' && k !== 'WEATHER_ISSUER' && k !== 'WEATHER_RESOURCE'));
    Object.assign(env, {
      HOME: ctx.home,
      CARGO_HOME: process.env.CARGO_HOME ?? path.join(realHome, '.cargo'),
      RUSTUP_HOME: process.env.RUSTUP_HOME ?? path.join(realHome, '.rustup'),
      npm_config_cache: process.env.npm_config_cache ?? path.join(realHome, '.npm'),
      // The browser is Chromium driven by this test; the client only prints the URL.
      BROWSER: 'true',
      NO_COLOR: '1',
    });
    ctx.env = env;
    browserApp = await launchBrowser();
    ({ page: ctx.page } = await newPage(browserApp));
    shell = openTerminal('readme-quickstart-terminal-1', { cwd: REPO_ROOT, env, scratchDir: path.join(scratch, 'blocks') });
  });

  after(async () => {
    await shell?.stop();
    for (const s of servers.reverse()) await s.stop();
    await browserApp?.close().catch(() => {});
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('the README has the quickstart this test knows', async () => {
    assert.ok(BLOCKS.length >= 8, `quickstart blocks found: ${BLOCKS.length}`);
    for (const e of EXPECT) {
      const n = BLOCKS.filter((b) => e.block.test(b.script)).length;
      assert.equal(n, 1, `exactly one quickstart block for "${e.what}" (${e.block}); found ${n}`);
    }
    for (const b of BLOCKS) {
      if (b.browser) assert.ok(BROWSER_STEPS[b.browser], `README line ${b.line}: unknown browser step ${b.browser}`);
      if (b.ready) assert.ok(b.terminal, `README line ${b.line}: ready= is for terminal blocks`);
    }
    const target = process.env.CARGO_TARGET_DIR ? path.resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR) : path.join(REPO_ROOT, 'target');
    assert.equal(target, path.join(REPO_ROOT, 'target'), 'the README copies from ./target: unset CARGO_TARGET_DIR');
    for (const port of [8080, 3000]) {
      assert.equal(await portInUse(port), false, `127.0.0.1:${port} is already in use; the quickstart uses the default ports`);
    }
  });

  BLOCKS.forEach((block, i) => {
    const name = `block ${i + 1} (README line ${block.line})${block.terminal ? ' in a new terminal' : ''}: ${title(block)}`;
    it(name, async () => {
      assert.ok(!failed, `not run: ${failed} failed first`);
      try {
        if (block.terminal) {
          // A new terminal starts in the home directory, with a fresh shell.
          const t = startTerminal(`readme-quickstart-terminal-${i + 1}`, block.script, { cwd: ctx.home, env: ctx.env });
          servers.push(t);
          if (block.ready) await waitReady(block.ready, t, ctx.home);
          return;
        }
        const running = shell.run(block.script, { timeoutMs: BLOCK_TIMEOUT_MS });
        if (block.browser) await BROWSER_STEPS[block.browser](ctx, running, shell);
        const out = await running;
        for (const e of EXPECT.filter((e) => e.block.test(block.script))) {
          await e.check(out, ctx);
        }
        // The servers must still be up after every step.
        for (const s of servers) assert.equal(s.exitInfo, null, `${s.name} exited:\n${s.logTail()}`);
      } catch (e) {
        failed = `block ${i + 1}`;
        throw e;
      }
    });
  });
});
