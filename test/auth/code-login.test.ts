import request from 'supertest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestServer, testClock, type TestServer } from '../support/server.ts';
import { browser, pkce, authorizeUrl, runFlow, csrfOf, type Browser } from '../support/browser.ts';
import { openLoginPage, alertOf } from '../support/login-page.ts';
import { tokenRequest } from '../support/tokens.ts';

let server: TestServer;
let app: { clientId: string; clientSecret?: string };
const clock = testClock();

beforeAll(async () => {
  server = await startTestServer({
    clock,
    config: { codes: { dailyPerTarget: 3, dailyPerIp: 1000, hourlyGlobal: { sms: 1000, email: 1000 } } },
  });
  app = await server.addClient({ name: '长虹商城', firstParty: true });
});
afterAll(() => server.close());

async function signInWithCode(agent: Browser, target: string, normalised: string) {
  const { verifier, challenge } = pkce();
  const start = authorizeUrl({ clientId: app.clientId, scope: 'openid phone email', challenge });
  const { redirect, pages } = await runFlow(agent, server.url, start, { target, readCode: () => server.lastCode(normalised) });
  const token = await tokenRequest(server.url, app, {
    grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: verifier,
  });
  expect(token.status).toBe(200);
  const { payload } = await jwtVerify(token.body.id_token, createRemoteJWKSet(new URL(`${server.url}/jwks`)), { issuer: server.url, audience: app.clientId });
  return { payload, pages, accessToken: token.body.access_token as string };
}

test('an unknown phone number registers a new Changhong ID in the same flow, and signs in to it the next time', async () => {
  clock.advance(120);
  const first = await signInWithCode(browser(server.url), '138 0013 8001', '+8613800138001');
  expect(first.pages).toEqual(['login']);
  expect(first.payload.amr).toEqual(['sms']);
  const account = await server.chucs.identity.getAccount(String(first.payload.sub));
  expect(account!.identifiers).toMatchObject([{ kind: 'phone', value: '+8613800138001', verified: true, source: 'signup' }]);
  const userinfo = await request(server.url).get('/me').set('authorization', `Bearer ${first.accessToken}`);
  expect(userinfo.body).toMatchObject({ phone_number: '+8613800138001', phone_number_verified: true });

  clock.advance(61);
  const again = await signInWithCode(browser(server.url), '+86-138-0013-8001', '+8613800138001');
  expect(again.payload.sub).toBe(first.payload.sub);
  const audit = await server.database.db('audit_log').where({ subject: first.payload.sub }).orderBy('id').pluck('action');
  expect(audit).toEqual(['account.created', 'login.succeeded', 'login.succeeded']);
});

test('a known phone signs in to its account', async () => {
  clock.advance(120);
  const accountId = await server.addUser({ phone: '+8613800138002' });
  const { payload } = await signInWithCode(browser(server.url), '13800138002', '+8613800138002');
  expect(payload.sub).toBe(accountId);
});

test('an email code registers and signs in the same way', async () => {
  clock.advance(120);
  const { payload, accessToken } = await signInWithCode(browser(server.url), ' XiaoHong@Example.com ', 'xiaohong@example.com');
  expect(payload.amr).toEqual(['otp']);
  const userinfo = await request(server.url).get('/me').set('authorization', `Bearer ${accessToken}`);
  expect(userinfo.body).toMatchObject({ email: 'xiaohong@example.com', email_verified: true });
  expect(server.lastCode('xiaohong@example.com')).toMatch(/^\d{6}$/);
});

test('a phone held unverified by some account does not open that account', async () => {
  clock.advance(120);
  const legacy = await server.chucs.identity.createAccount({ identifiers: [{ kind: 'phone', value: '+8613800138003', verified: false, source: 'legacy:bbs' }], actor: 'test' });
  const { payload } = await signInWithCode(browser(server.url), '13800138003', '+8613800138003');
  expect(payload.sub).not.toBe(legacy.id);
});

async function sendCode(agent: Browser, target: string) {
  const page = await openLoginPage(agent, authorizeUrl({ clientId: app.clientId, challenge: pkce().challenge }));
  const res = await agent.post(`/interaction/${page.uid}/code/send`).type('form').send({ _csrf: page.csrf, target });
  return { ...page, res };
}

test('known and unknown numbers see the same pages', async () => {
  clock.advance(120);
  await server.addUser({ phone: '+8613800138004' });
  const known = await sendCode(browser(server.url), '13800138004');
  const unknown = await sendCode(browser(server.url), '13800138005');
  const strip = (page: { res: request.Response; uid: string; csrf: string }) =>
    page.res.text.replaceAll(page.uid, 'UID').replaceAll(page.csrf, 'CSRF').replace(/138\*\*\*\*800\d/g, 'MASKED').replace(/value="\d+"/g, 'value="N"');
  expect(known.res.status).toBe(200);
  expect(unknown.res.status).toBe(200);
  expect(strip(known)).toBe(strip(unknown));
  expect(known.res.text).toContain('验证码已发送至 138****8004');
  expect(known.res.text).toContain('自动创建长虹ID');
});

test('a wrong code shows the code page again; the fifth wrong one burns it', async () => {
  clock.advance(120);
  const agent = browser(server.url);
  const { uid, res } = await sendCode(agent, '13800138006');
  const code = server.lastCode('+8613800138006');
  const wrong = code === '000000' ? '111111' : '000000';
  let page = res;
  const alerts: (string | undefined)[] = [];
  for (let i = 0; i < 5; i++) {
    page = await agent.post(`/interaction/${uid}/code/verify`).type('form').send({ _csrf: csrfOf(page.text), target: '13800138006', code: wrong });
    expect(page.status).toBe(400);
    alerts.push(alertOf(page.text));
  }
  expect(alerts.slice(0, 4)).toEqual(Array(4).fill('验证码不正确，请重新输入。'));
  expect(alerts[4]).toBe('验证码错误次数过多，请重新获取。');
  const late = await agent.post(`/interaction/${uid}/code/verify`).type('form').send({ _csrf: csrfOf(page.text), target: '13800138006', code });
  expect(alertOf(late.text)).toBe('验证码错误次数过多，请重新获取。');
});

test('an expired code is refused with a clear message', async () => {
  clock.advance(120);
  const agent = browser(server.url);
  const { uid, res } = await sendCode(agent, '13800138007');
  clock.advance(301);
  const late = await agent.post(`/interaction/${uid}/code/verify`).type('form')
    .send({ _csrf: csrfOf(res.text), target: '13800138007', code: server.lastCode('+8613800138007') });
  expect(late.status).toBe(400);
  expect(alertOf(late.text)).toBe('验证码已过期，请重新获取。');
});

test('a resend within 60 seconds is refused with Retry-After, on the code page', async () => {
  clock.advance(120);
  const agent = browser(server.url);
  const { uid, res } = await sendCode(agent, '13800138008');
  clock.advance(15);
  const again = await agent.post(`/interaction/${uid}/code/send`).type('form').send({ _csrf: csrfOf(res.text), target: '13800138008', resend: '1' });
  expect(again.status).toBe(429);
  expect(again.headers['retry-after']).toBe('45');
  expect(again.text).toContain(`/interaction/${uid}/code/verify`);
  expect(alertOf(again.text)).toBe('验证码发送太频繁，请稍后再试。');
});

test('a phone number reaches its daily cap over HTTP', async () => {
  clock.advance(120);
  for (let i = 0; i < 3; i++) {
    expect((await sendCode(browser(server.url), '13800138009')).res.status).toBe(200);
    clock.advance(61);
  }
  const capped = await sendCode(browser(server.url), '13800138009');
  expect(capped.res.status).toBe(429);
  expect(alertOf(capped.res.text)).toContain('今日获取验证码的次数已达上限');
});

test('garbage in the phone field gets a clear message, not a code', async () => {
  const { res } = await sendCode(browser(server.url), '12345');
  expect(res.status).toBe(400);
  expect(alertOf(res.text)).toBe('请输入有效的手机号或邮箱。');
});

test('sending a code needs the CSRF token of the login page', async () => {
  const agent = browser(server.url);
  const { uid } = await sendCode(agent, '13800138010');
  const forged = await agent.post(`/interaction/${uid}/code/send`).type('form').send({ target: '13800138011' });
  expect(forged.status).toBe(403);
});

test('English when the app asks for it', async () => {
  clock.advance(120);
  const agent = browser(server.url);
  const page = await openLoginPage(agent, authorizeUrl({ clientId: app.clientId, challenge: pkce().challenge, extra: { ui_locales: 'en' } }));
  const res = await agent.post(`/interaction/${page.uid}/code/send`).type('form').send({ _csrf: page.csrf, target: '13800138012' });
  expect(res.text).toContain('We sent a code to 138****8012');
  expect(server.chucs.messaging.sms.provider).toBe('development');
});

describe('caps that protect the SMS budget, over HTTP', () => {
  let capped: TestServer;
  let shop: { clientId: string };
  beforeAll(async () => {
    capped = await startTestServer({
      config: { trustProxy: true, codes: { dailyPerIp: 2, hourlyGlobal: { sms: 6, email: 100 } } },
    });
    shop = await capped.addClient({ name: '长虹商城', firstParty: true });
  });
  afterAll(() => capped.close());

  async function sendFrom(ip: string, target: string) {
    const agent = browser(capped.url);
    const start = await agent.get(authorizeUrl({ clientId: shop.clientId, challenge: pkce().challenge }));
    const uid = /\/interaction\/([^/?]+)/.exec(start.headers.location!)![1]!;
    const page = await agent.get(`/interaction/${uid}`);
    return agent.post(`/interaction/${uid}/code/send`).set('x-forwarded-for', ip).type('form').send({ _csrf: csrfOf(page.text), target });
  }

  test('one client address gets at most its daily number of codes, whatever the numbers', async () => {
    expect((await sendFrom('203.0.113.1', '13900139001')).status).toBe(200);
    expect((await sendFrom('203.0.113.1', '13900139002')).status).toBe(200);
    const third = await sendFrom('203.0.113.1', '13900139003');
    expect(third.status).toBe(429);
    expect(alertOf(third.text)).toContain('今日获取验证码的次数已达上限');
    expect((await sendFrom('203.0.113.2', '13900139003')).status).toBe(200);
  });

  test('what the client writes into X-Forwarded-For does not make it a new address', async () => {
    expect((await sendFrom('10.9.9.1, 203.0.113.9', '13900139101')).status).toBe(200);
    expect((await sendFrom('10.9.9.2, 203.0.113.9', '13900139102')).status).toBe(200);
    expect((await sendFrom('10.9.9.3, 203.0.113.9', '13900139103')).status).toBe(429);
  });

  test('the hourly cap of all numbers together opens the breaker: nobody gets an SMS, email still works', async () => {
    expect((await sendFrom('203.0.113.3', '13900139004')).status).toBe(200); // the 6th SMS this hour
    const tripped = await sendFrom('203.0.113.4', '13900139005');
    expect(tripped.status).toBe(503);
    expect(Number(tripped.headers['retry-after'])).toBeGreaterThan(800);
    expect(alertOf(tripped.text)).toBe('短信服务繁忙，请稍后再试或使用密码登录。');
    expect((await sendFrom('203.0.113.5', '13900139006')).status).toBe(503);
    expect((await sendFrom('203.0.113.6', 'still-works@example.com')).status).toBe(200);
    expect(await capped.database.db('circuit_breakers').pluck('name')).toEqual(['codes:sms']);
  });
});
