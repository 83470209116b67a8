import request from 'supertest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, pkce, authorizeUrl, runFlow } from '../support/browser.ts';
import { tokenRequest } from '../support/tokens.ts';

let server: TestServer;
let thirdParty: { clientId: string; clientSecret?: string };
let firstParty: { clientId: string; clientSecret?: string };
const person = { identifier: '138 0013 8000', password: 'correct horse battery staple' };
let accountId: string;

beforeAll(async () => {
  server = await startTestServer();
  thirdParty = await server.addClient({ name: '第三方应用' });
  firstParty = await server.addClient({ name: '长虹商城', firstParty: true, redirectUris: ['http://127.0.0.1:9/mall'] });
  accountId = await server.addUser({ phone: '+8613800138000', email: 'xiaoming@example.com' });
});
afterAll(() => server.close());

test('code + PKCE: login, consent, token, id_token verified against the JWKS, userinfo', async () => {
  const agent = browser(server.url);
  const { verifier, challenge } = pkce();
  const start = authorizeUrl({ clientId: thirdParty.clientId, scope: 'openid profile email phone', challenge });
  const { redirect, pages } = await runFlow(agent, server.url, start, person);
  expect(pages).toEqual(['login', 'consent']);
  const code = redirect.searchParams.get('code');
  expect(code).toBeTruthy();

  const token = await tokenRequest(server.url, thirdParty, {
    grant_type: 'authorization_code', code: code!, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: verifier,
  });
  expect(token.status).toBe(200);
  expect(token.body.token_type).toBe('Bearer');

  const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
  const { payload, protectedHeader } = await jwtVerify(token.body.id_token, jwks, { issuer: server.url, audience: thirdParty.clientId });
  expect(protectedHeader.alg).toBe('RS256');
  expect(payload.sub).toBe(accountId);

  const userinfo = await request(server.url).get('/me').set('authorization', `Bearer ${token.body.access_token}`);
  expect(userinfo.status).toBe(200);
  expect(userinfo.body).toMatchObject({
    sub: accountId, name: '测试用户', nickname: '小测',
    email: 'xiaoming@example.com', email_verified: true,
    phone_number: '+8613800138000', phone_number_verified: true,
  });
});

test('first-party apps skip consent, and one session signs in to a second app', async () => {
  const agent = browser(server.url);
  const first = await runFlow(agent, server.url, authorizeUrl({ clientId: firstParty.clientId, redirectUri: 'http://127.0.0.1:9/mall' }), person);
  expect(first.pages).toEqual(['login']);

  const second = await runFlow(agent, server.url, authorizeUrl({ clientId: thirdParty.clientId, challenge: pkce().challenge }));
  expect(second.pages).toEqual(['consent']);
  expect(second.redirect.searchParams.get('code')).toBeTruthy();

  const again = await runFlow(agent, server.url, authorizeUrl({ clientId: firstParty.clientId, redirectUri: 'http://127.0.0.1:9/mall' }));
  expect(again.pages).toEqual([]);
  expect(again.redirect.searchParams.get('code')).toBeTruthy();
});

test('a refused consent sends access_denied back to the app', async () => {
  const agent = browser(server.url);
  const { redirect } = await runFlow(agent, server.url, authorizeUrl({ clientId: thirdParty.clientId }), { ...person, consent: false });
  expect(redirect.searchParams.get('error')).toBe('access_denied');
});

test('the claims parameter cannot ask for more than the scopes (the consent page lists scopes)', async () => {
  const agent = browser(server.url);
  const beyond = JSON.stringify({ userinfo: { phone_number: null, email: null }, id_token: { name: null } });
  const refused = await agent.get(authorizeUrl({ clientId: thirdParty.clientId, scope: 'openid', challenge: pkce().challenge, extra: { claims: beyond } }));
  expect(refused.status).toBe(303);
  const back = new URL(refused.headers.location!);
  expect(back.searchParams.get('error')).toBe('invalid_request');
  expect(back.searchParams.get('error_description')).toMatch(/needs a scope that was not requested/);

  const within = JSON.stringify({ userinfo: { phone_number: null }, id_token: { auth_time: { essential: true }, amr: null } });
  const { redirect } = await runFlow(browser(server.url), server.url, authorizeUrl({ clientId: thirdParty.clientId, scope: 'openid phone', challenge: pkce().challenge, extra: { claims: within } }), person);
  expect(redirect.searchParams.get('code')).toBeTruthy();
});
