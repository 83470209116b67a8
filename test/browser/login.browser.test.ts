import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { pkce } from '../support/browser.ts';
import { launchChromium, watchPage, saveScreenshot, VIEWPORTS } from '../support/chromium.ts';

/**
 * A person signs in with an SMS code in a real Chromium, on a cheap phone and on a laptop:
 * the pages load without script errors, CSP violations or missing assets, fit a 360 px
 * screen, and end at the app with an authorization code.
 */

/** Launching Chromium and walking three pages takes a few seconds; a loaded CI machine more. */
const BROWSER_TEST_TIMEOUT_MS = 60_000;
const BRAND_RED = 'rgb(230, 0, 18)'; // --brand in chucs.css: proof the style sheet applied

interface RedirectTarget { url: string; close(): Promise<void> }

/** The app's side of the redirect: answers "ok" to anything. */
async function startRedirectTarget(): Promise<RedirectTarget> {
  const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let server: TestServer;
let target: RedirectTarget;
let chromium: Browser;
let clientId: string;

beforeAll(async () => {
  chromium = await launchChromium();
  server = await startTestServer();
  target = await startRedirectTarget();
  ({ clientId } = await server.addClient({ name: '长虹商城', firstParty: true, redirectUris: [target.url] }));
}, BROWSER_TEST_TIMEOUT_MS);
afterAll(async () => {
  await chromium?.close();
  await target?.close();
  await server?.close();
});

function authorizeUrl(state: string, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: target.url,
    state,
    nonce: randomBytes(8).toString('hex'),
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    ...extra,
  });
  return `${server.url}/auth?${q}`;
}

/** A zh-CN browser: the people CHUCS is for. */
async function newContext(viewport: keyof typeof VIEWPORTS): Promise<BrowserContext> {
  const phone = viewport === 'phone';
  return chromium.newContext({ viewport: VIEWPORTS[viewport], locale: 'zh-CN', isMobile: phone, hasTouch: phone });
}

// Page code goes in as strings: tsconfig has no DOM lib (the sources run on Node).
function overflowsHorizontally(page: Page): Promise<boolean> {
  return page.evaluate<boolean>('document.documentElement.scrollWidth > window.innerWidth');
}

function backgroundOf(page: Page, selector: string): Promise<string> {
  return page.evaluate<string>(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).backgroundColor`);
}

const sizes = [
  { viewport: 'phone' as const, typed: '138 0013 8001', phone: '+8613800138001' },
  { viewport: 'desktop' as const, typed: '138 0013 8002', phone: '+8613800138002' },
];

test.each(sizes)('on a $viewport, a phone number and its SMS code sign in and return to the app with a code', async ({ viewport, typed, phone }) => {
  const context = await newContext(viewport);
  try {
    const page = await context.newPage();
    const { problems } = watchPage(page);
    const state = randomBytes(8).toString('hex');

    await page.goto(authorizeUrl(state));
    expect(new URL(page.url()).pathname).toMatch(/^\/interaction\/[^/]+$/);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('登录长虹ID');
    expect(await backgroundOf(page, '#code-form button[type=submit]')).toBe(BRAND_RED);
    await page.getByLabel('手机号或邮箱').fill(typed);
    expect(await overflowsHorizontally(page)).toBe(false);
    await saveScreenshot(page, `login-${viewport}`);

    await page.getByRole('button', { name: '获取验证码' }).click();
    await page.waitForURL(/\/code\/send$/);
    await expect(page.getByRole('status').textContent()).resolves.toContain('验证码已发送至 138****800');
    expect(await overflowsHorizontally(page)).toBe(false);
    await saveScreenshot(page, `code-${viewport}`);

    await page.getByLabel('6 位验证码').fill(server.lastCode(phone));
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.waitForURL((url) => url.href.startsWith(target.url));

    const landed = new URL(page.url());
    expect(landed.searchParams.get('code')).toMatch(/\S{20,}/);
    expect(landed.searchParams.get('state')).toBe(state);
    expect(landed.searchParams.get('error')).toBeNull();
    expect(problems()).toEqual([]);
  } finally {
    await context.close();
  }
}, BROWSER_TEST_TIMEOUT_MS);

test('the login page is in Chinese for a Chinese browser, and in English when the app asks with ui_locales=en', async () => {
  const context = await newContext('desktop');
  try {
    const page = await context.newPage();
    const { problems } = watchPage(page);

    await page.goto(authorizeUrl('zh'));
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await page.title()).toBe('登录长虹ID · 长虹ID');
    await expect(page.getByRole('button', { name: '获取验证码' }).isVisible()).resolves.toBe(true);
    await expect(page.getByText('使用密码登录').isVisible()).resolves.toBe(true);

    await page.goto(authorizeUrl('en', { ui_locales: 'en' }));
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.title()).toBe('Sign in to Changhong ID · Changhong ID');
    await expect(page.getByRole('button', { name: 'Send code' }).isVisible()).resolves.toBe(true);
    await expect(page.getByLabel('Phone number or email').isVisible()).resolves.toBe(true);
    await expect(page.getByText('Sign in with a password').isVisible()).resolves.toBe(true);
    expect(problems()).toEqual([]);
  } finally {
    await context.close();
  }
}, BROWSER_TEST_TIMEOUT_MS);

test('the page watcher reports what the CSP blocks, a missing asset and an uncaught exception', async () => {
  const context = await newContext('desktop');
  try {
    const page = await context.newPage();
    const { problems } = watchPage(page);
    await page.goto(authorizeUrl('watch'));
    expect(problems()).toEqual([]);

    const missing = page.waitForResponse('**/assets/missing.png');
    const thrown = page.waitForEvent('pageerror');
    await page.evaluate(`{
      const script = document.createElement('script');
      script.textContent = 'document.title = "inline ran"';
      document.body.append(script);
      const img = document.createElement('img');
      img.src = '/assets/missing.png';
      document.body.append(img);
      setTimeout(() => { throw new Error('boom'); });
    }`);
    await Promise.all([missing, thrown]);

    expect(await page.title()).not.toBe('inline ran');
    const found = problems();
    expect(found).toContainEqual(expect.stringMatching(/console error: .*Content Security Policy/));
    expect(found).toContainEqual('HTTP 404: ' + new URL('/assets/missing.png', server.url).href);
    expect(found).toContainEqual('uncaught exception: boom');
  } finally {
    await context.close();
  }
}, BROWSER_TEST_TIMEOUT_MS);
