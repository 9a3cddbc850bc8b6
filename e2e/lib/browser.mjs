// Debian's Chromium driven by playwright-core (no browser download): the
// person who signs in and approves.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS_DIR, CHROMIUM, WAIT_MS, ensureDir } from './env.mjs';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/**
 * Launches headless Chromium. playwright-core gives every launch a fresh,
 * temporary --user-data-dir and removes it on close.
 */
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) or run e2e/run.sh`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: WAIT_MS,
  });
}

export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  const page = await context.newPage();
  return { context, page };
}

export function screenshotPath(name) {
  return path.join(ensureDir(ARTIFACTS_DIR), `${name}.png`);
}

/**
 * Walks /authorize as a person would: opens `authorizationUrl`, signs in if
 * the sign-in page shows, then answers the consent page (if it shows) with
 * `decision` ('allow' | 'deny'), and waits until the browser reaches
 * `redirectUri`. Returns what was seen along the way.
 *
 * @param {import('playwright-core').Page} page
 */
/**
 * Signs in on authgate's email-first sign-in page: the email, "Continue",
 * then the password (the password step also shows the email, so this works
 * from either step).
 *
 * @param {import('playwright-core').Page} page
 */
export async function signInWithPassword(page, email, password) {
  await page.getByLabel('Email', { exact: true }).fill(email);
  const next = page.getByRole('button', { name: 'Continue', exact: true });
  if (await next.isVisible().catch(() => false)) {
    await next.click();
    await page.getByLabel('Password', { exact: true }).waitFor();
  }
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

export async function authorizeInBrowser(page, authorizationUrl, { redirectUri, user, decision = 'allow', shots = {}, expectConsent } = {}) {
  const seen = { signIn: false, consent: false, consentText: '' };
  const atRedirect = (u) => u.toString().startsWith(redirectUri);
  await page.goto(authorizationUrl.toString());

  // The sign-in page asks for the email first ("Continue"), then the
  // password ("Sign in").
  const signInPage = page.getByRole('button', { name: 'Sign in', exact: true })
    .or(page.getByRole('button', { name: 'Continue', exact: true }));
  const consentPage = page.getByRole('button', { name: 'Allow', exact: true });

  // Where did /authorize send us: sign-in, consent, or straight back?
  const where = async () => {
    const deadline = Date.now() + WAIT_MS;
    while (Date.now() < deadline) {
      if (atRedirect(page.url())) return 'redirect';
      if (await signInPage.isVisible().catch(() => false)) return 'signin';
      if (await consentPage.isVisible().catch(() => false)) return 'consent';
      await page.waitForTimeout(50);
    }
    throw new Error(`neither sign-in, consent nor the redirect after ${WAIT_MS} ms; at ${page.url()}:\n${await bodyText(page)}`);
  };

  let at = await where();
  if (at === 'signin') {
    seen.signIn = true;
    if (!user) throw new Error('the sign-in page showed but no user was given');
    if (shots.signIn) await page.screenshot({ path: screenshotPath(shots.signIn), fullPage: true });
    await signInWithPassword(page, user.email, user.password);
    await page.waitForLoadState();
    at = await where();
    if (at === 'signin') {
      throw new Error(`still on the sign-in page after signing in:\n${await bodyText(page)}`);
    }
  }
  if (at === 'consent') {
    seen.consent = true;
    seen.consentText = await bodyText(page);
    if (shots.consent) await page.screenshot({ path: screenshotPath(shots.consent), fullPage: true });
    const button = page.getByRole('button', { name: decision === 'deny' ? 'Deny' : 'Allow', exact: true });
    await Promise.all([page.waitForURL(atRedirect), button.click()]);
  } else if (expectConsent) {
    throw new Error(`expected the consent page, but /authorize redirected straight to ${page.url()}`);
  }
  await page.waitForURL(atRedirect);
  seen.url = new URL(page.url());
  return seen;
}

export async function bodyText(page) {
  try {
    return (await page.locator('body').innerText({ timeout: 2000 })).slice(0, 2000);
  } catch {
    return '(no body)';
  }
}
