import { connect } from 'node:net';
import request from 'supertest';
import type { Response } from 'supertest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, pkce, authorizeUrl, runFlow, type Browser } from '../support/browser.ts';
import { openLoginPage, alertOf, type LoginPage } from '../support/login-page.ts';
import { basic } from '../support/tokens.ts';
import { enterDeviceCode } from '../support/device.ts';

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

/** Every request here comes from 127.0.0.1: keep the per-address login throttle out of the way. */
const NO_ADDRESS_THROTTLE = { throttle: { ip: { freeFailures: 1000, baseDelaySeconds: 1, maxDelaySeconds: 1, forgetAfterSeconds: 60 } } };

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
    server = await startTestServer({ config: NO_ADDRESS_THROTTLE });
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

/**
 * Malformed and oversized input at every endpoint in discovery (and the pages they lead to):
 * garbage, duplicated parameters, 100 KB values, wrong content types, bad client
 * authentication, unknown clients, arrays where strings belong. Each row says what the caller
 * gets back; none may be a 5xx.
 *
 * | expect   | meaning                                                                  |
 * |----------|--------------------------------------------------------------------------|
 * | oauth    | 4xx with an OAuth error JSON body (`error`, and the code when one is given) |
 * | page     | 4xx HTML page for a person, with the reason in its alert box             |
 * | rp       | 303 to the app's registered redirect URI, carrying `error` and no code   |
 * | 4xx      | any 4xx: refused before our code (routing, body or header size)          |
 * | inactive | 200 `{ active: false }`: introspection of a token it does not know       |
 * | ok       | harmless input rightly accepted (2xx or 3xx)                             |
 */
describe('malformed and oversized parameters', () => {
  type Expect = 'oauth' | 'page' | 'rp' | '4xx' | 'inactive' | 'ok';
  type Answer = Pick<Response, 'status' | 'type' | 'headers' | 'body' | 'text'>;
  interface Ctx {
    url: string;
    /** Confidential, every grant type. */
    conf: { clientId: string; clientSecret: string };
    /** Public (PKCE), code and device grants. */
    pub: { clientId: string };
    /** Confidential, authorization code only. */
    codeOnly: { clientId: string; clientSecret: string };
    /** A browser with our login page open. */
    live: { agent: Browser; uid: string; csrf: string };
    /** A browser that has the device code page open. */
    tv: Browser;
  }
  interface Case {
    endpoint: string;
    what: string;
    send: (c: Ctx) => PromiseLike<Answer>;
    expect: Expect;
    error?: string;
    also?: (res: Answer, c: Ctx) => void;
  }

  const KB100 = 'x'.repeat(100 * 1024);
  const KB8 = 'x'.repeat(8 * 1024);
  const NUL = '\u0000';
  const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'; // what browsers send
  const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
  const enc = encodeURIComponent;
  const rawBasic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  const authQuery = (clientId: string, extra = '') =>
    `/auth?client_id=${enc(clientId)}&response_type=code&scope=openid&redirect_uri=${enc(RP)}&state=s${extra}`;

  const api = (c: Ctx) => request(c.url);
  /** A person's browser navigating to a page. */
  const browse = (c: Ctx, path: string) => request(c.url).get(path).set('accept', HTML);
  const confAuth = (c: Ctx) => basic(c.conf.clientId, c.conf.clientSecret);
  /** POSTs a body as written (duplicates and broken encodings go through untouched). */
  const postAs = (c: Ctx, path: string, type: string, body: string, authorization?: string) => {
    const req = api(c).post(path).set('content-type', type);
    if (authorization) req.set('authorization', authorization);
    return req.send(body);
  };
  const postForm = (c: Ctx, path: string, body: string, authorization?: string) =>
    postAs(c, path, 'application/x-www-form-urlencoded', body, authorization);
  const liveLogin = (c: Ctx, body: string) => c.live.agent.post(`/interaction/${c.live.uid}/login`)
    .set('content-type', 'application/x-www-form-urlencoded').send(body);
  const csrf = (c: Ctx) => `_csrf=${enc(c.live.csrf)}`;
  const DEVICE_CODE_INVALID = '代码无效或已过期，请检查后重试。';
  const deviceCode = (c: Ctx, userCode: string) => enterDeviceCode(c.tv, c.url, userCode);

  /** A GET too big for Node's header limit: answered (431) and the connection closed mid-upload. */
  function hugeGet(c: Ctx, path: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const { hostname, port } = new URL(c.url);
      let received = '';
      const socket = connect(Number(port), hostname, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`));
      socket.on('data', (chunk) => { received += chunk; });
      socket.on('error', () => {}); // the server stops reading once it has answered
      socket.on('close', () => {
        const status = /^HTTP\/1\.1 (\d{3})/.exec(received);
        if (!status) reject(new Error(`no HTTP answer: ${received.slice(0, 200)}`));
        else resolve({ status: Number(status[1]), type: '', headers: {}, body: {}, text: received });
      });
    });
  }

  const cases: Case[] = [
    // /auth: an error goes back to the app only at a redirect URI registered for it.
    { endpoint: 'GET /auth', what: 'no parameters', send: (c) => browse(c, '/auth'), expect: 'page' },
    { endpoint: 'GET /auth', what: 'unknown client_id', send: (c) => browse(c, authQuery('no-such-client')), expect: 'page' },
    { endpoint: 'GET /auth', what: 'client_id with a NUL byte', send: (c) => browse(c, authQuery(c.conf.clientId + NUL)), expect: 'page' },
    { endpoint: 'GET /auth', what: 'client_id given twice', send: (c) => browse(c, `${authQuery(c.conf.clientId)}&client_id=${c.pub.clientId}`), expect: 'page' },
    { endpoint: 'GET /auth', what: 'client_id as a bracket array', send: (c) => browse(c, `/auth?client_id[]=${c.conf.clientId}&response_type=code&redirect_uri=${enc(RP)}`), expect: 'page' },
    { endpoint: 'GET /auth', what: 'redirect_uri given twice, once an evil one', send: (c) => browse(c, `${authQuery(c.conf.clientId)}&redirect_uri=${enc('https://evil.example/cb')}`), expect: 'rp', error: 'invalid_request' },
    { endpoint: 'GET /auth', what: 'redirect_uri that is not a URL', send: (c) => browse(c, `/auth?client_id=${c.conf.clientId}&response_type=code&scope=openid&redirect_uri=%25%25%25`), expect: 'page' },
    { endpoint: 'GET /auth', what: 'scope given twice', send: (c) => browse(c, `${authQuery(c.conf.clientId)}&scope=profile`), expect: 'rp', error: 'invalid_request' },
    { endpoint: 'GET /auth', what: 'an implicit response_type', send: (c) => browse(c, authQuery(c.conf.clientId).replace('response_type=code', 'response_type=token')), expect: 'rp', error: 'unsupported_response_type' },
    { endpoint: 'GET /auth', what: 'garbage prompt', send: (c) => browse(c, authQuery(c.conf.clientId, '&prompt=%25%25garbage')), expect: 'rp', error: 'invalid_request' },
    { endpoint: 'GET /auth', what: 'max_age that is not a number', send: (c) => browse(c, authQuery(c.conf.clientId, '&max_age=soon')), expect: 'rp', error: 'invalid_request' },
    { endpoint: 'GET /auth', what: 'a request object that is not a JWT', send: (c) => browse(c, authQuery(c.conf.clientId, '&request=garbage')), expect: 'rp' },
    { endpoint: 'GET /auth', what: 'a request_uri nobody issued', send: (c) => browse(c, authQuery(c.conf.clientId, `&request_uri=${enc('urn:ietf:params:oauth:request_uri:nope')}`)), expect: 'rp' },
    { endpoint: 'GET /auth', what: 'code_challenge with forbidden characters', send: (c) => browse(c, authQuery(c.pub.clientId, '&code_challenge=%21%21%21&code_challenge_method=S256')), expect: 'rp', error: 'invalid_request' },
    { endpoint: 'GET /auth', what: 'an 8 KB state (accepted: on to the login page)', send: (c) => browse(c, authQuery(c.conf.clientId, `&state=${KB8}`)), expect: 'ok' },
    { endpoint: 'GET /auth', what: 'a 100 KB state', send: (c) => hugeGet(c, authQuery(c.conf.clientId, `&state=${KB100}`)), expect: '4xx' },
    { endpoint: 'POST /auth', what: 'a form post (only GET is offered)', send: (c) => postForm(c, '/auth', authQuery(c.conf.clientId).slice('/auth?'.length)), expect: '4xx' },

    // /token
    { endpoint: 'POST /token', what: 'no body, no client', send: (c) => api(c).post('/token'), expect: 'oauth' },
    { endpoint: 'POST /token', what: 'unknown client', send: (c) => postForm(c, '/token', 'grant_type=client_credentials', basic('no-such-client', 'secret')), expect: 'oauth', error: 'invalid_client' },
    { endpoint: 'POST /token', what: 'client_id with a NUL byte', send: (c) => postForm(c, '/token', `grant_type=client_credentials&client_id=${enc(c.pub.clientId + NUL)}`), expect: 'oauth', error: 'invalid_client' },
    { endpoint: 'POST /token', what: 'wrong client secret', send: (c) => postForm(c, '/token', 'grant_type=client_credentials', basic(c.conf.clientId, 'not-the-secret')), expect: 'oauth', error: 'invalid_client' },
    { endpoint: 'POST /token', what: 'basic auth that is not base64', send: (c) => postForm(c, '/token', 'grant_type=client_credentials', 'Basic !!!not-base64!!!'), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'basic auth without a colon', send: (c) => postForm(c, '/token', 'grant_type=client_credentials', rawBasic('justaclientid')), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'basic auth with broken percent-encoding', send: (c) => postForm(c, '/token', 'grant_type=client_credentials', rawBasic('%E0%A4%A:secret')), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'basic auth with no credentials', send: (c) => postForm(c, '/token', 'grant_type=client_credentials', 'Basic'), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'a Bearer header instead of client auth', send: (c) => postForm(c, '/token', 'grant_type=client_credentials', 'Bearer abc'), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'two kinds of client auth at once', send: (c) => postForm(c, '/token', `grant_type=client_credentials&client_id=${c.conf.clientId}&client_secret=${c.conf.clientSecret}`, confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'a client_assertion that is not a JWT', send: (c) => postForm(c, '/token', `grant_type=client_credentials&client_assertion=garbage&client_assertion_type=${enc('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}`), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'unsupported grant_type', send: (c) => postForm(c, '/token', 'grant_type=password&username=a&password=b', confAuth(c)), expect: 'oauth', error: 'unsupported_grant_type' },
    { endpoint: 'POST /token', what: 'grant_type given twice', send: (c) => postForm(c, '/token', 'grant_type=client_credentials&grant_type=refresh_token', confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'grant_type as a bracket array', send: (c) => postForm(c, '/token', 'grant_type[]=client_credentials', confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'a code nobody issued', send: (c) => postForm(c, '/token', `grant_type=authorization_code&code=garbage&redirect_uri=${enc(RP)}`, confAuth(c)), expect: 'oauth', error: 'invalid_grant' },
    { endpoint: 'POST /token', what: 'a code with a NUL byte', send: (c) => postForm(c, '/token', `grant_type=authorization_code&code=${enc(`abc${NUL}def`)}&redirect_uri=${enc(RP)}`, confAuth(c)), expect: 'oauth', error: 'invalid_grant' },
    { endpoint: 'POST /token', what: 'a 40 KB code', send: (c) => postForm(c, '/token', `grant_type=authorization_code&code=${'x'.repeat(40 * 1024)}&redirect_uri=${enc(RP)}`, confAuth(c)), expect: 'oauth', error: 'invalid_grant' },
    { endpoint: 'POST /token', what: 'a 100 KB code', send: (c) => postForm(c, '/token', `grant_type=authorization_code&code=${KB100}&redirect_uri=${enc(RP)}`, confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'a refresh_token nobody issued', send: (c) => postForm(c, '/token', 'grant_type=refresh_token&refresh_token=garbage', confAuth(c)), expect: 'oauth', error: 'invalid_grant' },
    { endpoint: 'POST /token', what: 'a refresh_token with a NUL byte', send: (c) => postForm(c, '/token', `grant_type=refresh_token&refresh_token=${enc(`a${NUL}`)}`, confAuth(c)), expect: 'oauth', error: 'invalid_grant' },
    { endpoint: 'POST /token', what: 'a device_code nobody issued', send: (c) => postForm(c, '/token', `grant_type=${enc(DEVICE_GRANT)}&device_code=garbage`, confAuth(c)), expect: 'oauth', error: 'invalid_grant' },
    { endpoint: 'POST /token', what: 'a device_code with a NUL byte', send: (c) => postForm(c, '/token', `grant_type=${enc(DEVICE_GRANT)}&device_code=${enc(NUL)}&client_id=${c.pub.clientId}`), expect: 'oauth', error: 'invalid_grant' },
    { endpoint: 'POST /token', what: 'a grant the client may not use', send: (c) => postForm(c, '/token', 'grant_type=client_credentials', basic(c.codeOnly.clientId, c.codeOnly.clientSecret)), expect: 'oauth' },
    { endpoint: 'POST /token', what: 'a scope nobody defined (not granted)', send: (c) => postForm(c, '/token', 'grant_type=client_credentials&scope=admin', confAuth(c)), expect: 'ok', also: (res) => expect(res.body.scope).toBeUndefined() },
    { endpoint: 'POST /token', what: 'a JSON body', send: (c) => postAs(c, '/token', 'application/json', '{"grant_type":"client_credentials"}', confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'invalid JSON', send: (c) => postAs(c, '/token', 'application/json', '{"grant_type":', confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'a text/plain body', send: (c) => postAs(c, '/token', 'text/plain', 'grant_type=client_credentials', confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token', what: 'a multipart body', send: (c) => postAs(c, '/token', 'multipart/form-data; boundary=b', '--b\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--b--\r\n', confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'GET /token', what: 'the wrong method', send: (c) => api(c).get('/token?grant_type=client_credentials'), expect: '4xx' },

    // /me
    { endpoint: 'GET /me', what: 'no access token', send: (c) => api(c).get('/me'), expect: 'oauth' },
    { endpoint: 'GET /me', what: 'a garbage bearer token', send: (c) => api(c).get('/me').set('authorization', 'Bearer garbage'), expect: 'oauth', error: 'invalid_token' },
    { endpoint: 'GET /me', what: 'an 8 KB bearer token', send: (c) => api(c).get('/me').set('authorization', `Bearer ${KB8}`), expect: 'oauth', error: 'invalid_token' },
    { endpoint: 'GET /me', what: 'a token with a NUL byte in the query', send: (c) => api(c).get(`/me?access_token=${enc(`abc${NUL}`)}`), expect: 'oauth' },
    { endpoint: 'GET /me', what: 'a token in the header and in the query', send: (c) => api(c).get('/me?access_token=a').set('authorization', 'Bearer b'), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'GET /me', what: 'access_token given twice', send: (c) => api(c).get('/me?access_token=a&access_token=b'), expect: 'oauth' },
    { endpoint: 'GET /me', what: 'a Basic header', send: (c) => api(c).get('/me').set('authorization', confAuth(c)), expect: 'oauth' },
    { endpoint: 'GET /me', what: 'a garbage DPoP proof', send: (c) => api(c).get('/me').set('authorization', 'DPoP garbage').set('dpop', 'not.a.jwt'), expect: 'oauth' },
    { endpoint: 'POST /me', what: 'a JSON body', send: (c) => postAs(c, '/me', 'application/json', '{"access_token":"a"}'), expect: 'oauth' },
    { endpoint: 'POST /me', what: 'a 100 KB token in the body', send: (c) => postForm(c, '/me', `access_token=${KB100}`), expect: 'oauth' },

    // /token/introspection
    { endpoint: 'POST /token/introspection', what: 'no client', send: (c) => postForm(c, '/token/introspection', 'token=abc'), expect: 'oauth' },
    { endpoint: 'POST /token/introspection', what: 'unknown client', send: (c) => postForm(c, '/token/introspection', 'token=abc', basic('no-such-client', 'secret')), expect: 'oauth', error: 'invalid_client' },
    { endpoint: 'POST /token/introspection', what: 'bad basic auth', send: (c) => postForm(c, '/token/introspection', 'token=abc', 'Basic %%%'), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token/introspection', what: 'no token', send: (c) => postForm(c, '/token/introspection', '', confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token/introspection', what: 'token given twice', send: (c) => postForm(c, '/token/introspection', 'token=a&token=b', confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token/introspection', what: 'a token nobody issued', send: (c) => postForm(c, '/token/introspection', 'token=garbage', confAuth(c)), expect: 'inactive' },
    { endpoint: 'POST /token/introspection', what: 'a token with a NUL byte', send: (c) => postForm(c, '/token/introspection', `token=${enc(`abc${NUL}`)}&token_type_hint=access_token`, confAuth(c)), expect: 'inactive' },
    { endpoint: 'POST /token/introspection', what: 'a garbage token_type_hint', send: (c) => postForm(c, '/token/introspection', 'token=garbage&token_type_hint=banana', confAuth(c)), expect: 'inactive' },
    { endpoint: 'POST /token/introspection', what: 'a 100 KB token', send: (c) => postForm(c, '/token/introspection', `token=${KB100}`, confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token/introspection', what: 'a JSON body', send: (c) => postAs(c, '/token/introspection', 'application/json', '{"token":"a"}', confAuth(c)), expect: 'oauth', error: 'invalid_request' },

    // /token/revocation: RFC 7009 answers 200 for a token it does not know
    { endpoint: 'POST /token/revocation', what: 'no client', send: (c) => postForm(c, '/token/revocation', 'token=abc'), expect: 'oauth' },
    { endpoint: 'POST /token/revocation', what: 'unknown client', send: (c) => postForm(c, '/token/revocation', 'token=abc', basic('no-such-client', 'secret')), expect: 'oauth', error: 'invalid_client' },
    { endpoint: 'POST /token/revocation', what: 'no token', send: (c) => postForm(c, '/token/revocation', '', confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token/revocation', what: 'a token nobody issued', send: (c) => postForm(c, '/token/revocation', 'token=garbage', confAuth(c)), expect: 'ok' },
    { endpoint: 'POST /token/revocation', what: 'a token with a NUL byte', send: (c) => postForm(c, '/token/revocation', `token=${enc(`abc${NUL}`)}&token_type_hint=refresh_token`, confAuth(c)), expect: 'ok' },
    { endpoint: 'POST /token/revocation', what: 'a garbage token_type_hint', send: (c) => postForm(c, '/token/revocation', 'token=garbage&token_type_hint=banana', confAuth(c)), expect: 'ok' },
    { endpoint: 'POST /token/revocation', what: 'token as a bracket array', send: (c) => postForm(c, '/token/revocation', 'token[]=a&token[]=b', confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token/revocation', what: 'a 100 KB token', send: (c) => postForm(c, '/token/revocation', `token=${KB100}`, confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /token/revocation', what: 'invalid JSON', send: (c) => postAs(c, '/token/revocation', 'application/json', '{', confAuth(c)), expect: 'oauth', error: 'invalid_request' },

    // /device/auth, and /device where the person types the code
    { endpoint: 'POST /device/auth', what: 'no client', send: (c) => postForm(c, '/device/auth', 'scope=openid'), expect: 'oauth' },
    { endpoint: 'POST /device/auth', what: 'unknown client_id', send: (c) => postForm(c, '/device/auth', 'client_id=no-such-client&scope=openid'), expect: 'oauth', error: 'invalid_client' },
    { endpoint: 'POST /device/auth', what: 'client_id with a NUL byte', send: (c) => postForm(c, '/device/auth', `client_id=${enc(c.pub.clientId + NUL)}&scope=openid`), expect: 'oauth', error: 'invalid_client' },
    { endpoint: 'POST /device/auth', what: 'client_id given twice', send: (c) => postForm(c, '/device/auth', `client_id=${c.pub.clientId}&client_id=${c.pub.clientId}&scope=openid`), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /device/auth', what: 'a client without the device grant', send: (c) => postForm(c, '/device/auth', 'scope=openid', basic(c.codeOnly.clientId, c.codeOnly.clientSecret)), expect: 'oauth' },
    { endpoint: 'POST /device/auth', what: 'scope given twice', send: (c) => postForm(c, '/device/auth', `client_id=${c.pub.clientId}&scope=openid&scope=profile`), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /device/auth', what: 'a 100 KB scope', send: (c) => postForm(c, '/device/auth', `client_id=${c.pub.clientId}&scope=${KB100}`), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /device/auth', what: 'a JSON body', send: (c) => postAs(c, '/device/auth', 'application/json', JSON.stringify({ client_id: c.pub.clientId }), confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'GET /device', what: 'a user_code with a NUL byte', send: (c) => c.tv.get(`/device?user_code=${enc(`1234${NUL}5678`)}`).set('accept', HTML), expect: 'ok' },
    { endpoint: 'POST /device', what: 'a wrong xsrf token', send: (c) => c.tv.post('/device').type('form').send({ xsrf: 'garbage', user_code: '1234-5678' }), expect: 'page' },
    { endpoint: 'POST /device', what: 'xsrf given twice', send: (c) => c.tv.post('/device').set('content-type', 'application/x-www-form-urlencoded').send('xsrf=a&xsrf=b&user_code=12345678'), expect: 'page' },
    { endpoint: 'POST /device', what: 'a code nobody issued: the form again, with why', send: (c) => deviceCode(c, '1234-5678'), expect: 'ok', also: (res) => expect(alertOf(res.text)).toBe(DEVICE_CODE_INVALID) },
    { endpoint: 'POST /device', what: 'a code with a NUL byte and garbage', send: (c) => deviceCode(c, `%%1234${NUL}5678<script>`), expect: 'ok', also: (res) => expect(alertOf(res.text)).toBe(DEVICE_CODE_INVALID) },
    { endpoint: 'POST /device', what: 'a 100 KB code', send: (c) => deviceCode(c, KB100), expect: '4xx' },
    { endpoint: 'POST /device', what: 'no session cookie (the form was never shown): to a fresh form', send: (c) => postForm(c, '/device', 'xsrf=x&user_code=12345678'), expect: 'ok', also: (res, c) => expect(res.headers.location).toBe(`${c.url}/device`) },

    // /session/end (RP-initiated logout), in a person's browser
    { endpoint: 'GET /session/end', what: 'a garbage id_token_hint', send: (c) => browse(c, '/session/end?id_token_hint=garbage'), expect: 'page' },
    { endpoint: 'GET /session/end', what: 'an unregistered post_logout_redirect_uri', send: (c) => browse(c, `/session/end?client_id=${c.conf.clientId}&post_logout_redirect_uri=${enc('https://evil.example/')}`), expect: 'page' },
    { endpoint: 'GET /session/end', what: 'unknown client_id', send: (c) => browse(c, '/session/end?client_id=no-such-client'), expect: 'page' },
    { endpoint: 'GET /session/end', what: 'client_id with a NUL byte', send: (c) => browse(c, `/session/end?client_id=${enc(c.conf.clientId + NUL)}`), expect: 'page' },
    { endpoint: 'GET /session/end', what: 'client_id given twice', send: (c) => browse(c, `/session/end?client_id=${c.conf.clientId}&client_id=${c.pub.clientId}`), expect: 'page' },
    { endpoint: 'GET /session/end', what: 'a 100 KB id_token_hint', send: (c) => hugeGet(c, `/session/end?id_token_hint=${KB100}`), expect: '4xx' },
    { endpoint: 'POST /session/end', what: 'a form post (only GET is offered)', send: (c) => postForm(c, '/session/end', 'client_id=x'), expect: '4xx' },
    { endpoint: 'POST /session/end/confirm', what: 'no xsrf token', send: (c) => postForm(c, '/session/end/confirm', 'logout=yes').set('accept', HTML), expect: 'page' },
    { endpoint: 'POST /session/end/confirm', what: 'xsrf given twice', send: (c) => postForm(c, '/session/end/confirm', 'xsrf=a&xsrf=b&logout=yes').set('accept', HTML), expect: 'page' },
    { endpoint: 'POST /session/end/confirm', what: 'a 100 KB xsrf', send: (c) => postForm(c, '/session/end/confirm', `xsrf=${KB100}`).set('accept', HTML), expect: 'page' },
    { endpoint: 'POST /session/end/confirm', what: 'a JSON body', send: (c) => postAs(c, '/session/end/confirm', 'application/json', '{"xsrf":"a"}').set('accept', HTML), expect: 'page' },

    // /interaction/:uid, our own login pages
    { endpoint: 'GET /interaction/:uid', what: 'an unknown uid, no cookie', send: (c) => browse(c, '/interaction/no-such-uid'), expect: 'page' },
    { endpoint: 'GET /interaction/:uid', what: 'a uid with a NUL byte', send: (c) => browse(c, '/interaction/abc%00def'), expect: 'page' },
    { endpoint: 'GET /interaction/:uid', what: 'a uid with broken percent-encoding', send: (c) => browse(c, '/interaction/%E0%A4%A'), expect: '4xx' },
    { endpoint: 'GET /interaction/:uid', what: 'a 100 KB uid', send: (c) => hugeGet(c, `/interaction/${KB100}`), expect: '4xx' },
    { endpoint: 'GET /interaction/:uid', what: "another interaction's uid, with this browser's cookie", send: (c) => c.live.agent.get('/interaction/someone-elses-uid').set('accept', HTML), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/login', what: 'no cookie', send: (c) => postForm(c, `/interaction/${c.live.uid}/login`, `${csrf(c)}&identifier=a&password=b`), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/login', what: 'a JSON body', send: (c) => c.live.agent.post(`/interaction/${c.live.uid}/login`).set('content-type', 'application/json').send(JSON.stringify({ _csrf: c.live.csrf, identifier: 'a', password: 'b' })), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/login', what: 'invalid JSON', send: (c) => c.live.agent.post(`/interaction/${c.live.uid}/login`).set('content-type', 'application/json').send('{"_csrf":'), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/login', what: 'a text/plain body', send: (c) => c.live.agent.post(`/interaction/${c.live.uid}/login`).set('content-type', 'text/plain').send('_csrf=x'), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/login', what: 'identifier and password as arrays', send: (c) => liveLogin(c, `${csrf(c)}&identifier=a&identifier=b&password[]=x&password[]=y`), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/login', what: 'identifier and password as objects', send: (c) => liveLogin(c, `${csrf(c)}&identifier[a][b]=c&password[toString]=x`), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/login', what: 'a phone with a NUL byte', send: (c) => liveLogin(c, `${csrf(c)}&identifier=${enc(`138${NUL}00138000`)}&password=x`), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/login', what: 'an email with a NUL byte', send: (c) => liveLogin(c, `${csrf(c)}&identifier=${enc(`xiao${NUL}ming@example.com`)}&password=x`), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/login', what: 'a password with a NUL byte', send: (c) => liveLogin(c, `${csrf(c)}&identifier=13800138000&password=${enc(`pass${NUL}word`)}`), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/login', what: 'a 4 KB identifier and password', send: (c) => liveLogin(c, `${csrf(c)}&identifier=${KB8.slice(4096)}&password=${KB8.slice(4096)}`), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/login', what: 'a 100 KB body', send: (c) => liveLogin(c, `${csrf(c)}&identifier=a&password=${KB100}`), expect: '4xx' },
    { endpoint: 'POST /interaction/:uid/login', what: 'broken percent-encoding', send: (c) => liveLogin(c, `${csrf(c)}&identifier=%E0%A4%A&password=%`), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/confirm', what: 'consent while still at the login prompt', send: (c) => c.live.agent.post(`/interaction/${c.live.uid}/confirm`).type('form').send({ _csrf: c.live.csrf }), expect: 'page' },
    { endpoint: 'POST /interaction/:uid/nope', what: 'an unknown step', send: (c) => c.live.agent.post(`/interaction/${c.live.uid}/nope`).type('form').send({ _csrf: c.live.csrf }), expect: '4xx' },

    // /jwks and discovery: public, read-only
    { endpoint: 'GET /jwks', what: 'garbage query', send: (c) => api(c).get('/jwks?kid=%00&kid=x&x[y]=z'), expect: 'ok', also: (res) => expect(res.body.keys.length).toBeGreaterThan(0) },
    { endpoint: 'POST /jwks', what: 'the wrong method', send: (c) => postAs(c, '/jwks', 'application/json', '{'), expect: '4xx' },
    { endpoint: 'GET /.well-known/openid-configuration', what: 'garbage query', send: (c) => api(c).get('/.well-known/openid-configuration?a=%00&a=b&c[]=d'), expect: 'ok', also: (res, c) => expect(res.body.issuer).toBe(c.url) },
    { endpoint: 'POST /.well-known/openid-configuration', what: 'the wrong method', send: (c) => postForm(c, '/.well-known/openid-configuration', 'a=b'), expect: '4xx' },

    // /request: pushed authorization requests
    { endpoint: 'POST /request', what: 'no client', send: (c) => postForm(c, '/request', 'response_type=code'), expect: 'oauth' },
    { endpoint: 'POST /request', what: 'unknown client', send: (c) => postForm(c, '/request', 'response_type=code', basic('no-such-client', 'secret')), expect: 'oauth', error: 'invalid_client' },
    { endpoint: 'POST /request', what: 'client_id with a NUL byte', send: (c) => postForm(c, '/request', `response_type=code&client_id=${enc(c.pub.clientId + NUL)}`), expect: 'oauth', error: 'invalid_client' },
    { endpoint: 'POST /request', what: 'bad basic auth', send: (c) => postForm(c, '/request', 'response_type=code', rawBasic('nocolon')), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /request', what: 'no redirect_uri or scope', send: (c) => postForm(c, '/request', 'response_type=code', confAuth(c)), expect: 'oauth' },
    { endpoint: 'POST /request', what: 'an unregistered redirect_uri', send: (c) => postForm(c, '/request', `response_type=code&scope=openid&redirect_uri=${enc('https://evil.example/cb')}`, confAuth(c)), expect: 'oauth' },
    { endpoint: 'POST /request', what: 'scope given twice', send: (c) => postForm(c, '/request', `response_type=code&scope=openid&scope=profile&redirect_uri=${enc(RP)}`, confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /request', what: 'a request object that is not a JWT', send: (c) => postForm(c, '/request', 'request=garbage', confAuth(c)), expect: 'oauth' },
    { endpoint: 'POST /request', what: 'a request_uri inside', send: (c) => postForm(c, '/request', `response_type=code&scope=openid&redirect_uri=${enc(RP)}&request_uri=urn:x`, confAuth(c)), expect: 'oauth' },
    { endpoint: 'POST /request', what: 'a 100 KB state', send: (c) => postForm(c, '/request', `response_type=code&scope=openid&redirect_uri=${enc(RP)}&state=${KB100}`, confAuth(c)), expect: 'oauth', error: 'invalid_request' },
    { endpoint: 'POST /request', what: 'invalid JSON', send: (c) => postAs(c, '/request', 'application/json', '{"response_type":', confAuth(c)), expect: 'oauth', error: 'invalid_request' },
  ];

  let server: TestServer;
  const ctx = {} as Ctx;

  beforeAll(async () => {
    server = await startTestServer({ config: NO_ADDRESS_THROTTLE });
    const conf = await server.addClient({ name: '全能应用', grantTypes: ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_GRANT] });
    const pub = await server.addClient({ name: '电视应用', public: true, grantTypes: ['authorization_code', 'refresh_token', DEVICE_GRANT] });
    const codeOnly = await server.addClient({ name: '网页应用' });
    await server.addUser({ phone: '+8613800138000', email: 'xiaoming@example.com' });
    const agent = browser(server.url);
    const page = await openLoginPage(agent, authorizeUrl({ clientId: conf.clientId }));
    const tv = browser(server.url);
    expect((await tv.get('/device').set('accept', HTML)).status).toBe(200);
    Object.assign(ctx, {
      url: server.url,
      conf: { clientId: conf.clientId, clientSecret: conf.clientSecret! },
      pub,
      codeOnly: { clientId: codeOnly.clientId, clientSecret: codeOnly.clientSecret! },
      live: { agent, uid: page.uid, csrf: page.csrf },
      tv,
    });
  });
  afterAll(() => server.close());

  /** The error an app finds at its redirect URI (query, or fragment for implicit types). */
  function rpError(location: string) {
    const back = new URL(location);
    const params = back.searchParams.has('error') ? back.searchParams : new URLSearchParams(back.hash.slice(1));
    return { at: `${back.origin}${back.pathname}`, error: params.get('error'), code: params.get('code') };
  }

  function check(res: Answer, kind: Expect, error: string | undefined) {
    expect(res.status).toBeLessThan(500);
    switch (kind) {
      case 'oauth':
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.type).toBe('application/json');
        expect(res.body.error).toMatch(/^[a-z_]+$/);
        if (error) expect(res.body.error).toBe(error);
        break;
      case 'page':
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.type).toBe('text/html');
        expect(alertOf(res.text)).toBeTruthy();
        expect(res.headers.location).toBeUndefined();
        break;
      case 'rp': {
        expect(res.status).toBe(303);
        const back = rpError(res.headers.location!);
        expect(back.at).toBe(RP);
        expect(back.error).toMatch(/^[a-z_]+$/);
        if (error) expect(back.error).toBe(error);
        expect(back.code).toBeNull();
        break;
      }
      case '4xx':
        expect(res.status).toBeGreaterThanOrEqual(400);
        break;
      case 'inactive':
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ active: false });
        break;
      case 'ok':
        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(400);
        break;
    }
  }

  test.each(cases)('$endpoint, $what: $expect', async ({ send, expect: kind, error, also }) => {
    const res = await send(ctx);
    try {
      check(res, kind, error);
      also?.(res, ctx);
    } catch (err) {
      (err as Error).message += `\n\nresponse: ${res.status} ${res.type} ${res.headers.location ?? ''}\n${res.text?.slice(0, 300)}`;
      throw err;
    }
  });
});
