import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { pkce } from '../support/browser.ts';
import { launchChromium, watchPage, saveScreenshot, VIEWPORTS } from '../support/chromium.ts';

/**
 * Two apps of two brands, 长虹 and 美菱, in a real Chromium: each login page wears its own
 * brand (colour from the brand's style sheet, logo, name) under the strict CSP, with no
 * console errors or failed assets. Screenshots: login-brand-changhong.png, login-brand-meiling.png.
 */

const BROWSER_TEST_TIMEOUT_MS = 60_000;
const REDIRECT_URI = 'http://127.0.0.1:9/cb'; // never reached: the test stops at the login page

const MEILING_BLUE = '#0067b1';
const MEILING_LOGO = `data:image/svg+xml,${encodeURIComponent(
  '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="32" viewBox="0 0 96 32">'
  + `<rect width="96" height="32" rx="6" fill="${MEILING_BLUE}"/>`
  + '<text x="48" y="22" font-size="16" font-family="sans-serif" fill="#fff" text-anchor="middle">MeiLing</text></svg>',
)}`;

const BRANDS = [
  { brand: 'changhong', app: '长虹商城', color: 'rgb(230, 0, 18)', logo: { text: '长虹' } },
  { brand: 'meiling', app: '美菱冰箱', color: 'rgb(0, 103, 177)', logo: { alt: '美菱' } },
] as const;

let server: TestServer;
let chromium: Browser;
const clientIds = new Map<string, string>();

beforeAll(async () => {
  chromium = await launchChromium();
  server = await startTestServer();
  await server.chucs.brands.add({
    id: 'meiling', name: { zh: '美菱', en: 'MeiLing' }, logoUrl: MEILING_LOGO, colors: { primary: MEILING_BLUE },
    legal: { termsUrl: 'https://meiling.example/terms', privacyUrl: 'https://meiling.example/privacy' },
  }, 'test');
  for (const { brand, app } of BRANDS) {
    clientIds.set(brand, (await server.addClient({ name: app, brand, public: true, redirectUris: [REDIRECT_URI] })).clientId);
  }
}, BROWSER_TEST_TIMEOUT_MS);
afterAll(async () => {
  await chromium?.close();
  await server?.close();
});

function authorizeUrl(clientId: string): string {
  const q = new URLSearchParams({
    client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI,
    code_challenge: pkce().challenge, code_challenge_method: 'S256',
    state: randomBytes(8).toString('hex'), nonce: randomBytes(8).toString('hex'),
  });
  return `${server.url}/auth?${q}`;
}

// Page code goes in as strings: tsconfig has no DOM lib (the sources run on Node).
function backgroundOf(page: Page, selector: string): Promise<string> {
  return page.evaluate<string>(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).backgroundColor`);
}

/** Whether the header's logo image loaded and has a size (a broken or blocked image has none). */
function logoLoaded(page: Page): Promise<boolean> {
  return page.evaluate<boolean>("(() => { const img = document.querySelector('header img.logo-image'); return !!img && img.complete && img.naturalWidth > 0; })()");
}

test('the login pages of two apps wear their two brands', async () => {
  const context = await chromium.newContext({ viewport: VIEWPORTS.phone, locale: 'zh-CN', isMobile: true, hasTouch: true });
  try {
    const seen: string[] = [];
    for (const { brand, app, color, logo } of BRANDS) {
      const page = await context.newPage();
      const { problems } = watchPage(page);
      await page.goto(authorizeUrl(clientIds.get(brand)!));
      expect(new URL(page.url()).pathname).toMatch(/^\/interaction\/[^/]+$/);
      await expect(page.getByText(`以继续使用 ${app}`).count()).resolves.toBe(1);
      await expect(page.locator('header').getByText('长虹ID').count()).resolves.toBe(1);

      const button = await backgroundOf(page, '#code-form button[type=submit]');
      expect(button).toBe(color);
      seen.push(button);
      if ('alt' in logo) {
        await expect(page.getByRole('img', { name: logo.alt }).count()).resolves.toBe(1);
        expect(await logoLoaded(page)).toBe(true);
        await expect(page.getByRole('link', { name: '《长虹ID用户协议》' }).getAttribute('href')).resolves.toBe('https://meiling.example/terms');
      } else {
        await expect(page.locator('header .logo').textContent()).resolves.toBe(logo.text);
        expect(await backgroundOf(page, 'header .logo')).toBe(color);
      }
      await saveScreenshot(page, `login-brand-${brand}`);
      expect(problems()).toEqual([]);
      await page.close();
    }
    expect(seen[0]).not.toBe(seen[1]);
  } finally {
    await context.close();
  }
}, BROWSER_TEST_TIMEOUT_MS);
