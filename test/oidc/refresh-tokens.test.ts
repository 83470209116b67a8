import request from 'supertest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, pkce, authorizeUrl, runFlow, type Person } from '../support/browser.ts';
import { basic, tokenRequest } from '../support/tokens.ts';

/**
 * Refresh tokens: issued only for `offline_access` asked with `prompt=consent`, rotated on
 * every use, and a used one presented again is taken as stolen: the whole grant goes.
 */
type Client = { clientId: string; clientSecret?: string };

let server: TestServer;
let mall: Client; // first-party, confidential
let mobile: Client; // public, PKCE
const person: Person = { identifier: 'refresh@example.com', password: 'correct horse battery staple' };
let accountId: string;

beforeAll(async () => {
  server = await startTestServer();
  mall = await server.addClient({ name: '长虹商城', firstParty: true, grantTypes: ['authorization_code', 'refresh_token'] });
  mobile = await server.addClient({ name: '长虹手机应用', public: true, native: true, redirectUris: ['http://127.0.0.1:9/cb'] });
  accountId = await server.addUser({ email: 'refresh@example.com' });
});
afterAll(() => server.close());

interface Tokens { access_token: string; refresh_token?: string; id_token?: string }

/** Signs the person in to `client` and exchanges the code. */
async function signIn(client: Client, extra: Record<string, string> = { scope: 'openid offline_access', prompt: 'consent' }): Promise<Tokens> {
  const { verifier, challenge } = pkce();
  const { scope, ...rest } = extra;
  const { redirect } = await runFlow(browser(server.url), server.url, authorizeUrl({ clientId: client.clientId, scope, challenge, extra: rest }), person);
  const res = await tokenRequest(server.url, client, {
    grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: verifier,
  });
  expect(res.status).toBe(200);
  return res.body as Tokens;
}

function refresh(client: Client, refreshToken: string) {
  return tokenRequest(server.url, client, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

async function userinfoStatus(accessToken: string): Promise<number> {
  return (await request(server.url).get('/me').set('authorization', `Bearer ${accessToken}`)).status;
}

async function introspect(client: Client, token: string): Promise<{ active: boolean; sub?: string }> {
  const req = request(server.url).post('/token/introspection').type('form');
  const res = client.clientSecret
    ? await req.set('authorization', basic(client.clientId, client.clientSecret)).send({ token })
    : await req.send({ token, client_id: client.clientId });
  expect(res.status).toBe(200);
  return res.body;
}

describe.each([
  ['a first-party confidential client', () => mall],
  ['a public client with PKCE', () => mobile],
])('%s', (_name, clientOf) => {
  test('gets a refresh token for offline_access with prompt=consent, and the refreshed access token works', async () => {
    const client = clientOf();
    const tokens = await signIn(client);
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const refreshed = await refresh(client, tokens.refresh_token!);
    expect(refreshed.status).toBe(200);
    expect(await userinfoStatus(refreshed.body.access_token)).toBe(200);
    expect(await introspect(client, refreshed.body.refresh_token)).toMatchObject({ active: true, sub: accountId });
  });

  test('gets no refresh token without offline_access, nor without prompt=consent', async () => {
    const client = clientOf();
    expect((await signIn(client, { scope: 'openid', prompt: 'consent' })).refresh_token).toBeUndefined();
    expect((await signIn(client, { scope: 'openid offline_access' })).refresh_token).toBeUndefined();
  });

  test('each refresh returns a new refresh token and the replaced one stops working', async () => {
    const client = clientOf();
    const first = (await signIn(client)).refresh_token!;
    const second = await refresh(client, first);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).toEqual(expect.any(String));
    expect(second.body.refresh_token).not.toBe(first);

    const third = await refresh(client, second.body.refresh_token);
    expect(third.status).toBe(200);
    expect(third.body.refresh_token).not.toBe(second.body.refresh_token);

    const replay = await refresh(client, first);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
  });

  test('presenting a used refresh token again revokes the whole grant', async () => {
    const client = clientOf();
    const used = (await signIn(client)).refresh_token!;
    const newest = (await refresh(client, used)).body as Tokens;
    expect(await userinfoStatus(newest.access_token)).toBe(200);
    expect((await introspect(client, newest.refresh_token!)).active).toBe(true);

    const reuse = await refresh(client, used);
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');

    expect(await userinfoStatus(newest.access_token)).toBe(401);
    expect((await introspect(client, newest.access_token)).active).toBe(false);
    expect((await introspect(client, newest.refresh_token!)).active).toBe(false);
    const afterReuse = await refresh(client, newest.refresh_token!);
    expect(afterReuse.status).toBe(400);
    expect(afterReuse.body.error).toBe('invalid_grant');
  });
});

test('a refresh token works only for the client it was issued to', async () => {
  const tokens = await signIn(mall);
  const stolen = await refresh(mobile, tokens.refresh_token!);
  expect(stolen.status).toBe(400);
  expect(stolen.body.error).toBe('invalid_grant');
  expect((await refresh(mall, tokens.refresh_token!)).status).toBe(200);
});
