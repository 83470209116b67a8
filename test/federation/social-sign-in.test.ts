import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type request from 'supertest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, pkce, authorizeUrl, runFlow, csrfOf, type Browser } from '../support/browser.ts';
import { alertOf } from '../support/login-page.ts';
import { tokenRequest } from '../support/tokens.ts';
import { follow, submit } from '../support/account-center.ts';
import { startFakeWechat, startFakeQQ, startFakeWeibo, type FakeUpstream, type WechatPerson, type QQPerson, type WeiboPerson } from '../support/fake-upstreams.ts';

/**
 * Signing in with WeChat, QQ, Weibo and an OpenID Connect upstream (a second CHUCS), over
 * real sockets: new people, linking by password and by code, the pre-hijacking case, a late
 * unionid, the merge engine's identifiers, conflicts, unlinking and every upstream failure.
 */

let server: TestServer;
let upstream: TestServer; // the generic OIDC upstream: another oidc-provider
let wechat: FakeUpstream<WechatPerson>;
let qq: FakeUpstream<QQPerson, string>;
let weibo: FakeUpstream<WeiboPerson>;
let app: { clientId: string; clientSecret?: string };
const corpSecret = randomBytes(24).toString('base64url');
const trustedSecret = randomBytes(24).toString('base64url');

beforeAll(async () => {
  [wechat, qq, weibo, upstream] = await Promise.all([startFakeWechat(), startFakeQQ(), startFakeWeibo(), startTestServer()]);
  server = await startTestServer({
    config: {
      upstreams: [
        { kind: 'wechat', id: 'wechat', clientId: wechat.appId, clientSecret: wechat.appSecret, endpoints: wechat.endpoints, timeoutMs: 500 },
        { kind: 'qq', id: 'qq', clientId: qq.appId, clientSecret: qq.appSecret, endpoints: qq.endpoints, timeoutMs: 500 },
        { kind: 'weibo', id: 'weibo', clientId: weibo.appId, clientSecret: weibo.appSecret, endpoints: weibo.endpoints, timeoutMs: 500 },
        { kind: 'oidc', id: 'corp', name: { zh: '集团账号', en: 'Group account' }, issuer: upstream.url, clientId: 'chucs-downstream', clientSecret: corpSecret, scope: 'openid email' },
        { kind: 'oidc', id: 'corp-trusted', issuer: upstream.url, clientId: 'chucs-trusting', clientSecret: trustedSecret, scope: 'openid email', trustVerifiedEmail: true },
      ],
    },
  });
  await upstream.chucs.clients.ensureBuiltIn('chucs-downstream', corpSecret, { name: 'CHUCS', redirectUris: [`${server.url}/upstream/callback/corp`], firstParty: true });
  await upstream.chucs.clients.ensureBuiltIn('chucs-trusting', trustedSecret, { name: 'CHUCS', redirectUris: [`${server.url}/upstream/callback/corp-trusted`], firstParty: true });
  app = await server.addClient({ name: '长虹商城', firstParty: true });
}, 30_000);
afterAll(async () => {
  await server?.close();
  await Promise.all([wechat?.close(), qq?.close(), weibo?.close(), upstream?.close()]);
});

interface Trip { agent: Browser; uid: string; verifier: string; res: request.Response }

/** Opens the app's login page and clicks the upstream's button; follows the upstream back to CHUCS. */
async function viaUpstream(provider: string, agent = browser(server.url), upstreamPerson?: { identifier: string; password: string }): Promise<Trip> {
  const { verifier, challenge } = pkce();
  const start = await agent.get(authorizeUrl({ clientId: app.clientId, challenge }));
  const uid = /\/interaction\/([^/?]+)/.exec(start.headers.location!)![1]!;
  const page = await agent.get(`/interaction/${uid}`);
  expect(page.text).toContain(`/interaction/${uid}/upstream/${provider}/start`);
  const leave = await agent.post(`/interaction/${uid}/upstream/${provider}/start`).type('form').send({ _csrf: csrfOf(page.text) });
  expect(leave.status).toBe(302);
  const callback = await backFromUpstream(leave.headers.location!, upstreamPerson);
  let res = await agent.get(callback);
  // The callback redeems the code, then sends the browser back to its own login.
  if (res.status === 302 && res.headers.location!.startsWith(`/interaction/${uid}/upstream/`)) res = await agent.get(res.headers.location!);
  return { agent, uid, verifier, res };
}

/** What the upstream does with the browser: the fakes answer at once; the OIDC upstream asks its own login. */
async function backFromUpstream(location: string, upstreamPerson?: { identifier: string; password: string }): Promise<string> {
  const target = new URL(location);
  let back: URL;
  if (target.origin === new URL(upstream.url).origin) {
    ({ redirect: back } = await runFlow(browser(upstream.url), upstream.url, `${target.pathname}${target.search}`, upstreamPerson));
  } else {
    const answer = await fetch(target, { redirect: 'manual' });
    back = new URL(answer.headers.get('location')!);
  }
  expect(back.origin).toBe(server.url);
  return `${back.pathname}${back.search}`;
}

/** Follows CHUCS's redirects after the upstream to the app; returns the ID token's claims. */
async function toApp(trip: Trip, res = trip.res) {
  let current = res;
  while (current.status >= 300 && current.status < 400) {
    const next = new URL(current.headers.location!, server.url);
    if (next.origin !== server.url) {
      const token = await tokenRequest(server.url, app, { grant_type: 'authorization_code', code: next.searchParams.get('code')!, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: trip.verifier });
      expect(token.status).toBe(200);
      return (await jwtVerify(token.body.id_token, createRemoteJWKSet(new URL(`${server.url}/jwks`)), { issuer: server.url, audience: app.clientId })).payload;
    }
    current = await trip.agent.get(`${next.pathname}${next.search}`);
  }
  throw new Error(`the flow stopped at ${current.status}: ${alertOf(current.text) ?? current.text.slice(0, 300)}`);
}

/** On the "first time with this provider" page: create a new Changhong ID. */
async function createNew(trip: Trip) {
  expect(trip.res.status).toBe(200);
  expect(trip.res.text).toContain(`/interaction/${trip.uid}/upstream/create`);
  const created = await trip.agent.post(`/interaction/${trip.uid}/upstream/create`).type('form').send({ _csrf: csrfOf(trip.res.text) });
  return toApp(trip, created);
}

const accountOf = (sub: unknown) => server.chucs.identity.getAccount(String(sub));
const wechatPerson = (n: string, unionid?: string): WechatPerson => ({ openid: `oOpen-${n}`, ...(unionid ? { unionid } : {}), nickname: `微信用户${n}`, sex: 1, headimgurl: `https://thirdwx.qlogo.cn/mmopen/${n}/132` });

test('a new person through WeChat: asked, creates a Changhong ID holding the openid and unionid; the next time goes straight in', async () => {
  wechat.signInAs(wechatPerson('1', 'oUnion-1'));
  const trip = await viaUpstream('wechat');
  expect(trip.res.text).toContain('这是你第一次用微信（微信用户1）登录长虹ID');
  const claims = await createNew(trip);
  expect(claims.amr).toEqual(['fed']);
  const account = (await accountOf(claims.sub))!;
  expect(account.identifiers.map((i) => [i.kind, i.value, i.verified]).sort()).toEqual([
    ['wechat_openid', `${wechat.appId}:oOpen-1`, true], ['wechat_unionid', 'oUnion-1', true],
  ]);
  expect(account.profile).toMatchObject({ nickname: '微信用户1', picture: 'https://thirdwx.qlogo.cn/mmopen/1/132', gender: 'male' });

  const [link] = await server.database.db('external_identities').where({ account_id: claims.sub });
  expect(link).toMatchObject({ provider: 'wechat', subject: `${wechat.appId}:oOpen-1` });
  expect(link.tokens_enc).toMatch(/^v1\./); // sealed: the upstream's tokens are never stored in the clear

  wechat.signInAs(wechatPerson('1', 'oUnion-1'));
  const again = await viaUpstream('wechat');
  expect((await toApp(again)).sub).toBe(claims.sub);
  // Downstream hears of the account and the link once, not of each sign-in; never the openid or unionid.
  expect(await server.database.db('events').where({ account_id: claims.sub }).orderBy('id').select('type', 'data')).toEqual([
    { type: 'account.created', data: { via: 'upstream:wechat', identifiers: [] } },
    { type: 'identifier.linked', data: { kind: 'upstream', provider: 'wechat', verified: true } },
  ]);
});

test('a NUL in what an upstream says is dropped from a nickname and refused in an id, never a server error', async () => {
  wechat.signInAs({ ...wechatPerson('nul', 'oUnion-nul'), nickname: '微信\u0000用户' });
  const claims = await createNew(await viaUpstream('wechat'));
  expect((await accountOf(claims.sub))!.profile.nickname).toBe('微信用户');
  // A nickname cut to 32 characters keeps its last emoji whole.
  wechat.signInAs({ ...wechatPerson('emoji', 'oUnion-emoji'), nickname: `${'微'.repeat(31)}😀😀` });
  expect((await accountOf((await createNew(await viaUpstream('wechat'))).sub))!.profile.nickname).toBe(`${'微'.repeat(31)}😀`);

  wechat.signInAs(wechatPerson('bad\u0000id'));
  const refused = await viaUpstream('wechat');
  expect(refused.res.status).toBe(502);
  expect(alertOf(refused.res.text)).toContain('第三方登录没有成功');
});

test.each([
  ['qq', () => qq.signInAs({ openid: 'QQ-OPENID-1', unionid: 'QQ-UNION-1', nickname: 'QQ用户', gender: '女' }), [['qq_openid', 'QQ-OPENID-1'], ['qq_unionid', 'QQ-UNION-1']]],
  ['weibo', () => weibo.signInAs({ uid: '1234567890', screen_name: '微博用户', gender: 'f' }), [['weibo_uid', '1234567890']]],
])('a new person through %s', async (provider, signIn, identifiers) => {
  signIn();
  const claims = await createNew(await viaUpstream(provider));
  const account = (await accountOf(claims.sub))!;
  expect(account.identifiers.map((i) => [i.kind, i.value]).sort()).toEqual(identifiers);
  expect(account.profile.gender).toBe('female');
});

test('a new person through an OpenID Connect upstream', async () => {
  const outsider = await upstream.addUser({ email: 'outsider@corp.example.com' });
  const claims = await createNew(await viaUpstream('corp', undefined, { identifier: 'outsider@corp.example.com', password: 'correct horse battery staple' }));
  const [link] = await server.database.db('external_identities').where({ account_id: claims.sub });
  expect(link).toMatchObject({ provider: 'corp', subject: outsider });
  // Not trusted: the upstream's email is not taken as the new account's.
  expect((await accountOf(claims.sub))!.identifiers).toEqual([]);
});

test('link to an existing Changhong ID by its password', async () => {
  const existing = await server.addUser({ phone: '+8613800138500', password: 'correct horse battery staple' });
  wechat.signInAs(wechatPerson('2', 'oUnion-2'));
  const trip = await viaUpstream('wechat');
  const proven = await trip.agent.post(`/interaction/${trip.uid}/login`).type('form')
    .send({ _csrf: csrfOf(trip.res.text), identifier: '13800138500', password: 'correct horse battery staple' });
  // Asked before linking, with the WeChat nickname and the account it would join.
  expect(proven.text).toContain('要把微信账号“微信用户2”关联到长虹ID 138****8500 吗？');
  const linked = await trip.agent.post(`/interaction/${trip.uid}/upstream/link`).type('form').send({ _csrf: csrfOf(proven.text) });
  const claims = await toApp(trip, linked);
  expect(claims.sub).toBe(existing);
  expect(claims.amr).toEqual(['fed', 'pwd']);
  wechat.signInAs(wechatPerson('2', 'oUnion-2'));
  expect((await toApp(await viaUpstream('wechat'))).sub).toBe(existing);
  expect(await server.database.db('audit_log').where({ subject: existing, action: 'upstream.linked' }).pluck('detail')).toEqual([{ provider: 'wechat', reason: 'proven' }]);
});

test('link to an existing Changhong ID by an SMS code', async () => {
  const existing = await server.addUser({ phone: '+8613800138501' });
  weibo.signInAs({ uid: '2000000001', screen_name: '要关联的微博' });
  const trip = await viaUpstream('weibo');
  const sent = await trip.agent.post(`/interaction/${trip.uid}/code/send`).type('form').send({ _csrf: csrfOf(trip.res.text), target: '13800138501' });
  const proven = await trip.agent.post(`/interaction/${trip.uid}/code/verify`).type('form')
    .send({ _csrf: csrfOf(sent.text), target: '13800138501', code: server.lastCode('+8613800138501') });
  const linked = await trip.agent.post(`/interaction/${trip.uid}/upstream/link`).type('form').send({ _csrf: csrfOf(proven.text) });
  const claims = await toApp(trip, linked);
  expect(claims.sub).toBe(existing);
  expect(claims.amr).toEqual(['fed', 'sms']);
  expect((await accountOf(existing))!.identifiers.map((i) => i.kind)).toContain('weibo_uid');
});

test("pre-hijacking: an upstream claiming another person's email neither signs in to nor links that account", async () => {
  const victim = await server.addUser({ email: 'victim@example.com' });
  await upstream.addUser({ email: 'victim@example.com', password: 'attacker passphrase!' }); // the attacker registered it upstream
  const trip = await viaUpstream('corp', undefined, { identifier: 'victim@example.com', password: 'attacker passphrase!' });
  expect(trip.res.status).toBe(200); // asked to choose: never let in because the email matches
  const claims = await createNew(trip);
  expect(claims.sub).not.toBe(victim);
  expect((await accountOf(claims.sub))!.identifiers).toEqual([]);
  expect(await server.database.db('external_identities').where({ account_id: victim })).toEqual([]);
});

test('a trusted upstream links by a verified email (configured per upstream, off by default)', async () => {
  const owner = await server.addUser({ email: 'staff@corp.example.com' });
  await upstream.database.db('identifiers').where({ value: 'staff@corp.example.com' }).delete();
  await upstream.addUser({ email: 'staff@corp.example.com', password: 'staff passphrase 1' });
  const trip = await viaUpstream('corp-trusted', undefined, { identifier: 'staff@corp.example.com', password: 'staff passphrase 1' });
  expect((await toApp(trip)).sub).toBe(owner);
  expect(await server.database.db('audit_log').where({ subject: owner, action: 'upstream.linked' }).pluck('detail')).toEqual([{ provider: 'corp-trusted', reason: 'verified_email' }]);
});

test('a trusted upstream that hands a linked person\'s email to someone else does not let them in to that account', async () => {
  const owner = await server.addUser({ email: 'alias@corp.example.com' });
  await upstream.addUser({ email: 'alias@corp.example.com', password: 'first holder pass 1' });
  expect((await toApp(await viaUpstream('corp-trusted', undefined, { identifier: 'alias@corp.example.com', password: 'first holder pass 1' }))).sub).toBe(owner);

  // The upstream recycles the address: a different person there now holds it, verified.
  await upstream.database.db('identifiers').where({ value: 'alias@corp.example.com' }).delete();
  await upstream.addUser({ email: 'alias@corp.example.com', password: 'second holder pass 2' });
  const trip = await viaUpstream('corp-trusted', undefined, { identifier: 'alias@corp.example.com', password: 'second holder pass 2' });
  expect(trip.res.status).toBe(200); // asked to choose, not signed in to the owner's account
  const claims = await createNew(trip);
  expect(claims.sub).not.toBe(owner);
  expect((await accountOf(claims.sub))!.identifiers).toEqual([]); // the address stays with its verified holder
  expect(await server.database.db('external_identities').where({ account_id: owner, provider: 'corp-trusted' })).toHaveLength(1);
});

test('a unionid arriving late for a known openid is reconciled into the same account', async () => {
  wechat.signInAs(wechatPerson('3'));
  const first = await createNew(await viaUpstream('wechat'));
  expect((await accountOf(first.sub))!.identifiers.map((i) => i.kind)).toEqual(['wechat_openid']);
  wechat.signInAs(wechatPerson('3', 'oUnion-3'));
  const later = await toApp(await viaUpstream('wechat'));
  expect(later.sub).toBe(first.sub);
  expect((await accountOf(first.sub))!.identifiers.map((i) => i.kind).sort()).toEqual(['wechat_openid', 'wechat_unionid']);
  expect(await server.database.db('external_identities').where({ provider: 'wechat', account_id: first.sub }).count('* as n').first()).toMatchObject({ n: 1 });
});

test("a migrated mall user who signs in with WeChat lands in their merged account (the merge engine's unionid)", async () => {
  const merged = await server.chucs.identity.createAccount({
    identifiers: [{ kind: 'phone', value: '+8613800138502', verified: true, source: 'merge' }, { kind: 'wechat_unionid', value: 'oUnion-mall-9', verified: true, source: 'merge' }],
    actor: 'test',
  });
  wechat.signInAs(wechatPerson('9', 'oUnion-mall-9'));
  expect((await toApp(await viaUpstream('wechat'))).sub).toBe(merged.id);
});

test('an upstream identity held by two accounts signs in to neither', async () => {
  const a = await server.chucs.identity.createAccount({ identifiers: [{ kind: 'wechat_unionid', value: 'oUnion-split', verified: true, source: 'merge' }], actor: 'test' });
  const b = await server.chucs.identity.createAccount({ identifiers: [{ kind: 'wechat_openid', value: `${wechat.appId}:oOpen-split`, verified: true, source: 'merge' }], actor: 'test' });
  wechat.signInAs({ openid: 'oOpen-split', unionid: 'oUnion-split', nickname: 'x', sex: 0, headimgurl: '' });
  const trip = await viaUpstream('wechat');
  expect(trip.res.status).toBe(409);
  expect(alertOf(trip.res.text)).toBe('这个第三方账号与多个长虹ID有关，无法自动处理，请联系客服。');
  const [conflict] = await server.database.db('audit_log').where({ action: 'upstream.conflict' }).pluck('detail');
  expect(conflict).toMatchObject({ provider: 'wechat', reason: 'several_holders' });
  expect(conflict.accounts.sort()).toEqual([a.id, b.id].sort());
});

test('the callback only continues in the browser that started it (login CSRF)', async () => {
  wechat.signInAs(wechatPerson('4', 'oUnion-4'));
  const agent = browser(server.url);
  const start = await agent.get(authorizeUrl({ clientId: app.clientId, challenge: pkce().challenge }));
  const uid = /\/interaction\/([^/?]+)/.exec(start.headers.location!)![1]!;
  const page = await agent.get(`/interaction/${uid}`);
  const leave = await agent.post(`/interaction/${uid}/upstream/wechat/start`).type('form').send({ _csrf: csrfOf(page.text) });
  const callback = await backFromUpstream(leave.headers.location!);
  const victim = browser(server.url);
  const stolen = await victim.get(callback);
  expect(stolen.status).toBe(400);
  expect(stolen.text).toContain('登录请求已过期');
  const own = await agent.get(callback); // the browser that started still can, once
  expect(own.status).toBe(302);
  expect((await agent.get(callback)).status).toBe(400);
});

describe('upstream failures become clear pages with the way back, never a 500', () => {
  afterEach(() => { wechat.fail(null); qq.fail(null); });

  test('the person refused at WeChat', async () => {
    wechat.signInAs(null);
    const trip = await viaUpstream('wechat');
    expect(trip.res.status).toBe(400);
    expect(alertOf(trip.res.text)).toBe('你取消了第三方登录。');
    expect(trip.res.text).toContain(`href="/interaction/${trip.uid}"`);
  });

  test.each(['token-error', 'token-500', 'timeout', 'malformed', 'userinfo-error'] as const)('WeChat answers %s', async (mode) => {
    wechat.signInAs(wechatPerson('f'));
    wechat.fail(mode);
    const trip = await viaUpstream('wechat');
    expect(trip.res.status).toBe(502);
    expect(alertOf(trip.res.text)).toBe('第三方登录没有成功，请重试或换一种方式登录。');
    expect(trip.res.text).not.toContain(wechat.appSecret);
    const back = await trip.agent.get(`/interaction/${trip.uid}`);
    expect(back.status).toBe(200); // the login page is still there to try another way
  });

  test('a forged or replayed callback', async () => {
    expect((await browser(server.url).get('/upstream/callback/wechat?code=x&state=forged')).status).toBe(400);
    expect((await browser(server.url).get('/upstream/callback/nosuch?code=x&state=y')).status).toBe(400);
  });
});

test('an app can narrow the upstreams it offers', async () => {
  const tv = await server.addClient({ name: '长虹电视助手', firstParty: true, upstreams: ['qq'] });
  const agent = browser(server.url);
  const start = await agent.get(authorizeUrl({ clientId: tv.clientId, challenge: pkce().challenge }));
  const uid = /\/interaction\/([^/?]+)/.exec(start.headers.location!)![1]!;
  const page = await agent.get(`/interaction/${uid}`);
  expect(page.text).toContain('/upstream/qq/start');
  expect(page.text).not.toContain('/upstream/wechat/start');
  expect((await agent.post(`/interaction/${uid}/upstream/wechat/start`).type('form').send({ _csrf: csrfOf(page.text) })).status).toBe(404);
});

describe('the account center: link and unlink', () => {
  test('link Weibo from the account center; unlink it again', async () => {
    const agent = browser(server.url);
    const home = await follow(agent, server.url, '/account', { target: '13800138503', readCode: () => server.lastCode('+8613800138503') });
    expect(home.path).toBe('/account');
    const linkedPage = await agent.get('/account/linked');
    weibo.signInAs({ uid: '3000000001', screen_name: '账号中心微博' });
    const leave = await submit(agent, linkedPage, '/account/linked/weibo/start');
    const done = await agent.get(await backFromUpstream(leave.headers.location!));
    expect(done.headers.location).toMatch(/^\/account\/linked\/done\?state=/);
    expect((await agent.get(done.headers.location!)).headers.location).toBe('/account/linked?done=linked');
    const listed = await agent.get('/account/linked');
    expect(listed.text).toContain('微博');
    const [link] = await server.database.db('external_identities').where({ provider: 'weibo', subject: '3000000001' });
    const unlinked = await submit(agent, listed, `/account/linked/${link.id}/unlink`);
    expect(unlinked.headers.location).toBe('/account/linked?done=unlinked');
    expect(await server.database.db('external_identities').where({ id: link.id })).toEqual([]);
    expect(await server.database.db('identifiers').where({ kind: 'weibo_uid', value: '3000000001' })).toEqual([]);
    const events = await server.database.db('events').where({ account_id: link.account_id }).whereLike('type', 'identifier.%').orderBy('id').select('type', 'data');
    expect(events).toEqual([
      { type: 'identifier.linked', data: { kind: 'upstream', provider: 'weibo', verified: true } },
      { type: 'identifier.unlinked', data: { kind: 'upstream', provider: 'weibo' } },
    ]);
  });

  test('the last way to sign in cannot be unlinked', async () => {
    wechat.signInAs(wechatPerson('5', 'oUnion-5'));
    const trip = await viaUpstream('wechat');
    const claims = await createNew(trip);
    // Same browser: the SSO session opens the account center without another sign-in.
    const home = await follow(trip.agent, server.url, '/account');
    expect(home.path).toBe('/account');
    const listed = await trip.agent.get('/account/linked');
    const [link] = await server.database.db('external_identities').where({ account_id: claims.sub });
    const refused = await submit(trip.agent, listed, `/account/linked/${link.id}/unlink`);
    expect(refused.status).toBe(409);
    expect(alertOf(refused.text)).toBe('这是你登录长虹ID的最后一种方式，不能删除。');
  });

  test("linking a WeChat that belongs to another account is refused", async () => {
    wechat.signInAs(wechatPerson('6', 'oUnion-6'));
    await createNew(await viaUpstream('wechat'));
    const agent = browser(server.url);
    await follow(agent, server.url, '/account', { target: '13800138504', readCode: () => server.lastCode('+8613800138504') });
    const linkedPage = await agent.get('/account/linked');
    wechat.signInAs(wechatPerson('6', 'oUnion-6'));
    const leave = await submit(agent, linkedPage, '/account/linked/wechat/start');
    const done = await agent.get(await backFromUpstream(leave.headers.location!));
    const refused = await agent.get(done.headers.location!);
    expect(refused.status).toBe(409);
  });
});

test("an attacker's upstream link completed in the victim's browser gives the attacker nothing", async () => {
  weibo.signInAs({ uid: '4000000001', screen_name: '受害者' }); // the victim is signed in at Weibo
  const victimAccount = (await createNew(await viaUpstream('weibo'))).sub;
  const attacker = browser(server.url);
  const start = await attacker.get(authorizeUrl({ clientId: app.clientId, challenge: pkce().challenge }));
  const uid = /\/interaction\/([^/?]+)/.exec(start.headers.location!)![1]!;
  const page = await attacker.get(`/interaction/${uid}`);
  const leave = await attacker.post(`/interaction/${uid}/upstream/weibo/start`).type('form').send({ _csrf: csrfOf(page.text) });
  // The attacker sends the Weibo link to the victim, whose browser completes it.
  weibo.signInAs({ uid: '4000000001', screen_name: '受害者' });
  const callback = await backFromUpstream(leave.headers.location!);
  expect((await browser(server.url).get(callback)).status).toBe(400);
  const state = new URL(callback, server.url).searchParams.get('state');
  const collect = await attacker.get(`/interaction/${uid}/upstream/${state}`);
  expect(collect.status).toBe(400);
  expect(await server.database.db('audit_log').where({ subject: victimAccount, action: 'login.succeeded' }).count('* as n').first()).toMatchObject({ n: 1 });
});

test('a WeChat left half-way on a shared browser is not linked to the next person without their yes', async () => {
  const next = await server.addUser({ phone: '+8613800138505' });
  wechat.signInAs(wechatPerson('7', 'oUnion-7'));
  const trip = await viaUpstream('wechat'); // someone starts with their WeChat and walks away
  const sent = await trip.agent.post(`/interaction/${trip.uid}/code/send`).type('form').send({ _csrf: csrfOf(trip.res.text), target: '13800138505' });
  const proven = await trip.agent.post(`/interaction/${trip.uid}/code/verify`).type('form')
    .send({ _csrf: csrfOf(sent.text), target: '13800138505', code: server.lastCode('+8613800138505') });
  expect(proven.text).toContain('“微信用户7”');
  const skipped = await trip.agent.post(`/interaction/${trip.uid}/upstream/skip`).type('form').send({ _csrf: csrfOf(proven.text) });
  const claims = await toApp(trip, skipped);
  expect(claims.sub).toBe(next);
  expect(claims.amr).toEqual(['sms']);
  expect(await server.database.db('external_identities').where({ account_id: next })).toEqual([]);
});

test('unlinking removes what the link proved, a merge-engine unionid too, and nothing else', async () => {
  const merged = await server.chucs.identity.createAccount({
    identifiers: [
      { kind: 'phone', value: '+8613800138506', verified: true, source: 'merge' },
      { kind: 'email', value: 'merged@example.com', verified: true, source: 'merge' },
      { kind: 'wechat_unionid', value: 'oUnion-unlink', verified: true, source: 'merge' },
    ],
    actor: 'test',
  });
  wechat.signInAs(wechatPerson('8', 'oUnion-unlink'));
  const trip = await viaUpstream('wechat');
  expect((await toApp(trip)).sub).toBe(merged.id);
  const home = await follow(trip.agent, server.url, '/account');
  expect(home.path).toBe('/account');
  const listed = await trip.agent.get('/account/linked');
  const [link] = await server.database.db('external_identities').where({ account_id: merged.id });
  expect((await submit(trip.agent, listed, `/account/linked/${link.id}/unlink`)).headers.location).toBe('/account/linked?done=unlinked');
  expect((await accountOf(merged.id))!.identifiers.map((i) => i.kind).sort()).toEqual(['email', 'phone']);
  wechat.signInAs(wechatPerson('8', 'oUnion-unlink'));
  expect((await viaUpstream('wechat')).res.text).toContain('这是你第一次用微信'); // no longer opens the account
});

test('malformed states and providers are refused, never a server error', async () => {
  const agent = browser(server.url);
  for (const path of ['/upstream/callback/wechat?state=%00', '/upstream/callback/%00?state=x', '/upstream/callback/wechat?state=a&state=b', `/upstream/callback/wechat?state=${'x'.repeat(7000)}`]) {
    expect([path, (await agent.get(path)).status]).toEqual([path, 400]);
  }
  const start = await agent.get(authorizeUrl({ clientId: app.clientId, challenge: pkce().challenge }));
  const uid = /\/interaction\/([^/?]+)/.exec(start.headers.location!)![1]!;
  await agent.get(`/interaction/${uid}`);
  expect((await agent.get(`/interaction/${uid}/upstream/%00`)).status).toBe(400);
});
