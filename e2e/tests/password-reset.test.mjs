// Issue 21: a person who forgot their password resets it through the
// browser, with the link mailed to a real SMTP server (aiosmtpd): "Forgot
// your password?" on the password step, the mail, the new-password form,
// then signing in with the new password. The link works once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { USER } from '../lib/env.mjs';
import { startAuthgate } from '../lib/authgate.mjs';
import { launchBrowser, newPage, screenshotPath, bodyText, signInWithPassword } from '../lib/browser.mjs';
import { startSmtpSink } from '../lib/smtp.mjs';

const NEW_PASSWORD = 'a brand new passphrase 42';

describe('password reset by mail in a real browser (issue 21)', () => {
  let ag, sink, browser, page;

  before(async () => {
    sink = await startSmtpSink();
    ag = await startAuthgate({
      name: 'authgate-reset',
      resources: [],
      extra: {
        smtp: {
          host: '127.0.0.1',
          port: sink.port,
          tls: 'none',
          from: 'authgate e2e <id@example.test>',
          retry_base_secs: 1,
        },
      },
    });
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await ag?.stop();
    await sink?.stop();
  });

  let link;

  it('mails a link from "Forgot your password?"', async () => {
    await page.goto(`${ag.issuer}/login`);
    await page.getByLabel('Email', { exact: true }).fill(USER.email);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL(`${ag.issuer}/password/forgot`);
    await page.screenshot({ path: screenshotPath('password-forgot') });
    await page.getByLabel('Email', { exact: true }).fill(USER.email);
    await page.getByRole('button', { name: 'Send me a link' }).click();
    assert.match(await bodyText(page), /we sent it a link/);
    const mail = await sink.waitFor(/Reset your password/);
    assert.deepEqual(mail.rcpt_tos, [USER.email]);
    link = mail.text.split(/\s+/).find((w) => w.includes('/password/reset?token='));
    assert.ok(link?.startsWith(`${ag.issuer}/password/reset?token=`), mail.text);
  });

  it('sets a new password through the link, once', async () => {
    await page.goto(link);
    await page.screenshot({ path: screenshotPath('password-reset') });
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.waitForURL(/\/login\?password_set=1$/);
    await signInWithPassword(page, USER.email, NEW_PASSWORD);
    await page.waitForURL(`${ag.issuer}/account`);
    const again = await page.goto(link);
    assert.equal(again.status(), 404);
    assert.match(await bodyText(page), /This link does not work/);
    await sink.waitFor(/was changed/);
  });
});
