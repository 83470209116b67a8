import request from 'supertest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { basic, tokenRequest } from '../support/tokens.ts';

/**
 * Machine-to-machine access (a backend calling another backend): a confidential client with
 * the client_credentials grant, its token introspected and revoked by the same client.
 */
type Client = { clientId: string; clientSecret?: string };

let server: TestServer;
let backend: Client;
let webApp: Client;

beforeAll(async () => {
  server = await startTestServer();
  backend = await server.addClient({ name: '会员积分服务', grantTypes: ['client_credentials'] });
  webApp = await server.addClient({ name: '长虹商城' }); // authorization_code + refresh_token only
});
afterAll(() => server.close());

function clientCredentials(client: Client) {
  return tokenRequest(server.url, client, { grant_type: 'client_credentials' });
}

function asClient(path: string, client: Client, body: Record<string, string>) {
  return request(server.url).post(path).type('form').set('authorization', basic(client.clientId, client.clientSecret!)).send(body);
}

test('a confidential client with the grant gets a bearer access token, with no id_token or refresh token', async () => {
  const res = await clientCredentials(backend);
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer', expires_in: expect.any(Number) });
  expect(res.body.id_token).toBeUndefined();
  expect(res.body.refresh_token).toBeUndefined();
});

test('a wrong secret is refused with 401 invalid_client', async () => {
  const res = await clientCredentials({ clientId: backend.clientId, clientSecret: 'not-the-secret' });
  expect(res.status).toBe(401);
  expect(res.body.error).toBe('invalid_client');
  expect(res.body.access_token).toBeUndefined();
});

// RFC 6749 §5.2 names this unauthorized_client; oidc-provider 9 answers invalid_request and
// never emits unauthorized_client. Kept as it is (protocol errors are oidc-provider's), but
// pinned here so a change either way is noticed.
test('a client registered without the grant is refused: invalid_request, grant type not allowed', async () => {
  const res = await clientCredentials(webApp);
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ error: 'invalid_request', error_description: 'requested grant type is not allowed for this client' });
});

test('the token is no person\'s: userinfo refuses it', async () => {
  const { access_token: token } = (await clientCredentials(backend)).body as { access_token: string };
  const res = await request(server.url).get('/me').set('authorization', `Bearer ${token}`);
  expect(res.status).toBe(401);
});

test('introspection reports the token active for its client until the client revokes it', async () => {
  const { access_token: token } = (await clientCredentials(backend)).body as { access_token: string };

  const live = await asClient('/token/introspection', backend, { token });
  expect(live.status).toBe(200);
  expect(live.body).toMatchObject({ active: true, client_id: backend.clientId, token_type: 'Bearer' });
  expect(live.body.sub).toBeUndefined();

  const revoked = await asClient('/token/revocation', backend, { token });
  expect(revoked.status).toBe(200);

  const dead = await asClient('/token/introspection', backend, { token });
  expect(dead.status).toBe(200);
  expect(dead.body).toEqual({ active: false });
});

test("another app cannot read a token through introspection: it is told only that it is inactive", async () => {
  const { access_token: token } = (await clientCredentials(backend)).body as { access_token: string };
  const nosy = await asClient('/token/introspection', webApp, { token });
  expect(nosy.status).toBe(200);
  expect(nosy.body).toEqual({ active: false });
  expect((await asClient('/token/introspection', backend, { token })).body.active).toBe(true);
});

test("another app cannot revoke a token that is not its own", async () => {
  const { access_token: token } = (await clientCredentials(backend)).body as { access_token: string };
  const meddling = await asClient('/token/revocation', webApp, { token });
  expect(meddling.status).toBe(200); // RFC 7009: the answer says nothing about other apps' tokens
  const still = await asClient('/token/introspection', backend, { token });
  expect(still.body.active).toBe(true);
});
