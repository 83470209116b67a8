import request from 'supertest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, pkce, authorizeUrl, runFlow, type Person } from '../support/browser.ts';
import { basic, tokenRequest } from '../support/tokens.ts';

/**
 * An authorization code is good once, with its own PKCE verifier, for its own client. A
 * second exchange means the code leaked: what the first exchange issued is revoked too.
 */
type Client = { clientId: string; clientSecret?: string };
const REDIRECT_URI = 'http://127.0.0.1:9/cb';

let server: TestServer;
let app: Client;
let other: Client;
const person: Person = { identifier: 'replay@example.com', password: 'correct horse battery staple' };

beforeAll(async () => {
  server = await startTestServer();
  app = await server.addClient({ name: '长虹商城', firstParty: true });
  other = await server.addClient({ name: '另一个应用', firstParty: true });
  await server.addUser({ email: 'replay@example.com' });
});
afterAll(() => server.close());

/** Signs the person in and returns the code the app received, with its PKCE verifier. */
async function codeFor(client: Client, scope = 'openid'): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkce();
  const extra: Record<string, string> = scope.includes('offline_access') ? { prompt: 'consent' } : {};
  const { redirect } = await runFlow(browser(server.url), server.url, authorizeUrl({ clientId: client.clientId, scope, challenge, extra }), person);
  return { code: redirect.searchParams.get('code')!, verifier };
}

function exchange(client: Client, code: string, verifier: string) {
  return tokenRequest(server.url, client, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
}

async function introspect(client: Client, token: string): Promise<{ active: boolean }> {
  const res = await request(server.url).post('/token/introspection').type('form')
    .set('authorization', basic(client.clientId, client.clientSecret!)).send({ token });
  expect(res.status).toBe(200);
  return res.body;
}

test('a code exchanged twice fails the second time and revokes what the first exchange issued', async () => {
  const { code, verifier } = await codeFor(app, 'openid offline_access');
  const first = await exchange(app, code, verifier);
  expect(first.status).toBe(200);
  const { access_token: accessToken, refresh_token: refreshToken } = first.body as { access_token: string; refresh_token: string };
  expect(refreshToken).toEqual(expect.any(String));
  expect((await request(server.url).get('/me').set('authorization', `Bearer ${accessToken}`)).status).toBe(200);

  const second = await exchange(app, code, verifier);
  expect(second.status).toBe(400);
  expect(second.body.error).toBe('invalid_grant');
  expect(second.body.access_token).toBeUndefined();

  expect((await request(server.url).get('/me').set('authorization', `Bearer ${accessToken}`)).status).toBe(401);
  expect((await introspect(app, accessToken)).active).toBe(false);
  const refreshed = await tokenRequest(server.url, app, { grant_type: 'refresh_token', refresh_token: refreshToken });
  expect(refreshed.status).toBe(400);
  expect(refreshed.body.error).toBe('invalid_grant');
});

// The failed attempts below do not use the code up: whoever intercepted it cannot also
// stop the app that holds the verifier from signing the person in.
test('a wrong code_verifier gets no tokens; the right one still does', async () => {
  const { code, verifier } = await codeFor(app);
  const res = await exchange(app, code, pkce().verifier);
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('invalid_grant');
  expect(res.body.access_token).toBeUndefined();
  expect((await exchange(app, code, verifier)).status).toBe(200);
});

test('a code presented by another client gets no tokens; its own client still does', async () => {
  const { code, verifier } = await codeFor(app);
  const res = await exchange(other, code, verifier);
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('invalid_grant');
  expect(res.body.access_token).toBeUndefined();
  expect((await exchange(app, code, verifier)).status).toBe(200);
});

test('a code sent back with another redirect_uri gets no tokens', async () => {
  const { code, verifier } = await codeFor(app);
  const res = await tokenRequest(server.url, app, { grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:9/elsewhere', code_verifier: verifier });
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('invalid_grant');
  expect(res.body.access_token).toBeUndefined();
});
