import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { upstreamSchema } from '../../src/config/schema.ts';
import { AppError, type ErrorCode } from '../../src/errors.ts';
import { createLogger } from '../../src/logger.ts';
import { createUpstreamProviders } from '../../src/federation/providers/index.ts';
import type { AuthorizationRequest, UpstreamProvider } from '../../src/federation/upstream.ts';
import { startFakeQQ, startFakeWechat, startFakeWeibo, type FailMode, type FakeUpstream, type WechatPerson, type WeiboPerson } from '../support/fake-upstreams.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, runFlow } from '../support/browser.ts';

/** What CHUCS would keep between the redirect and the callback. */
function newRequest(id: string): AuthorizationRequest {
  return {
    redirectUri: `http://127.0.0.1:9/upstream/callback/${id}`,
    state: randomBytes(16).toString('base64url'),
    nonce: randomBytes(16).toString('base64url'),
    codeVerifier: randomBytes(32).toString('base64url'),
  };
}

/** One provider from raw settings (defaults applied by the config schema), with its log lines. */
function providerFrom(settings: Record<string, unknown>) {
  const logLines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => { logLines.push(line); } });
  const parsed = upstreamSchema.parse({ timeoutMs: 2000, ...settings });
  return { provider: createUpstreamProviders([parsed], { logger }).get(parsed.id)!, logLines };
}

/** The browser's trip upstream: the fake signs the person in at once and redirects back. */
async function callbackOf(provider: UpstreamProvider, request: AuthorizationRequest): Promise<URLSearchParams> {
  const res = await fetch(await provider.authorizationUrl(request), { redirect: 'manual' });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location')!);
  expect(`${location.origin}${location.pathname}`).toBe(request.redirectUri);
  return location.searchParams;
}

async function rejection(promise: Promise<unknown>, code: ErrorCode): Promise<AppError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  return err as AppError;
}

/** The fakes' tokens and codes look like this; none may appear in a detail or a log line. */
const FAKE_CREDENTIAL = /(token|code|refresh)-[0-9a-f]{24}/;

function expectNothingSecret(texts: string[], secret: string) {
  for (const text of texts) {
    expect(text).not.toContain(secret);
    expect(text).not.toMatch(FAKE_CREDENTIAL);
  }
}

describe('WeChat', () => {
  let fake: FakeUpstream<WechatPerson>;
  beforeAll(async () => { fake = await startFakeWechat(); });
  afterAll(() => fake.close());
  const wechat = (extra: Record<string, unknown> = {}) =>
    providerFrom({ kind: 'wechat', id: 'wechat', clientId: fake.appId, clientSecret: fake.appSecret, endpoints: fake.endpoints, ...extra });

  test('a person with a unionid: subject and openid carry the AppID, the unionid is kept as given', async () => {
    const { provider } = wechat();
    fake.signInAs({ openid: 'oXyZ-openid-1', unionid: 'oUnion_AbC-123', nickname: '小明', sex: 2, headimgurl: 'https://thirdwx.qlogo.cn/mmopen/a/132' });
    const request = newRequest('wechat');
    const authorize = await provider.authorizationUrl(request);
    expect(authorize.hash).toBe('#wechat_redirect');
    expect(authorize.searchParams.get('scope')).toBe('snsapi_login');
    const identity = await provider.complete(await callbackOf(provider, request), request);
    expect(identity).toMatchObject({
      provider: 'wechat',
      subject: `${fake.appId}:oXyZ-openid-1`,
      identifiers: [{ kind: 'wechat_openid', value: `${fake.appId}:oXyZ-openid-1` }, { kind: 'wechat_unionid', value: 'oUnion_AbC-123' }],
      profile: { nickname: '小明', gender: 'female', picture: 'https://thirdwx.qlogo.cn/mmopen/a/132' },
      tokens: { accessToken: expect.stringMatching(/^token-/), refreshToken: expect.stringMatching(/^refresh-/), expiresAt: expect.any(Number) },
    });
    expect(JSON.stringify(identity.claims)).not.toMatch(FAKE_CREDENTIAL);
    expect(fake.requests.slice(-3)).toEqual(['/connect/qrconnect', '/sns/oauth2/access_token', '/sns/userinfo']);
  });

  test('without a unionid only the openid is an identifier; sex 0 gives no gender', async () => {
    const { provider } = wechat();
    fake.signInAs({ openid: 'oPlain', nickname: '无名', sex: 0, headimgurl: '' });
    const request = newRequest('wechat');
    const identity = await provider.complete(await callbackOf(provider, request), request);
    expect(identity.identifiers).toEqual([{ kind: 'wechat_openid', value: `${fake.appId}:oPlain` }]);
    expect(identity.profile).toEqual({ nickname: '无名' });
  });

  test('refusing (WeChat comes back with the state and no code) is upstream_denied', async () => {
    const { provider } = wechat();
    fake.signInAs(null);
    const request = newRequest('wechat');
    const callback = await callbackOf(provider, request);
    expect(callback.has('code')).toBe(false);
    await rejection(provider.complete(callback, request), 'federation.upstream_denied');
  });

  test('a code works once, and only with the state it was issued for', async () => {
    const { provider } = wechat();
    fake.signInAs({ openid: 'oOnce', nickname: '一次', sex: 1, headimgurl: '' });
    const request = newRequest('wechat');
    const callback = await callbackOf(provider, request);
    await rejection(provider.complete(callback, newRequest('wechat')), 'federation.upstream_failed');
    await provider.complete(callback, request);
    const again = await rejection(provider.complete(callback, request), 'federation.upstream_failed');
    expect(again.detail).toContain('40163');
  });

  test('a wrong AppSecret fails without showing it', async () => {
    const { provider, logLines } = wechat({ clientSecret: 'not-the-secret-of-this-app' });
    fake.signInAs({ openid: 'oX', nickname: 'x', sex: 1, headimgurl: '' });
    const request = newRequest('wechat');
    const err = await rejection(provider.complete(await callbackOf(provider, request), request), 'federation.upstream_failed');
    expect(err.detail).toContain('40125');
    expectNothingSecret([err.detail!, ...logLines], 'not-the-secret-of-this-app');
  });
});

describe('QQ', () => {
  let fake: Awaited<ReturnType<typeof startFakeQQ>>;
  beforeAll(async () => { fake = await startFakeQQ(); });
  afterAll(() => fake.close());
  const qq = () => providerFrom({ kind: 'qq', id: 'qq', clientId: fake.appId, clientSecret: fake.appSecret, endpoints: fake.endpoints });

  test('round trip: the openid (as given) is the subject, the unionid an identifier, gender and avatar mapped', async () => {
    const { provider } = qq();
    fake.signInAs({ openid: '9F2A1C0D3E4B5A69788796A5B4C3D2E1', unionid: 'UID_8A7B6C', nickname: '企鹅', gender: '女' });
    const request = newRequest('qq');
    const identity = await provider.complete(await callbackOf(provider, request), request);
    expect(identity).toMatchObject({
      provider: 'qq',
      subject: '9F2A1C0D3E4B5A69788796A5B4C3D2E1',
      identifiers: [{ kind: 'qq_openid', value: '9F2A1C0D3E4B5A69788796A5B4C3D2E1' }, { kind: 'qq_unionid', value: 'UID_8A7B6C' }],
      profile: { nickname: '企鹅', gender: 'female', picture: expect.stringMatching(/s=100$/) },
      tokens: { expiresAt: expect.any(Number) },
    });
    expect(fake.requests.slice(-4)).toEqual(['/oauth2.0/authorize', '/oauth2.0/token', '/oauth2.0/me', '/user/get_user_info']);
  });

  test('refusing is upstream_denied', async () => {
    const { provider } = qq();
    fake.signInAs(null);
    const request = newRequest('qq');
    await rejection(provider.complete(await callbackOf(provider, request), request), 'federation.upstream_denied');
  });

  test('a token issued to another app signs no one in', async () => {
    const { provider } = qq();
    fake.signInAs({ openid: 'ABC', nickname: 'x' });
    const request = newRequest('qq');
    const callback = await callbackOf(provider, request);
    fake.fail('other-app');
    try {
      const err = await rejection(provider.complete(callback, request), 'federation.upstream_failed');
      expect(err.detail).toContain('another app');
    } finally {
      fake.fail(null);
    }
  });
});

describe('Weibo', () => {
  let fake: FakeUpstream<WeiboPerson>;
  beforeAll(async () => { fake = await startFakeWeibo(); });
  afterAll(() => fake.close());
  const weibo = () => providerFrom({ kind: 'weibo', id: 'weibo', clientId: fake.appId, clientSecret: fake.appSecret, endpoints: fake.endpoints });

  test('round trip: the uid is the subject and the identifier; screen name, gender and large avatar mapped', async () => {
    const { provider } = weibo();
    fake.signInAs({ uid: '1404376560', screen_name: '长虹用户', gender: 'm' });
    const request = newRequest('weibo');
    const identity = await provider.complete(await callbackOf(provider, request), request);
    expect(identity).toMatchObject({
      provider: 'weibo',
      subject: '1404376560',
      identifiers: [{ kind: 'weibo_uid', value: '1404376560' }],
      profile: { nickname: '长虹用户', gender: 'male', picture: expect.stringContaining('180.180.180/1404376560') },
    });
    expect(fake.requests.slice(-3)).toEqual(['/oauth2/authorize', '/oauth2/access_token', '/2/users/show.json']);
  });

  test('refusing is upstream_denied', async () => {
    const { provider } = weibo();
    fake.signInAs(null);
    const request = newRequest('weibo');
    await rejection(provider.complete(await callbackOf(provider, request), request), 'federation.upstream_denied');
  });

  test('a code is bound to the redirect URI it was issued for', async () => {
    const { provider } = weibo();
    fake.signInAs({ uid: '1404376561', screen_name: 'x' });
    const request = newRequest('weibo');
    const callback = await callbackOf(provider, request);
    const err = await rejection(provider.complete(callback, { ...request, redirectUri: 'http://127.0.0.1:9/elsewhere' }), 'federation.upstream_failed');
    expect(err.detail).toContain('21325');
  });
});

/** Every failure mode of every Chinese fake: upstream_failed, a useful detail, nothing secret. */
const FAILURES: Array<[FailMode, RegExp]> = [
  ['token-error', /token: status \d+, error/],
  ['token-500', /token: status 500/],
  ['timeout', /timeout after 300 ms/],
  ['malformed', /token: status 200, answer is not JSON/],
  ['userinfo-error', /userinfo: status \d+, error/],
];
const FAKES = [
  ['wechat', startFakeWechat, { openid: 'oFail', unionid: 'oUnionFail', nickname: 'f', sex: 1, headimgurl: '' }],
  ['qq', startFakeQQ, { openid: 'QQFAIL', nickname: 'f' }],
  ['weibo', startFakeWeibo, { uid: '1000000001', screen_name: 'f' }],
] as const;

describe.each(FAKES)('%s failures', (kind, start, person) => {
  let fake: FakeUpstream<unknown, FailMode>;
  beforeAll(async () => { fake = await (start as () => Promise<FakeUpstream<unknown, FailMode>>)(); fake.signInAs(person); });
  afterAll(() => fake.close());
  afterEach(() => fake.fail(null));

  test.each(FAILURES)('%s is upstream_failed; neither detail nor log holds the secret, code or token', async (mode, detail) => {
    const { provider, logLines } = providerFrom({ kind, id: kind, clientId: fake.appId, clientSecret: fake.appSecret, endpoints: fake.endpoints, timeoutMs: 300 });
    const request = newRequest(kind);
    const callback = await callbackOf(provider, request);
    fake.fail(mode);
    const err = await rejection(provider.complete(callback, request), 'federation.upstream_failed');
    expect(err.detail).toMatch(new RegExp(`^upstream ${kind}: `));
    expect(err.detail).toMatch(detail);
    expect(logLines.join('\n')).toContain(`"upstream":"${kind}"`);
    expectNothingSecret([err.detail!, err.message, ...logLines], fake.appSecret);
    for (const text of [err.detail!, ...logLines]) expect(text).not.toContain(callback.get('code'));
  });
});

describe('OpenID Connect (another CHUCS upstream)', () => {
  let upstream: TestServer;
  let accountId: string;
  let client: { clientId: string; clientSecret?: string };
  const password = 'correct horse battery staple';
  beforeAll(async () => {
    upstream = await startTestServer();
    accountId = await upstream.addUser({ email: 'a@example.com', password });
    client = await upstream.addClient({ name: 'CHUCS downstream', redirectUris: [newRequest('corp').redirectUri] });
  });
  afterAll(() => upstream.close());
  const corp = () => providerFrom({ kind: 'oidc', id: 'corp', name: { zh: '集团账号', en: 'Group account' }, clientId: client.clientId, clientSecret: client.clientSecret, issuer: upstream.url });

  /** Signs in at the upstream as a@example.com and returns the callback it sends. */
  async function signIn(provider: UpstreamProvider, request: AuthorizationRequest, agent = browser(upstream.url), consent = true) {
    const url = await provider.authorizationUrl(request);
    const { redirect } = await runFlow(agent, upstream.url, `${url.pathname}${url.search}`, { identifier: 'a@example.com', password, consent });
    return redirect.searchParams;
  }

  test('round trip with PKCE and nonce: the subject is the account id, the email verified', async () => {
    const { provider } = corp();
    expect(provider.name).toEqual({ zh: '集团账号', en: 'Group account' });
    const request = newRequest('corp');
    const url = await provider.authorizationUrl(request);
    expect(url.searchParams.get('code_challenge')).toBe(createHash('sha256').update(request.codeVerifier).digest('base64url'));
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('nonce')).toBe(request.nonce);
    const identity = await provider.complete(await signIn(provider, request), request);
    expect(identity).toMatchObject({
      provider: 'corp', subject: accountId, identifiers: [],
      email: { value: 'a@example.com', verified: true },
      profile: { name: '测试用户', nickname: '小测' },
      tokens: { accessToken: expect.any(String), idToken: expect.any(String) },
    });
    expect(identity.claims).not.toHaveProperty('nonce');
  });

  test('a callback answered to another request, a wrong verifier or a wrong nonce is upstream_failed', async () => {
    const { provider } = corp();
    const agent = browser(upstream.url);
    const first = newRequest('corp');
    const second = newRequest('corp');
    const firstCallback = await signIn(provider, first, agent);
    await signIn(provider, second, agent);
    const swapped = await rejection(provider.complete(firstCallback, second), 'federation.upstream_failed');
    expect(swapped.detail).toContain('state');

    const third = newRequest('corp');
    const pkce = await rejection(provider.complete(await signIn(provider, third, agent), { ...third, codeVerifier: newRequest('corp').codeVerifier }), 'federation.upstream_failed');
    expect(pkce.detail).toContain('invalid_grant');

    const fourth = newRequest('corp');
    const nonce = await rejection(provider.complete(await signIn(provider, fourth, agent), { ...fourth, nonce: 'another-nonce' }), 'federation.upstream_failed');
    expect(nonce.detail).toContain('nonce');
  });

  test('refusing consent upstream is upstream_denied', async () => {
    const { provider } = corp();
    const request = newRequest('corp');
    const callback = await signIn(provider, request, browser(upstream.url), false);
    expect(callback.get('error')).toBe('access_denied');
    await rejection(provider.complete(callback, request), 'federation.upstream_denied');
  });

  test('plain http is refused for any host but this machine', async () => {
    const { provider } = providerFrom({ kind: 'oidc', id: 'remote', clientId: 'x', clientSecret: 'y', issuer: 'http://upstream.invalid' });
    const err = await rejection(provider.authorizationUrl(newRequest('remote')), 'federation.upstream_failed');
    expect(err.detail).toContain('HTTPS');
  });
});

/** `id:secret` of client_secret_basic, each part form-decoded as RFC 6749 2.3.1 says. */
function basicCredentials(header: string | undefined): string | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decode = (part: string) => decodeURIComponent(part.replaceAll('+', ' '));
  const [id = '', secret = ''] = Buffer.from(header.slice(6), 'base64').toString().split(':');
  return `${decode(id)}:${decode(secret)}`;
}

/** A GitHub-like OAuth 2.0 server: PKCE S256, client_secret_basic, a nested user-info answer. */
async function startFakeOAuth2() {
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      const url = new URL(req.url!, 'http://fake');
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (url.pathname === '/authorize') {
        const code = randomBytes(12).toString('hex');
        codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', redirectUri: url.searchParams.get('redirect_uri')! });
        const back = new URL(url.searchParams.get('redirect_uri')!);
        back.search = new URLSearchParams({ code, state: url.searchParams.get('state')! }).toString();
        res.writeHead(302, { location: back.href }).end();
      } else if (url.pathname === '/token') {
        const form = new URLSearchParams(body);
        const grant = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
        if (basicCredentials(req.headers.authorization) !== 'gh-client:gh-secret') return json(401, { error: 'invalid_client' });
        if (!grant || grant.challenge !== verifier || grant.redirectUri !== form.get('redirect_uri')) return json(400, { error: 'invalid_grant' });
        return json(200, { access_token: 'gho_token', token_type: 'bearer', expires_in: 3600 });
      } else if (url.pathname === '/user' && req.headers.authorization === 'Bearer gho_token') {
        return json(200, { data: { user: { id: 583231, login: 'octocat', email: 'octo@example.com' } }, access_token: 'echoed' });
      } else {
        return json(404, { message: 'Not Found' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

describe('OAuth 2.0', () => {
  let fake: Awaited<ReturnType<typeof startFakeOAuth2>>;
  beforeAll(async () => { fake = await startFakeOAuth2(); });
  afterAll(() => fake.close());
  const github = (extra: Record<string, unknown> = {}) => providerFrom({
    kind: 'oauth2', id: 'github', clientId: 'gh-client', clientSecret: 'gh-secret',
    authorizationUrl: `${fake.url}/authorize`, tokenUrl: `${fake.url}/token`, userinfoUrl: `${fake.url}/user`, ...extra,
  });

  test('the subject comes from a dotted field; the email is never taken as verified', async () => {
    const { provider } = github({ subjectField: 'data.user.id', nicknameField: 'data.user.login', emailField: 'data.user.email' });
    expect(provider.name).toEqual({ zh: 'github', en: 'github' });
    const request = newRequest('github');
    const identity = await provider.complete(await callbackOf(provider, request), request);
    expect(identity).toMatchObject({
      provider: 'github', subject: '583231', identifiers: [],
      email: { value: 'octo@example.com', verified: false },
      profile: { nickname: 'octocat' },
      tokens: { accessToken: 'gho_token', expiresAt: expect.any(Number) },
    });
    expect(identity.claims).not.toHaveProperty('access_token');
  });

  test('a user-info answer without the subject field is upstream_failed', async () => {
    const { provider } = github(); // subjectField defaults to `id`, which is nested here
    const request = newRequest('github');
    const err = await rejection(provider.complete(await callbackOf(provider, request), request), 'federation.upstream_failed');
    expect(err.detail).toContain('"id"');
  });
});

describe('createUpstreamProviders', () => {
  const logger = createLogger('silent');

  test('names the environment variable of a missing secret', () => {
    const settings = upstreamSchema.parse({ kind: 'wechat', id: 'wechat-web', clientId: 'wx1' });
    expect(() => createUpstreamProviders([settings], { logger })).toThrow('CHUCS_UPSTREAM_WECHAT_WEB_SECRET');
  });

  test('gives the Chinese providers their usual names', () => {
    const providers = createUpstreamProviders(['wechat', 'qq', 'weibo'].map((kind) => upstreamSchema.parse({ kind, id: kind, clientId: 'a', clientSecret: 'b' })), { logger });
    expect([...providers.values()].map((p) => [p.id, p.kind, p.name.zh, p.name.en])).toEqual([
      ['wechat', 'wechat', '微信', 'WeChat'], ['qq', 'qq', 'QQ', 'QQ'], ['weibo', 'weibo', '微博', 'Weibo'],
    ]);
  });
});
