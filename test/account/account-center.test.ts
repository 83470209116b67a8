import { startTestServer, testClock, type TestServer } from '../support/server.ts';
import { browser, pkce, authorizeUrl, runFlow, type Browser } from '../support/browser.ts';
import { alertOf } from '../support/login-page.ts';
import { tokenRequest } from '../support/tokens.ts';
import { follow, submit } from '../support/account-center.ts';
import { startBackchannelListener } from '../support/backchannel.ts';
import { decodeJwt } from 'jose';

let server: TestServer;
const clock = testClock();

beforeAll(async () => {
  // privateNetworkHosts: apps' back-channel logout endpoints listen on loopback here.
  server = await startTestServer({ clock, config: { ipPlaces: [{ cidr: '127.0.0.0/8', place: '本机' }], privateNetworkHosts: ['127.0.0.1'] } });
});
afterAll(() => server.close());

/** A person with a fresh phone number signed in to the account center by SMS code. */
async function signedIn(phone: string) {
  const agent = browser(server.url);
  const e164 = `+86${phone}`;
  const stop = await follow(agent, server.url, '/account', { target: phone, readCode: () => server.lastCode(e164) });
  expect(stop.path).toBe('/account');
  expect(stop.res.status).toBe(200);
  const [accountId] = await server.database.db('identifiers').where({ kind: 'phone', value: e164 }).pluck('account_id');
  return { agent, home: stop.res, accountId: accountId as string, e164 };
}

async function page(agent: Browser, path: string) {
  const res = await agent.get(path);
  expect(res.status).toBe(200);
  return res;
}

test('the account center signs in through the provider, as the first-party client chucs-account', async () => {
  const agent = browser(server.url);
  const start = await agent.get('/account/security');
  expect(start.status).toBe(302);
  expect(start.headers.location).toBe('/account/login?next=%2Faccount%2Fsecurity');
  const login = await agent.get(start.headers.location!);
  const auth = new URL(login.headers.location!);
  expect(`${auth.origin}${auth.pathname}`).toBe(`${server.url}/auth`);
  expect(Object.fromEntries(auth.searchParams)).toMatchObject({
    client_id: 'chucs-account', response_type: 'code', code_challenge_method: 'S256', redirect_uri: `${server.url}/account/callback`,
  });
  const { home } = await signedIn('13800138020');
  expect(home.text).toContain('我的长虹');
  expect(home.text).toContain('138****8020');
});

test('a callback with a state that is not ours signs nobody in', async () => {
  const agent = browser(server.url);
  await agent.get('/account/login');
  const res = await agent.get('/account/callback?code=stolen&state=forged');
  expect(res.status).toBe(400);
  expect((await agent.get('/account')).status).toBe(302);
});

test('profile: change the nickname; bad values get a clear message and nothing is saved', async () => {
  const { agent, accountId } = await signedIn('13800138021');
  const form = await page(agent, '/account/profile');
  const saved = await submit(agent, form, '/account/profile', { nickname: '小虹', name: '王小虹', gender: 'female', birthdate: '1990-05-01', region: '四川 绵阳', picture: '' });
  expect(saved.status).toBe(302);
  expect(saved.headers.location).toBe('/account?done=saved');
  expect((await page(agent, '/account?done=saved')).text).toContain('你好，小虹');
  const account = await server.chucs.identity.getAccount(accountId);
  expect(account!.profile).toEqual({ nickname: '小虹', name: '王小虹', gender: 'female', birthdate: '1990-05-01', region: '四川 绵阳' });

  const bads: Array<Record<string, string>> = [{ birthdate: '2999-01-01' }, { picture: 'http://example.com/a.png' }, { gender: 'robot' }, { nickname: 'x'.repeat(33) }];
  for (const bad of bads) {
    const refused = await submit(agent, form, '/account/profile', { nickname: '小虹', ...bad });
    expect(refused.status).toBe(400);
    expect(alertOf(refused.text)).toMatch(/^资料填写有误，请检查后重试。 请检查“.+”。$/);
  }
  expect((await server.chucs.identity.getAccount(accountId))!.profile.nickname).toBe('小虹');
  const audit = await server.database.db('audit_log').where({ subject: accountId, action: 'profile.updated' }).select('actor', 'ip');
  expect(audit).toEqual([{ actor: `account:${accountId}`, ip: expect.stringContaining('127.0.0.1') }]);
});

test('add an email with a code, make it preferred, remove the phone', async () => {
  const { agent, accountId } = await signedIn('13800138022');
  const list = await page(agent, '/account/identifiers');
  const sent = await submit(agent, list, '/account/identifiers/send', { target: 'XiaoHong22@Example.com' });
  expect(sent.status).toBe(200);
  expect(sent.text).toContain('x***@example.com');
  const added = await submit(agent, sent, '/account/identifiers/confirm', { target: 'XiaoHong22@Example.com', code: server.lastCode('xiaohong22@example.com') });
  expect(added.headers.location).toBe('/account/identifiers?done=added');

  const account = (await server.chucs.identity.getAccount(accountId))!;
  const email = account.identifiers.find((i) => i.kind === 'email')!;
  expect(email).toMatchObject({ value: 'xiaohong22@example.com', verified: true, is_primary: true, source: 'account' });

  const second = await submit(agent, await page(agent, '/account/identifiers'), '/account/identifiers/send', { target: 'second22@example.com' });
  await submit(agent, second, '/account/identifiers/confirm', { target: 'second22@example.com', code: server.lastCode('second22@example.com') });
  const secondEmail = (await server.chucs.identity.getAccount(accountId))!.identifiers.find((i) => i.value === 'second22@example.com')!;
  expect(secondEmail.is_primary).toBe(false);
  const primary = await submit(agent, await page(agent, '/account/identifiers'), `/account/identifiers/${secondEmail.id}/primary`);
  expect(primary.headers.location).toBe('/account/identifiers?done=primary');
  const emails = (await server.chucs.identity.getAccount(accountId))!.identifiers.filter((i) => i.kind === 'email');
  expect(emails.map((i) => [i.value, i.is_primary])).toEqual([['second22@example.com', true], ['xiaohong22@example.com', false]]);

  const phone = account.identifiers.find((i) => i.kind === 'phone')!;
  const again = await page(agent, '/account/identifiers');
  expect((await submit(agent, again, `/account/identifiers/${phone.id}/remove`)).headers.location).toBe('/account/identifiers?done=removed');
  const after = (await server.chucs.identity.getAccount(accountId))!;
  expect(after.identifiers.map((i) => i.kind)).toEqual(['email', 'email']);
  const actions = await server.database.db('audit_log').where({ subject: accountId }).orderBy('id').pluck('action');
  expect(actions).toEqual(expect.arrayContaining(['identifier.added', 'identifier.removed']));
});

test('the last way to sign in cannot be removed', async () => {
  const { agent, accountId } = await signedIn('13800138023');
  const [phone] = (await server.chucs.identity.getAccount(accountId))!.identifiers;
  const list = await page(agent, '/account/identifiers');
  const refused = await submit(agent, list, `/account/identifiers/${phone!.id}/remove`);
  expect(refused.status).toBe(409);
  expect(alertOf(refused.text)).toBe('这是你登录长虹ID的最后一种方式，不能删除。');
  expect((await server.chucs.identity.getAccount(accountId))!.identifiers).toHaveLength(1);
});

test("another account's verified email cannot be added, and the message does not say whose", async () => {
  await server.addUser({ email: 'taken@example.com' });
  const { agent, accountId } = await signedIn('13800138024');
  const list = await page(agent, '/account/identifiers');
  const sent = await submit(agent, list, '/account/identifiers/send', { target: 'taken@example.com' });
  expect(sent.status).toBe(200); // the same answer as for a free address: nothing to harvest
  const refused = await submit(agent, sent, '/account/identifiers/confirm', { target: 'taken@example.com', code: server.lastCode('taken@example.com') });
  expect(refused.status).toBe(409);
  expect(alertOf(refused.text)).toBe('该手机号或邮箱已被其他账号使用。');
  expect(refused.text).not.toContain('测试用户');
  expect((await server.chucs.identity.getAccount(accountId))!.identifiers).toHaveLength(1);
});

test('a wrong code adds nothing', async () => {
  const { agent, accountId } = await signedIn('13800138025');
  const list = await page(agent, '/account/identifiers');
  const sent = await submit(agent, list, '/account/identifiers/send', { target: 'wrong-code@example.com' });
  const code = server.lastCode('wrong-code@example.com');
  const refused = await submit(agent, sent, '/account/identifiers/confirm', { target: 'wrong-code@example.com', code: code === '000000' ? '111111' : '000000' });
  expect(refused.status).toBe(400);
  expect(alertOf(refused.text)).toBe('验证码不正确，请重新输入。');
  expect((await server.chucs.identity.getAccount(accountId))!.identifiers).toHaveLength(1);
});

test('password: NIST rules, the common list, then a passphrase that signs in', async () => {
  const { agent, accountId, e164 } = await signedIn('13800138026');
  const form = await page(agent, '/account/password');
  expect(form.text).toContain('你还没有设置密码');
  const cases: Array<[string, string]> = [
    ['short', '密码至少需要 8 个字符。'],
    ['qwertyuiop', '这个密码太常见，很容易被猜到，请换一个。'],
    ['woaini1314', '这个密码太常见，很容易被猜到，请换一个。'],
    ['my13800138026pw', '密码不能包含你的手机号、邮箱或用户名。'],
  ];
  for (const [password, message] of cases) {
    const refused = await submit(agent, form, '/account/password', { password });
    expect(refused.status).toBe(400);
    expect(alertOf(refused.text)).toBe(message);
  }
  const passphrase = '绵阳的春天 has no composition rules';
  expect((await submit(agent, form, '/account/password', { password: passphrase })).headers.location).toBe('/account?done=password');

  const again = await follow(browser(server.url), server.url, '/account', { identifier: e164, password: passphrase });
  expect(again.path).toBe('/account');
  const methods = await server.database.db('audit_log').where({ subject: accountId, action: 'login.succeeded' }).orderBy('id').pluck('detail');
  expect(methods.map((d) => d.method)).toEqual(['sms', 'password']);
});

test('changing the password signs out every other browser and its apps; this browser stays signed in', async () => {
  const listener = await startBackchannelListener();
  try {
    const { agent: owner, accountId, e164 } = await signedIn('13800138040');
    await submit(owner, await page(owner, '/account/password'), '/account/password', { password: 'the first passphrase 1' });
    // Someone who learnt that password signs in elsewhere, to the account center and to an app.
    const intruder = browser(server.url);
    expect((await follow(intruder, server.url, '/account', { identifier: e164, password: 'the first passphrase 1' })).path).toBe('/account');
    const shop = await server.addClient({ name: '长虹小店', firstParty: true, backchannelLogoutUri: listener.url });
    await runFlow(intruder, server.url, authorizeUrl({ clientId: shop.clientId, challenge: pkce().challenge }));

    const changed = await submit(owner, await page(owner, '/account/password'), '/account/password', { password: 'the second passphrase 2' });
    expect(changed.headers.location).toBe('/account?done=password');
    expect(decodeJwt(await listener.next())).toMatchObject({ sub: accountId, aud: shop.clientId });
    expect((await intruder.get('/account')).status).toBe(302);
    expect(await server.database.db('oidc_models').where({ account_id: accountId, model: 'Grant' }).whereRaw("payload->>'clientId' = ?", [shop.clientId])).toEqual([]);
    expect((await owner.get('/account?done=password')).text).toContain('其他设备和应用上的登录已退出');
    expect((await page(owner, '/account/security')).text).toContain('在其他设备上退出');
  } finally {
    await listener.close();
  }
});

test('step-up: after 10 minutes, changing the password needs a fresh code first', async () => {
  const { agent, accountId, e164 } = await signedIn('13800138027');
  clock.advance(11 * 60);
  const blocked = await agent.get('/account/password');
  expect(blocked.headers.location).toBe('/account/verify?next=%2Faccount%2Fpassword');
  const form = await page(agent, '/account/profile'); // a page of the session, for its CSRF token
  const direct = await submit(agent, form, '/account/password', { password: 'a long enough passphrase' });
  expect(direct.headers.location).toBe('/account/verify?next=%2Faccount%2Fpassword');
  expect(await server.database.db('credentials').where({ account_id: accountId }).pluck('type')).toEqual([]);

  const verify = await page(agent, blocked.headers.location!);
  expect(verify.text).toContain('发送验证码到 138****8027');
  const [phone] = (await server.chucs.identity.getAccount(accountId))!.identifiers;
  const codePage = await submit(agent, verify, '/account/verify/send', { identifier: String(phone!.id), next: '/account/password' });
  expect(codePage.status).toBe(200);
  const confirmed = await submit(agent, codePage, '/account/verify/check', { identifier: String(phone!.id), next: '/account/password', code: server.lastCode(e164) });
  expect(confirmed.headers.location).toBe('/account/password');
  const now = await page(agent, '/account/password');
  expect((await submit(agent, now, '/account/password', { password: 'a long enough passphrase' })).headers.location).toBe('/account?done=password');
  expect(await server.database.db('audit_log').where({ subject: accountId }).whereIn('action', ['step_up.succeeded', 'password.set']).pluck('action'))
    .toEqual(['step_up.succeeded', 'password.set']);
  clock.advance(-11 * 60); // back in step with oidc-provider's clock, which sets auth_time

});

test('a step-up redirect never leaves the account center', async () => {
  const { agent } = await signedIn('13800138028');
  const verify = await page(agent, '/account/verify?next=https://evil.example/steal');
  expect(verify.text).toContain('name="next" value="/account"');
});

test('apps: a granted app is listed, and revoking it kills its tokens', async () => {
  const { agent, accountId } = await signedIn('13800138029');
  const app = await server.addClient({ name: '第三方健身应用', grantTypes: ['authorization_code', 'refresh_token'] });
  const { verifier, challenge } = pkce();
  const flow = await runFlow(agent, server.url, authorizeUrl({ clientId: app.clientId, scope: 'openid offline_access', challenge, extra: { prompt: 'consent' } }));
  const tokens = await tokenRequest(server.url, app, { grant_type: 'authorization_code', code: flow.redirect.searchParams.get('code')!, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: verifier });
  expect(tokens.body.refresh_token).toBeTruthy();

  const apps = await page(agent, '/account/apps');
  expect(apps.text).toContain('第三方健身应用');
  expect(apps.text).not.toContain('Changhong ID account');
  expect((await submit(agent, apps, '/account/apps/revoke', { client_id: app.clientId })).headers.location).toBe('/account/apps?done=revoked');
  expect((await page(agent, '/account/apps')).text).not.toContain('第三方健身应用');
  const refresh = await tokenRequest(server.url, app, { grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token });
  expect(refresh.status).toBe(400);
  expect(refresh.body.error).toBe('invalid_grant');
  expect(await server.database.db('audit_log').where({ subject: accountId, action: 'app.revoked' }).pluck('detail')).toEqual([{ client: app.clientId }]);
});

test('devices: bound devices are listed; unbinding leaves the rest of the household bound', async () => {
  const { agent, accountId } = await signedIn('13800138030');
  const familyMember = await server.addUser({ phone: '+8613800138031' });
  const [device] = await server.database.db('devices').insert({ mac: 'a4b1c2d3e4f5', type: 'tv', model: 'CHiQ Q8K 75"' }).returning('id');
  await server.database.db('device_bindings').insert([
    { device_id: device.id, account_id: accountId, source: 'device_flow' },
    { device_id: device.id, account_id: familyMember, source: 'device_flow' },
  ]);
  const devices = await page(agent, '/account/devices');
  expect(devices.text).toContain('CHiQ Q8K 75&quot;');
  expect(devices.text).toContain('A4:B1:C2:D3:E4:F5');
  expect((await submit(agent, devices, `/account/devices/${device.id}/unbind`)).headers.location).toBe('/account/devices?done=unbound');
  expect(await server.database.db('device_bindings').where({ device_id: device.id }).pluck('account_id')).toEqual([familyMember]);
  const other = await submit(agent, devices, `/account/devices/${device.id}/unbind`);
  expect(other.status).toBe(404);
});

test('security log: sign-ins with method, app, place and device, and changes', async () => {
  const { agent } = await signedIn('13800138032');
  const log = await agent.get('/account/security').set('user-agent', 'Mozilla/5.0 (Linux; Android 13; V2031A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36');
  expect(log.text).toContain('注册长虹ID');
  expect(log.text).toMatch(/登录<\/strong> · 短信验证码 · 我的长虹/);
  expect(log.text).toContain('本机');
});

test('sign out everywhere ends the account center session and every app token', async () => {
  const { agent, accountId } = await signedIn('13800138033');
  const home = await page(agent, '/account');
  const done = await submit(agent, home, '/account/sign-out-everywhere');
  expect(done.status).toBe(200);
  expect(done.text).toContain('已在所有设备和应用上退出。');
  expect(Number((await server.database.db('oidc_models').where({ account_id: accountId }).count('* as n').first())!.n)).toBe(0);
  expect((await agent.get('/account')).status).toBe(302);
});

test('every form needs its CSRF token; a tampered cookie is no session', async () => {
  const { agent } = await signedIn('13800138034');
  const forged = await agent.post('/account/profile').type('form').send({ nickname: 'hacked' });
  expect(forged.status).toBe(403);
  const stranger = browser(server.url);
  stranger.jar.setCookie(`chucs.account=${Buffer.from(JSON.stringify({ sub: 'x', sid: 'y', authTime: 0 })).toString('base64url')}; path=/account`, new URL(server.url).hostname, '/account');
  expect((await stranger.get('/account')).status).toBe(302);
});

test('English on request, remembered', async () => {
  const { agent } = await signedIn('13800138035');
  expect((await page(agent, '/account?lang=en')).text).toContain('My Changhong ID');
  expect((await page(agent, '/account/apps')).text).toContain('Apps you signed in to');
});

test('odd ids in the path are not found, never a server error', async () => {
  const { agent } = await signedIn('13800138036');
  const home = await page(agent, '/account/identifiers');
  for (const id of ['1.5', '1e400', '99999999999999999999', '9223372036854775807', '-1', 'abc']) {
    for (const action of [`/account/identifiers/${id}/remove`, `/account/identifiers/${id}/primary`, `/account/devices/${id}/unbind`, `/account/linked/${id}/unlink`]) {
      const res = await submit(agent, home, action);
      expect([action, res.status]).toEqual([action, 404]);
    }
  }
});

test('a NUL in any field is refused with a reason, never a server error', async () => {
  const { agent, accountId } = await signedIn('13800138039');
  const home = await page(agent, '/account/profile');
  for (const [action, fields] of [['/account/profile', { nickname: '小虹', name: 'a\u0000b' }], ['/account/apps/revoke', { client_id: '\u0000' }]] as const) {
    const res = await submit(agent, home, action, fields);
    expect([action, res.status]).toEqual([action, 400]);
    expect(alertOf(res.text)).toContain('请求无效');
  }
  expect((await server.chucs.identity.getAccount(accountId))!.profile.name).toBeUndefined();
  for (const done of ['__proto__', 'constructor', 'toString']) expect([done, (await agent.get(`/account?done=${done}`)).status]).toEqual([done, 200]);
});

test('sign out everywhere and revoking an app tell the apps by back-channel logout', async () => {
  const listener = await startBackchannelListener();
  try {
    const { agent, accountId } = await signedIn('13800138037');
    const shop = await server.addClient({ name: '长虹小店', firstParty: true, backchannelLogoutUri: listener.url });
    await runFlow(agent, server.url, authorizeUrl({ clientId: shop.clientId, challenge: pkce().challenge }));

    const apps = await page(agent, '/account/apps');
    await submit(agent, apps, '/account/apps/revoke', { client_id: shop.clientId });
    const revoked = decodeJwt(await listener.next());
    expect(revoked).toMatchObject({ sub: accountId, aud: shop.clientId, sid: expect.any(String) });

    await runFlow(agent, server.url, authorizeUrl({ clientId: shop.clientId, challenge: pkce().challenge }));
    await submit(agent, await page(agent, '/account'), '/account/sign-out-everywhere');
    expect(decodeJwt(await listener.next())).toMatchObject({ sub: accountId, aud: shop.clientId });
  } finally {
    await listener.close();
  }
});
