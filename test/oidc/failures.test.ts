import request from 'supertest';
import type { Response } from 'supertest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, pkce, authorizeUrl, runFlow, type Browser } from '../support/browser.ts';
import { openLoginPage, alertOf, type LoginPage } from '../support/login-page.ts';
import { basic } from '../support/tokens.ts';

/**
 * What an app (RP) gets wrong and what an attacker tries: each must end in a clear 4xx
 * that tells the person or the app what happened, never a 5xx and never a stray redirect.
 */

const RP = 'http://127.0.0.1:9/cb';
const PASSWORD = 'correct horse battery staple';
const MESSAGES = {
  invalidCredentials: '账号或密码不正确。',
  throttled: '尝试次数过多，请稍后再试。',
  throttledEn: 'Too many attempts. Please try again later.',
  csrf: '页面已过期，请返回重试。',
};

function expectNoRedirect(res: Response) {
  expect(res.headers.location).toBeUndefined();
}

function login(agent: Browser, page: LoginPage, fields: Record<string, unknown>, headers: Record<string, string> = {}) {
  return agent.post(`/interaction/${page.uid}/login`).type('form').set(headers).send({ _csrf: page.csrf, ...fields });
}

/** Follows a successful login POST to the app and returns the code it received. */
async function codeAfterLogin(agent: Browser, base: string, res: Response): Promise<string | null> {
  expect(res.status).toBe(303);
  const { redirect } = await runFlow(agent, base, new URL(res.headers.location!, base).pathname);
  return redirect.searchParams.get('code');
}

describe('requests an app gets wrong, and login failures', () => {
  let server: TestServer;
  let app: { clientId: string; clientSecret?: string };
  let spa: { clientId: string };
  const phone = '13800138001';

  beforeAll(async () => {
    // The address rule stays out of the way here: these tests all come from 127.0.0.1.
    server = await startTestServer({ config: { throttle: { ip: { freeFailures: 1000, baseDelaySeconds: 1, maxDelaySeconds: 1, forgetAfterSeconds: 60 } } } });
    app = await server.addClient({ name: '长虹商城', firstParty: true });
    spa = await server.addClient({ name: '单页应用', public: true });
    await server.addUser({ phone: `+86${phone}` });
  });
  afterAll(() => server.close());

  describe('an unregistered redirect_uri', () => {
    const start = () => authorizeUrl({ clientId: app.clientId, redirectUri: 'https://evil.example/cb' });

    test('stops at an error page in Chinese, without redirecting anywhere', async () => {
      const res = await request(server.url).get(start());
      expect(res.status).toBe(400);
      expect(res.type).toBe('text/html');
      expectNoRedirect(res);
      expect(res.text).toContain('lang="zh-CN"');
      expect(alertOf(res.text)).toBe('该应用的回调地址未注册，已停止登录以保护你的账号。');
      expect(res.text).not.toContain('evil.example');
    });

    test('speaks English to a browser that asks for it', async () => {
      const res = await request(server.url).get(start()).set('accept-language', 'en-GB,en;q=0.9');
      expect(res.status).toBe(400);
      expectNoRedirect(res);
      expect(res.text).toContain('lang="en"');
      expect(alertOf(res.text)).toBe('The app’s return address is not registered; sign-in was stopped to protect your account.');
    });
  });

  describe('a public client', () => {
    test('without code_challenge gets invalid_request back at its redirect URI', async () => {
      const res = await request(server.url).get(authorizeUrl({ clientId: spa.clientId, extra: { state: 'st-1' } }));
      expect(res.status).toBe(303);
      const back = new URL(res.headers.location!);
      expect(`${back.origin}${back.pathname}`).toBe(RP);
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('error_description')).toMatch(/PKCE/);
      expect(back.searchParams.get('state')).toBe('st-1');
      expect(back.searchParams.get('code')).toBeNull();
    });

    test('with code_challenge_method=plain is refused', async () => {
      const { verifier } = pkce();
      const res = await request(server.url).get(authorizeUrl({
        clientId: spa.clientId, extra: { code_challenge: verifier, code_challenge_method: 'plain' },
      }));
      expect(res.status).toBe(303);
      const back = new URL(res.headers.location!);
      expect(`${back.origin}${back.pathname}`).toBe(RP);
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('code')).toBeNull();
    });
  });

  describe('a wrong password', () => {
    test('shows the login page again with 401, and no code', async () => {
      const agent = browser(server.url);
      const page = await openLoginPage(agent, authorizeUrl({ clientId: app.clientId }));
      const res = await login(agent, page, { identifier: phone, password: 'not the password' });
      expect(res.status).toBe(401);
      expectNoRedirect(res);
      expect(res.text).toContain(`action="/interaction/${page.uid}/login"`);
      expect(alertOf(res.text)).toBe(MESSAGES.invalidCredentials);
      expect(res.text).toContain(`value="${phone}"`); // what was typed stays in the box

      // The same page still works with the right password.
      const again = await login(agent, page, { identifier: phone, password: PASSWORD });
      expect(await codeAfterLogin(agent, server.url, again)).toBeTruthy();
    });

    test('says the same for an unknown phone as for a known one', async () => {
      const agent = browser(server.url);
      const page = await openLoginPage(agent, authorizeUrl({ clientId: app.clientId }));
      const known = await login(agent, page, { identifier: phone, password: 'wrong password 1' });
      const unknown = await login(agent, page, { identifier: '13900139000', password: 'wrong password 1' });
      expect(unknown.status).toBe(known.status);
      expect(alertOf(unknown.text)).toBe(alertOf(known.text));
      expect(alertOf(unknown.text)).toBe(MESSAGES.invalidCredentials);
      expectNoRedirect(unknown);
    });
  });

  describe('CSRF on the login form', () => {
    test.each([
      ['without a token', {}],
      ['with a made-up token', { _csrf: 'Zm9yZ2VkLXRva2Vu' }],
      ['with two tokens', { _csrf: ['a', 'b'] }],
    ])('a login POST %s is refused with 403 and does not sign in', async (_name, csrfField) => {
      const agent = browser(server.url);
      const page = await openLoginPage(agent, authorizeUrl({ clientId: app.clientId }));
      const res = await agent.post(`/interaction/${page.uid}/login`).type('form')
        .send({ identifier: phone, password: PASSWORD, ...csrfField });
      expect(res.status).toBe(403);
      expectNoRedirect(res);
      expect(alertOf(res.text)).toBe(MESSAGES.csrf);
      // Still at the login prompt: nobody was signed in.
      const after = await agent.get(`/interaction/${page.uid}`);
      expect(after.text).toContain(`/interaction/${page.uid}/login`);
    });

    test("the attacker's own valid token, from another interaction, is refused", async () => {
      const attacker = browser(server.url);
      const attackersPage = await openLoginPage(attacker, authorizeUrl({ clientId: app.clientId }));
      const victim = browser(server.url);
      const page = await openLoginPage(victim, authorizeUrl({ clientId: app.clientId }));
      const res = await login(victim, { ...page, csrf: attackersPage.csrf }, { identifier: phone, password: PASSWORD });
      expect(res.status).toBe(403);
      expectNoRedirect(res);
    });
  });
});

describe('login throttling', () => {
  let server: TestServer;
  let app: { clientId: string };
  const start = () => authorizeUrl({ clientId: app.clientId });
  const from = (ip: string) => ({ 'x-forwarded-for': ip });

  beforeAll(async () => {
    server = await startTestServer({
      config: {
        trustProxy: true, // so X-Forwarded-For can stand for people at different addresses
        throttle: {
          identifier: { freeFailures: 3, baseDelaySeconds: 60, maxDelaySeconds: 120, forgetAfterSeconds: 3600 },
          ip: { freeFailures: 5, baseDelaySeconds: 60, maxDelaySeconds: 120, forgetAfterSeconds: 3600 },
        },
      },
    });
    app = await server.addClient({ name: '长虹商城', firstParty: true });
    await Promise.all(['13700000001', '13700000002', '13700000003', '13700000004']
      .map((p) => server.addUser({ phone: `+86${p}` })));
  });
  afterAll(() => server.close());

  async function failLogins(ip: string, identifiers: string[]) {
    const agent = browser(server.url);
    const page = await openLoginPage(agent, start());
    for (const identifier of identifiers) {
      const res = await login(agent, page, { identifier, password: 'a wrong guess' }, from(ip));
      expect(res.status).toBe(401);
    }
  }

  async function attempt(ip: string, identifier: string, password = PASSWORD, headers: Record<string, string> = {}) {
    const agent = browser(server.url);
    const page = await openLoginPage(agent, start());
    return { agent, res: await login(agent, page, { identifier, password }, { ...from(ip), ...headers }) };
  }

  function expectThrottled(res: Response, maxWait: number) {
    expect(res.status).toBe(429);
    expectNoRedirect(res);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(maxWait);
    expect(alertOf(res.text)).toBe(MESSAGES.throttled);
  }

  test('after the free failures, even the right password gets 429 with Retry-After', async () => {
    await failLogins('10.0.1.1', ['13700000001', '13700000001', '13700000001']);
    const { res } = await attempt('10.0.1.1', '13700000001');
    expectThrottled(res, 60);

    const english = await attempt('10.0.1.1', '13700000001', PASSWORD, { 'accept-language': 'en' });
    expect(english.res.status).toBe(429);
    expect(alertOf(english.res.text)).toBe(MESSAGES.throttledEn);
  });

  test('is per identifier: another account from the same address still signs in, the throttled one not from elsewhere', async () => {
    await failLogins('10.0.2.1', ['13700000002', '13700000002', '13700000002']);
    const other = await attempt('10.0.2.1', '13700000003');
    expect(await codeAfterLogin(other.agent, server.url, other.res)).toBeTruthy();

    const elsewhere = await attempt('10.0.2.99', '13700000002');
    expectThrottled(elsewhere.res, 60);
  });

  test('counts one phone written in different ways as one identifier', async () => {
    await failLogins('10.0.3.1', ['13700000004', '+86 137 0000 0004', '137-0000-0004']);
    const { res } = await attempt('10.0.3.2', '8613700000004');
    expectThrottled(res, 60);
  });

  test('per address: failures spread over many identifiers trip the address rule, not other addresses', async () => {
    await failLogins('10.0.4.1', ['13600000001', '13600000002', '13600000003', '13600000004', '13600000005']);
    const { res } = await attempt('10.0.4.1', '13700000003');
    expectThrottled(res, 60);

    const elsewhere = await attempt('10.0.4.2', '13700000003');
    expect(await codeAfterLogin(elsewhere.agent, server.url, elsewhere.res)).toBeTruthy();
  });
});
