import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../support/server.ts';
import { pkce } from '../support/browser.ts';
import { launchChromium, watchPage, saveScreenshot, VIEWPORTS } from '../support/chromium.ts';
import { startFakeWechat, type FakeUpstream, type WechatPerson } from '../support/fake-upstreams.ts';

/**
 * In a real Chromium on a phone: sign in with (a fake of) WeChat for the first time, and link
 * that WeChat to the Changhong ID the person already has by an SMS code to its phone.
 */

const BROWSER_TEST_TIMEOUT_MS = 90_000;

let server: TestServer;
let wechat: FakeUpstream<WechatPerson>;
let chromium: Browser;
let shop: Server;
let shopUrl: string;

beforeAll(async () => {
  chromium = await launchChromium();
  wechat = await startFakeWechat();
  server = await startTestServer({
    config: { upstreams: [{ kind: 'wechat', id: 'wechat', clientId: wechat.appId, clientSecret: wechat.appSecret, endpoints: wechat.endpoints }] },
  });
  shop = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
  shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}/cb`;
}, BROWSER_TEST_TIMEOUT_MS);
afterAll(async () => {
  await chromium?.close();
  shop?.closeAllConnections();
  await new Promise<void>((resolve) => (shop ? shop.close(() => resolve()) : resolve()));
  await server?.close();
  await wechat?.close();
});

test('first WeChat sign-in, linked to an existing Changhong ID by SMS code', async () => {
  const existing = await server.addUser({ phone: '+8613800138600' });
  const { clientId } = await server.addClient({ name: '长虹商城', firstParty: true, redirectUris: [shopUrl] });
  wechat.signInAs({ openid: 'oBrowser-1', unionid: 'oUnion-browser-1', nickname: '扫码的人', sex: 2, headimgurl: 'https://thirdwx.qlogo.cn/mmopen/b/132' });

  const context = await chromium.newContext({ viewport: VIEWPORTS.phone, locale: 'zh-CN', isMobile: true, hasTouch: true });
  try {
    const page = await context.newPage();
    const { problems } = watchPage(page);
    const state = randomBytes(8).toString('hex');
    const q = new URLSearchParams({
      client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: shopUrl, state,
      nonce: randomBytes(8).toString('hex'), code_challenge: pkce().challenge, code_challenge_method: 'S256',
    });
    await page.goto(`${server.url}/auth?${q}`);
    await saveScreenshot(page, 'login-with-upstreams-phone');
    await page.getByRole('button', { name: '微信登录' }).click();

    // Back from WeChat: first time here, so CHUCS asks; the person signs in to their own ID.
    await page.getByText('这是你第一次用微信（扫码的人）登录长虹ID').waitFor();
    await saveScreenshot(page, 'wechat-first-time-phone');
    await page.getByLabel('手机号或邮箱').fill('138 0013 8600');
    await page.getByRole('button', { name: '获取验证码' }).click();
    await page.getByLabel('6 位验证码').fill(server.lastCode('+8613800138600'));
    await page.getByRole('button', { name: '登录', exact: true }).click();
    // Asked before the WeChat joins the account just proved.
    await page.getByText('要把微信账号“扫码的人”关联到长虹ID 138****8600 吗？').waitFor();
    await saveScreenshot(page, 'wechat-link-confirm-phone');
    await page.getByRole('button', { name: '关联并继续' }).click();
    await page.waitForURL((url) => url.href.startsWith(shopUrl));

    const landed = new URL(page.url());
    expect(landed.searchParams.get('code')).toBeTruthy();
    expect(landed.searchParams.get('state')).toBe(state);
    const links = await server.database.db('external_identities').where({ provider: 'wechat' }).select('account_id', 'subject');
    expect(links).toEqual([{ account_id: existing, subject: `${wechat.appId}:oBrowser-1` }]);
    expect(problems()).toEqual([]);
  } finally {
    await context.close();
  }
}, BROWSER_TEST_TIMEOUT_MS);
