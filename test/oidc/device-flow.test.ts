import request from 'supertest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, csrfOf, type Browser, type PasswordPerson } from '../support/browser.ts';
import { formOn, submission } from '../support/forms.ts';

/**
 * RFC 8628: a TV asks for a code, the person types it on their phone, signs in and
 * confirms; meanwhile the TV polls the token endpoint.
 */
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

let server: TestServer;
let tv: { clientId: string };
const person: PasswordPerson = { identifier: 'tv-owner@example.com', password: 'correct horse battery staple' };
let accountId: string;

beforeAll(async () => {
  server = await startTestServer();
  tv = await server.addClient({ name: '长虹电视', firstParty: true, public: true, grantTypes: [DEVICE_CODE_GRANT], redirectUris: [] });
  accountId = await server.addUser({ email: 'tv-owner@example.com' });
});
afterAll(() => server.close());

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval?: number;
}

async function startOnDevice(): Promise<DeviceAuthorization> {
  const res = await request(server.url).post('/device/auth').type('form').send({ client_id: tv.clientId, scope: 'openid' });
  expect(res.status).toBe(200);
  return res.body as DeviceAuthorization;
}

function poll(deviceCode: string) {
  return request(server.url).post('/token').type('form')
    .send({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: tv.clientId });
}

/** The path and query of a URL on CHUCS. */
function onServer(url: string): string {
  const u = new URL(url, server.url);
  expect(u.origin).toBe(server.url);
  return `${u.pathname}${u.search}`;
}

/**
 * Follows redirects within CHUCS, signing in (and consenting) on our pages when asked,
 * until another page shows. Returns that page and the interaction pages seen on the way.
 */
async function follow(agent: Browser, res: request.Response, who?: PasswordPerson) {
  const pages: string[] = [];
  for (let step = 0; step < 20; step++) {
    if (res.status >= 300 && res.status < 400) {
      res = await agent.get(onServer(res.headers.location!));
      continue;
    }
    const interaction = /action="(\/interaction\/[^/"]+)\/(login|confirm)"/.exec(res.text);
    if (res.status === 200 && interaction?.[2] === 'login') {
      if (!who) throw new Error('login page reached, but no person to sign in');
      pages.push('login');
      res = await agent.post(`${interaction[1]}/login`).type('form')
        .send({ _csrf: csrfOf(res.text), identifier: who.identifier, password: who.password });
      continue;
    }
    if (res.status === 200 && interaction?.[2] === 'confirm') {
      pages.push('consent');
      res = await agent.post(`${interaction[1]}/confirm`).type('form').send({ _csrf: csrfOf(res.text) });
      continue;
    }
    return { page: res, pages };
  }
  throw new Error('too many steps');
}

/** Opens the link from the TV (or QR code): the page submits the code by itself. */
async function openCompleteLink(agent: Browser, link: string) {
  const autoSubmit = await agent.get(onServer(link));
  expect(autoSubmit.status).toBe(200);
  const form = formOn(autoSubmit.text, { action: /\/device$/ });
  return agent.post(onServer(form.action)).type('form').send(submission(form));
}

/** Opens /device and types the code into our page (posted to `path`, by default where the form says). */
async function typeCode(agent: Browser, userCode: string, path?: string) {
  const page = await agent.get('/device');
  expect(page.status).toBe(200);
  const form = formOn(page.text, { id: 'op.deviceInputForm' });
  return agent.post(path ?? onServer(form.action)).type('form').send(submission(form, { typed: { user_code: userCode } }));
}

function pressOnConfirmPage(agent: Browser, page: request.Response, press?: { name: string; value: string }) {
  const form = formOn(page.text, { id: 'op.deviceConfirmForm' });
  return agent.post(onServer(form.action)).type('form').send(submission(form, { press }));
}

test('the device gets a short numeric code and where to enter it, and waits for the person', async () => {
  const auth = await startOnDevice();
  expect(auth.user_code).toMatch(/^\d{4}-\d{4}$/);
  expect(auth.verification_uri).toBe(`${server.url}/device`);
  expect(new URL(auth.verification_uri_complete).searchParams.get('user_code')).toBe(auth.user_code);
  expect(auth.expires_in).toBeGreaterThan(0);

  const pending = await poll(auth.device_code);
  expect(pending.status).toBe(400);
  expect(pending.body.error).toBe('authorization_pending');
});

test('opening the link, signing in and confirming gives the device tokens for the person', async () => {
  const auth = await startOnDevice();
  const agent = browser(server.url);

  const confirmPage = await openCompleteLink(agent, auth.verification_uri_complete);
  expect(confirmPage.status).toBe(200);
  expect(confirmPage.text).toContain('确认在 长虹电视 上登录？');
  expect(confirmPage.text).toContain(auth.user_code);

  const { page: done, pages } = await follow(agent, await pressOnConfirmPage(agent, confirmPage), person);
  expect(pages).toEqual(['login']); // Changhong's own TV: no consent page
  expect(done.status).toBe(200);
  expect(done.text).toContain('登录成功，请回到设备上继续。');

  const token = await poll(auth.device_code);
  expect(token.status).toBe(200);
  const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
  const { payload } = await jwtVerify(token.body.id_token, jwks, { issuer: server.url, audience: tv.clientId });
  expect(payload.sub).toBe(accountId);

  const userinfo = await request(server.url).get('/me').set('authorization', `Bearer ${token.body.access_token}`);
  expect(userinfo.status).toBe(200);
  expect(userinfo.body.sub).toBe(accountId);

  const again = await poll(auth.device_code);
  expect(again.status).toBe(400);
  expect(again.body.error).toBe('invalid_grant');
});

test('typing the code on /device works the same, in Chinese', async () => {
  const auth = await startOnDevice();
  const agent = browser(server.url);

  const inputPage = await agent.get('/device');
  expect(inputPage.text).toContain('请输入电视或设备上显示的代码');

  const confirmPage = await typeCode(agent, auth.user_code);
  expect(confirmPage.status).toBe(200);
  expect(confirmPage.text).toContain('确认在 长虹电视 上登录？');

  const { page: done } = await follow(agent, await pressOnConfirmPage(agent, confirmPage), person);
  expect(done.text).toContain('登录成功，请回到设备上继续。');
  const token = await poll(auth.device_code);
  expect(token.status).toBe(200);
  expect(token.body.access_token).toBeTruthy();
});

test('a wrong code is refused on the page, the device keeps waiting, and the right code then works', async () => {
  const auth = await startOnDevice();
  const agent = browser(server.url);
  const wrong = auth.user_code === '0000-0000' ? '1111-1111' : '0000-0000';

  const page = await typeCode(agent, wrong);
  expect(page.text).toContain('代码无效或已过期，请检查后重试。');
  expect(page.text).not.toContain('确认在');

  expect((await poll(auth.device_code)).body.error).toBe('authorization_pending');

  const retry = formOn(page.text, { id: 'op.deviceInputForm' });
  const confirmPage = await agent.post(onServer(retry.action)).type('form').send(submission(retry, { typed: { user_code: auth.user_code } }));
  expect(confirmPage.text).toContain('确认在 长虹电视 上登录？');
});

test('cancelling on the confirm page gives access_denied to the device', async () => {
  const auth = await startOnDevice();
  const agent = browser(server.url);

  const confirmPage = await openCompleteLink(agent, auth.verification_uri_complete);
  const cancelled = await pressOnConfirmPage(agent, confirmPage, { name: 'abort', value: 'yes' });
  expect(cancelled.status).toBe(200);
  expect(cancelled.text).toContain('已取消设备登录。');

  const denied = await poll(auth.device_code);
  expect(denied.status).toBe(400);
  expect(denied.body.error).toBe('access_denied');
});

test('a stranger guessing device codes is stopped after 20 wrong ones; the right code does not count', async () => {
  const db = server.database.db;
  const counted = async () => (await db('throttles').where('key', 'like', 'device:user_code:ip:%').first())?.failures ?? 0;
  await db('throttles').delete();
  const auth = await startOnDevice();
  const agent = browser(server.url);

  expect((await typeCode(agent, auth.user_code)).text).toContain('确认在 长虹电视 上登录？');
  expect(await counted()).toBe(0);

  const wrong = auth.user_code === '0000-0000' ? '1111-1111' : '0000-0000';
  // oidc-provider's router takes /device in any case and with a trailing slash: each counts.
  for (let i = 0; i < 20; i++) expect((await typeCode(agent, wrong, ['/device', '/device/', '/DEVICE'][i % 3])).text).toContain('代码无效或已过期');
  expect(await counted()).toBe(20);

  const refused = await typeCode(agent, auth.user_code);
  expect(refused.status).toBe(429);
  expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  expect(refused.text).toContain('输入错误的代码次数过多');
  expect(refused.text).not.toContain('确认在');
  await db('throttles').delete();
});
