import request from 'supertest';
import QRCode from 'qrcode';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser } from '../support/browser.ts';
import { approveDevice, enterDeviceCode } from '../support/device.ts';
import { follow, submit } from '../support/account-center.ts';
import { basic } from '../support/tokens.ts';
import { ANONYMOUS_DEVICE_GRANT, DEVICE_CODE_GRANT } from '../../src/clients/clients.service.ts';

/**
 * The whole TV story over HTTP: a TV is switched on and gets an anonymous token; someone
 * scans its QR code, signs in with an SMS code and approves; the TV gets tokens and is bound
 * to them, and their account keeps its `sub`; a second member of the family binds it too;
 * one unbinds; the TV is sold and is unbound from everyone.
 */

let server: TestServer;
let tv: { clientId: string; clientSecret?: string };
const MAC = 'A4:B1:C2:D3:E4:F5';
/** What the TV got when it registered (the anonymous grant's first answer) and keeps. */
let deviceSecret: string;

beforeAll(async () => {
  server = await startTestServer();
  tv = await server.addClient({ name: '长虹电视', firstParty: true, grantTypes: [DEVICE_CODE_GRANT, 'refresh_token', ANONYMOUS_DEVICE_GRANT], redirectUris: [] });
});
afterAll(() => server.close());

const tvAuth = () => basic(tv.clientId, tv.clientSecret!);

async function deviceAuthorization() {
  const res = await request(server.url).post('/device/auth').set('authorization', tvAuth()).type('form')
    .send({ scope: 'openid offline_access', mac: MAC, device_secret: deviceSecret, device_type: 'tv', device_model: 'CHiQ Q10', device_room: '客厅', device_serial: 'SN-0001' });
  expect(res.status).toBe(200);
  return res.body as { device_code: string; user_code: string; verification_uri_complete: string };
}

async function pollForTokens(deviceCode: string) {
  const res = await request(server.url).post('/token').set('authorization', tvAuth()).type('form').send({ grant_type: DEVICE_CODE_GRANT, device_code: deviceCode });
  expect(res.status).toBe(200);
  return res.body as { access_token: string; id_token: string; refresh_token?: string };
}

async function signInOnPhone(userCode: string, phone: string) {
  const agent = browser(server.url);
  const confirmPage = await enterDeviceCode(agent, server.url, userCode);
  expect(confirmPage.text).toContain('CHiQ Q10'); // the person sees which device asks, and where it is
  expect(confirmPage.text).toContain('客厅');
  expect(confirmPage.text).toContain('E4F5'); // the end of the MAC, to compare with the TV's label
  expect(confirmPage.text).toContain('这台设备将绑定到你的长虹ID');
  const done = await approveDevice(agent, server.url, userCode, { target: phone, readCode: () => server.lastCode(`+86${phone}`) });
  expect(done).toContain('登录成功，请回到设备上继续。');
  return agent;
}

test('the TV story: anonymous, QR, phone sign-in, binding, a second member, unbind, resale', async () => {
  // 1. Switched on, nobody signed in: an anonymous device subject, the same every time.
  const anonymous = await request(server.url).post('/token').set('authorization', tvAuth()).type('form').send({ grant_type: ANONYMOUS_DEVICE_GRANT, mac: MAC, device_model: 'CHiQ Q10' });
  expect(anonymous.status).toBe(200);
  const anonymousSubject = anonymous.body.anonymous_subject as string;
  expect(anonymousSubject).toMatch(/^anon_/);
  deviceSecret = anonymous.body.device_secret;
  expect(deviceSecret).toMatch(/^[\w-]{43}$/); // given once: the TV proves itself with it from now on
  const introspected = await request(server.url).post('/token/introspection').set('authorization', tvAuth()).type('form').send({ token: anonymous.body.access_token });
  expect(introspected.body).toMatchObject({ active: true, client_id: tv.clientId, anonymous_subject: anonymousSubject });
  expect(introspected.body.sub).toBeUndefined();
  const again = await request(server.url).post('/token').set('authorization', tvAuth()).type('form').send({ grant_type: ANONYMOUS_DEVICE_GRANT, mac: 'a4b1c2d3e4f5', device_secret: deviceSecret });
  expect(again.body.anonymous_subject).toBe(anonymousSubject);
  expect(again.body.device_secret).toBeUndefined();
  const impostor = await request(server.url).post('/token').set('authorization', tvAuth()).type('form').send({ grant_type: ANONYMOUS_DEVICE_GRANT, mac: MAC, device_room: '别人家' });
  expect(impostor.status).toBe(400);
  expect(impostor.body.error).toBe('invalid_grant');

  // 2. Someone wants to sign in: a code and a QR code of verification_uri_complete.
  const first = await deviceAuthorization();
  expect(first.verification_uri_complete).toBe(`${server.url}/device?user_code=${first.user_code}`);
  const svg = await fetch(`${server.url}/device/qr.svg?user_code=${first.user_code}`);
  expect(svg.status).toBe(200);
  expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
  // The same drawing the QR library makes of verification_uri_complete: that URL is what it encodes.
  expect(await svg.text()).toBe(await QRCode.toString(first.verification_uri_complete, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }));
  const png = await fetch(`${server.url}/device/qr.png?user_code=${first.user_code}`);
  expect(png.headers.get('content-type')).toBe('image/png');
  expect(Buffer.from(await png.arrayBuffer()).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const tvPage = await request(server.url).get(`/device/tv?user_code=${first.user_code}`);
  expect(tvPage.text).toContain(first.user_code);
  expect(tvPage.text).toContain(`/device/qr.svg?user_code=${first.user_code}`);

  // 3. The owner scans, signs in with an SMS code (registering on the spot), approves.
  const owner = await signInOnPhone(first.user_code, '13800138700');
  const tokens = await pollForTokens(first.device_code);
  const { payload } = await jwtVerify(tokens.id_token, createRemoteJWKSet(new URL(`${server.url}/jwks`)), { issuer: server.url, audience: tv.clientId });
  const [ownerId] = await server.database.db('identifiers').where({ value: '+8613800138700' }).pluck('account_id');
  expect(payload.sub).toBe(ownerId); // the account's sub, never the device's anonymous subject
  expect(payload.sub).not.toBe(anonymousSubject);

  // 4. Bound, with its anonymous subject now recorded as the owner's; visible in the account center.
  expect((await server.chucs.devices.bindings('a4b1c2d3e4f5')).map((b) => b.accountId)).toEqual([ownerId]);
  const device = (await server.chucs.devices.find('a4b1c2d3e4f5'))!;
  expect(device).toMatchObject({ type: 'tv', model: 'CHiQ Q10', room: '客厅', serial: 'SN-0001', anonymous_subject: anonymousSubject, anonymous_account_id: ownerId });
  expect(await server.database.db('audit_log').where({ subject: ownerId, action: 'device.anonymous_claimed' }).pluck('detail')).toEqual([{ device: device.id, anonymous_subject: anonymousSubject }]);
  const ownerDevices = await follow(owner, server.url, '/account/devices');
  expect(ownerDevices.res.text).toContain('CHiQ Q10');

  // 5. A second member of the family signs in on the same TV: bound to both, merged with nobody.
  const second = await deviceAuthorization();
  const member = await signInOnPhone(second.user_code, '13800138701');
  await pollForTokens(second.device_code);
  const [memberId] = await server.database.db('identifiers').where({ value: '+8613800138701' }).pluck('account_id');
  expect((await server.chucs.devices.bindings('a4b1c2d3e4f5')).map((b) => b.accountId).sort()).toEqual([ownerId, memberId].sort());
  expect(memberId).not.toBe(ownerId);
  expect((await server.chucs.devices.find('a4b1c2d3e4f5'))!.anonymous_account_id).toBe(ownerId); // claimed once, by the first

  // 6. The member unbinds it in the account center; the owner keeps it.
  const memberDevices = await follow(member, server.url, '/account/devices');
  expect((await submit(member, memberDevices.res, `/account/devices/${device.id}/unbind`)).headers.location).toBe('/account/devices?done=unbound');
  expect((await server.chucs.devices.bindings('a4b1c2d3e4f5')).map((b) => b.accountId)).toEqual([ownerId]);

  // 7. Sold: unbound from everyone, and the TV no longer acts for its old owner; the next
  // owner's TV starts with a new anonymous subject.
  expect(tokens.refresh_token).toBeTruthy();
  expect(await server.chucs.devices.reportResold('a4b1c2d3e4f5', { actor: 'cli:test' })).toEqual({ unbound: 1 });
  expect(await server.chucs.devices.bindings('a4b1c2d3e4f5')).toEqual([]);
  const stale = await request(server.url).post('/token').set('authorization', tvAuth()).type('form').send({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  expect(stale.body.error).toBe('invalid_grant');
  expect((await request(server.url).get('/me').set('authorization', `Bearer ${tokens.access_token}`)).status).toBe(401);
  const reborn = await request(server.url).post('/token').set('authorization', tvAuth()).type('form').send({ grant_type: ANONYMOUS_DEVICE_GRANT, mac: MAC });
  expect(reborn.body.anonymous_subject).not.toBe(anonymousSubject);
}, 90_000); // two device flows and SMS sign-ins: seconds each on a loaded machine

test("a request naming someone else's registered TV cannot bind it, claim it or relabel it", async () => {
  const victimMac = '10:2a:b3:c4:d5:e6';
  const registered = await request(server.url).post('/token').set('authorization', tvAuth()).type('form').send({ grant_type: ANONYMOUS_DEVICE_GRANT, mac: victimMac, device_room: '卧室' });
  expect(registered.body.device_secret).toBeTruthy();
  const forged = await request(server.url).post('/device/auth').set('authorization', tvAuth()).type('form')
    .send({ scope: 'openid', mac: victimMac, device_room: '已验证的设备' });
  expect(forged.status).toBe(200); // the request itself is ordinary; the person approving it is stopped
  const page = await enterDeviceCode(browser(server.url), server.url, forged.body.user_code);
  expect(page.status).toBe(400);
  expect(page.text).toContain('这台设备无法证明自己的身份');
  const device = (await server.chucs.devices.find('102ab3c4d5e6'))!;
  expect(device.room).toBe('卧室');
  expect(await server.chucs.devices.bindings('102ab3c4d5e6')).toEqual([]);
});

test('placeholder and multicast MACs are not a device', async () => {
  for (const mac of ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '02:00:00:00:00:00', '01:00:5e:00:00:01']) {
    const res = await request(server.url).post('/token').set('authorization', tvAuth()).type('form').send({ grant_type: ANONYMOUS_DEVICE_GRANT, mac });
    expect([mac, res.status, res.body.error]).toEqual([mac, 400, 'invalid_request']);
  }
});

test('a device request with a malformed MAC is refused, not stored', async () => {
  const bad = await request(server.url).post('/device/auth').set('authorization', tvAuth()).type('form').send({ scope: 'openid', mac: 'not-a-mac' });
  expect(bad.status).toBe(400);
  expect(bad.body.error).toBe('invalid_request');
  const anon = await request(server.url).post('/token').set('authorization', tvAuth()).type('form').send({ grant_type: ANONYMOUS_DEVICE_GRANT });
  expect(anon.status).toBe(400);
  expect(anon.body).toMatchObject({ error: 'invalid_request', error_description: 'mac is required' });
});

test('the anonymous-device grant needs a client registered for it', async () => {
  const other = await server.addClient({ name: '订单系统', grantTypes: ['client_credentials'], redirectUris: [] });
  const res = await request(server.url).post('/token').set('authorization', basic(other.clientId, other.clientSecret!)).type('form').send({ grant_type: ANONYMOUS_DEVICE_GRANT, mac: MAC });
  expect(res.status).toBe(400);
  // oidc-provider answers a grant type the client is not registered for with invalid_request.
  expect(res.body).toMatchObject({ error: 'invalid_request', error_description: 'requested grant type is not allowed for this client' });
});

test('the QR endpoints take only device-flow user codes', async () => {
  for (const code of ['', 'https://evil.example', '1234', '1234-56789']) {
    expect((await request(server.url).get(`/device/qr.svg?user_code=${encodeURIComponent(code)}`)).status).toBe(400);
  }
});
