import { connect } from 'node:net';
import request from 'supertest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { authorizeUrl, pkce } from '../support/browser.ts';

/**
 * "A malformed request gets a 4xx with a reason, never a 5xx": requests a fuzzer found to end
 * in a 500 (or 501, 503) somewhere inside oidc-provider, PostgreSQL or a body parser.
 */

let server: TestServer;
let app: { clientId: string };
let tv: { clientId: string };

beforeAll(async () => {
  // Behind a proxy (X-Forwarded-* read), and a short deadline for the body that never ends.
  server = await startTestServer({ config: { trustProxy: true, requestTimeoutMs: 1000 } });
  app = await server.addClient({ name: '长虹商城', firstParty: true });
  tv = await server.addClient({ name: '长虹电视', firstParty: true, public: true, grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'], redirectUris: [] });
});
afterAll(() => server.close());

test('a NUL in an authorization parameter is invalid_request at the app, not a failed insert', async () => {
  for (const extra of [{ state: '\u0000' }, { login_hint: 'a\u0000b' }, { nonce: 'n\u0000' }] as Array<Record<string, string>>) {
    const res = await request(server.url).get(authorizeUrl({ clientId: app.clientId, challenge: pkce().challenge, extra }));
    // At the app's redirect URI, as RFC 6749 says once the client and redirect URI are known.
    expect(res.status).toBe(303);
    expect(new URL(res.headers.location!).searchParams.get('error')).toBe('invalid_request');
  }
});

test('a TV naming itself with a NUL is refused; a label cut at 64 characters keeps its emoji whole', async () => {
  const ask = (fields: Record<string, string>) => request(server.url).post('/device/auth').type('form')
    .send({ client_id: tv.clientId, scope: 'openid', mac: '00e04c680901', ...fields });
  const nul = await ask({ device_room: 'living\u0000room' });
  expect([nul.status, nul.body.error]).toEqual([400, 'invalid_request']);
  expect((await ask({ device_model: `${'a'.repeat(63)}😀` })).status).toBe(200);
});

test('a form body that says gzip but is not is unreadable (400)', async () => {
  const res = await request(server.url).post('/interaction/x/login').set('content-encoding', 'gzip').type('form').send('identifier=a&password=b');
  expect(res.status).toBe(400);
  expect(res.text).toContain('请求内容无法读取');
});

test('a Host, X-Forwarded-Host or X-Forwarded-Proto no URL can be built from is a 400', async () => {
  for (const [name, value] of [['host', 'x:99999999'], ['x-forwarded-host', '[::1'], ['x-forwarded-host', 'ev il:xx'], ['x-forwarded-proto', 'ht tp']]) {
    const res = await request(server.url).get('/.well-known/openid-configuration').set(name!, value!);
    expect([name, value, res.status]).toEqual([name, value, 400]);
  }
  expect((await request(server.url).get('/.well-known/openid-configuration')).status).toBe(200);
});

test('an unknown method is 405, not 501', async () => {
  for (const path of ['/token', '/account', '/.well-known/openid-configuration']) {
    const res = await request(server.url).propfind(path);
    expect([path, res.status, res.headers.allow]).toEqual([path, 405, 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS']);
  }
});

test('/device/<anything> without a session shows a fresh code form instead of a 500', async () => {
  for (const path of ['/device/x', '/device/auth', '/device/%00']) {
    const res = await request(server.url).get(path);
    expect([path, res.status, res.headers.location]).toEqual([path, 303, `${server.url}/device`]);
    expect([path, (await request(server.url).head(path)).status]).toEqual([path, 303]);
  }
});

test('a body that never finishes arriving is a 408 that closes the connection, not a 503 outage', async () => {
  const head = await new Promise<string>((resolve, reject) => {
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write('POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\nabc');
    });
    let answer = '';
    socket.on('data', (d) => { answer += d; if (answer.includes('\r\n\r\n')) { resolve(answer.split('\r\n\r\n')[0]!); socket.destroy(); } });
    socket.on('error', reject);
  });
  expect(head.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
  expect(head).toMatch(/\r\nconnection: close(\r\n|$)/i);
});
