import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { launchChromium, watchPage, saveScreenshot, VIEWPORTS } from '../support/chromium.ts';

/**
 * 我的长虹 in a real Chromium, on a cheap phone and on a laptop: a person signs in with an
 * SMS code, changes the nickname, adds an email with a code, and every page of the account
 * center loads without script errors or missing assets and fits the screen.
 */

const BROWSER_TEST_TIMEOUT_MS = 90_000;

let server: TestServer;
let chromium: Browser;

beforeAll(async () => {
  chromium = await launchChromium();
  server = await startTestServer();
}, BROWSER_TEST_TIMEOUT_MS);
afterAll(async () => {
  await chromium?.close();
  await server?.close();
});

async function newContext(viewport: keyof typeof VIEWPORTS): Promise<BrowserContext> {
  const phone = viewport === 'phone';
  return chromium.newContext({ viewport: VIEWPORTS[viewport], locale: 'zh-CN', isMobile: phone, hasTouch: phone });
}

// Page code goes in as a string: tsconfig has no DOM lib (the sources run on Node).
function overflowsHorizontally(page: Page): Promise<boolean> {
  return page.evaluate<boolean>('document.documentElement.scrollWidth > window.innerWidth');
}

const PAGES = ['个人资料', '手机号与邮箱', '密码', '已授权的应用', '我的设备', '第三方账号', '安全记录'];

const people = [
  { viewport: 'phone' as const, typed: '138 0013 8101', phone: '+8613800138101', email: 'phone-user@example.com' },
  { viewport: 'desktop' as const, typed: '138 0013 8102', phone: '+8613800138102', email: 'desktop-user@example.com' },
];

test.each(people)('on a $viewport: sign in with an SMS code, change the nickname, add an email', async ({ viewport, typed, phone, email }) => {
  const context = await newContext(viewport);
  try {
    const page = await context.newPage();
    const { problems } = watchPage(page);

    // Signing in goes through the provider's login page, like any app's.
    await page.goto(`${server.url}/account`);
    expect(new URL(page.url()).pathname).toMatch(/^\/interaction\//);
    await page.getByLabel('手机号或邮箱').fill(typed);
    await page.getByRole('button', { name: '获取验证码' }).click();
    await page.getByLabel('6 位验证码').fill(server.lastCode(phone));
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.waitForURL(`${server.url}/account`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('你好，138****' + phone.slice(-4));

    await page.getByRole('link', { name: '个人资料' }).click();
    await page.getByLabel('昵称').fill('小虹');
    await page.getByRole('button', { name: '保存' }).click();
    await page.waitForURL(`${server.url}/account?done=saved`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('你好，小虹');
    await expect(page.getByRole('status').textContent()).resolves.toBe('已保存。');

    await page.getByRole('link', { name: '手机号与邮箱' }).click();
    await page.getByLabel('手机号或邮箱').fill(email);
    await page.getByRole('button', { name: '获取验证码' }).click();
    await page.getByLabel('6 位验证码').fill(server.lastCode(email));
    await page.getByRole('button', { name: '确认添加' }).click();
    await page.waitForURL(`${server.url}/account/identifiers?done=added`);
    await expect(page.getByText(email).isVisible()).resolves.toBe(true);
    expect(await overflowsHorizontally(page)).toBe(false);
    await saveScreenshot(page, `account-identifiers-${viewport}`);

    await page.goto(`${server.url}/account`);
    expect(await overflowsHorizontally(page)).toBe(false);
    await saveScreenshot(page, `account-${viewport}`);

    for (const name of PAGES) {
      await page.goto(`${server.url}/account`);
      await page.getByRole('link', { name, exact: true }).click();
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(name);
      expect(await overflowsHorizontally(page)).toBe(false);
    }
    await saveScreenshot(page, `account-security-${viewport}`);

    const account = await server.chucs.identity.getAccount((await server.database.db('identifiers').where({ value: phone }).first('account_id')).account_id);
    expect(account!.profile.nickname).toBe('小虹');
    expect(account!.identifiers.map((i) => [i.kind, i.value, i.verified])).toEqual([['phone', phone, true], ['email', email, true]]);
    expect(problems()).toEqual([]);
  } finally {
    await context.close();
  }
}, BROWSER_TEST_TIMEOUT_MS);
