import request from 'supertest';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { startBackchannelListener, type BackchannelListener } from '../support/backchannel.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, pkce, authorizeUrl, runFlow, type Browser, type Person } from '../support/browser.ts';
import { tokenRequest } from '../support/tokens.ts';
import { formOn, submission } from '../support/forms.ts';

/**
 * Signing out: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) through our
 * confirm page, and back-channel logout (OpenID Connect Back-Channel Logout 1.0) telling
 * every app of the session, server to server.
 */
type Client = { clientId: string; clientSecret?: string };
const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

let server: TestServer;
let mall: Client;
let shop: Client; // has a back-channel logout endpoint
let rp: BackchannelListener;
const person: Person = { identifier: 'logout@example.com', password: 'correct horse battery staple' };
let accountId: string;


beforeAll(async () => {
  server = await startTestServer({ config: { privateNetworkHosts: ['127.0.0.1'] } });
  rp = await startBackchannelListener();
  mall = await server.addClient({
    name: '长虹商城', firstParty: true, redirectUris: ['http://127.0.0.1:9/mall'], postLogoutRedirectUris: ['http://127.0.0.1:9/mall/bye'],
  });
  shop = await server.addClient({
    name: '长虹小店', firstParty: true, redirectUris: ['http://127.0.0.1:9/shop'], backchannelLogoutUri: rp.url,
  });
  accountId = await server.addUser({ email: 'logout@example.com' });
});
afterAll(async () => {
  await server.close();
  await rp.close();
});

interface Tokens { access_token: string; id_token: string }

/** Signs in to `client` in this browser (once per browser) and returns the app's tokens. */
async function signIn(agent: Browser, client: Client, redirectUri: string, params: Record<string, string> = {}): Promise<Tokens> {
  const { verifier, challenge } = pkce();
  const { redirect } = await runFlow(agent, server.url, authorizeUrl({ clientId: client.clientId, redirectUri, challenge, extra: params }), person);
  const res = await tokenRequest(server.url, client, {
    grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, redirect_uri: redirectUri, code_verifier: verifier,
  });
  expect(res.status).toBe(200);
  return res.body as Tokens;
}

function endSessionUrl(params: Record<string, string>): string {
  return `/session/end?${new URLSearchParams(params)}`;
}

/** Presses a button on our logout page: `logout=yes` signs out of CHUCS, no name stays signed in. */
function pressOnLogoutPage(agent: Browser, html: string, press?: { name: string; value: string }) {
  const form = formOn(html, { id: 'op.logoutForm' });
  return agent.post(new URL(form.action, server.url).pathname).type('form').send(submission(form, { press }));
}

/** Where /auth with prompt=none sends this browser for `client`: a code, or an error. */
async function silentSignIn(agent: Browser, client: Client, redirectUri: string): Promise<URL> {
  const { redirect, pages } = await runFlow(agent, server.url, authorizeUrl({ clientId: client.clientId, redirectUri, extra: { prompt: 'none' } }));
  expect(pages).toEqual([]);
  return redirect;
}

describe('RP-initiated logout', () => {
  test('shows our confirm page, then ends the session and returns to the app with its state', async () => {
    const agent = browser(server.url);
    const tokens = await signIn(agent, mall, 'http://127.0.0.1:9/mall');
    expect((await silentSignIn(agent, mall, 'http://127.0.0.1:9/mall')).searchParams.get('code')).toBeTruthy();

    const page = await agent.get(endSessionUrl({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'http://127.0.0.1:9/mall/bye', state: 'st-123' }));
    expect(page.status).toBe(200);
    expect(page.text).toContain('要退出长虹ID吗？');

    const done = await pressOnLogoutPage(agent, page.text, { name: 'logout', value: 'yes' });
    expect(done.status).toBe(303);
    const back = new URL(done.headers.location!);
    expect(`${back.origin}${back.pathname}`).toBe('http://127.0.0.1:9/mall/bye');
    expect(back.searchParams.get('state')).toBe('st-123');

    const silent = await silentSignIn(agent, mall, 'http://127.0.0.1:9/mall');
    expect(silent.searchParams.get('error')).toBe('login_required');
    expect(silent.searchParams.get('code')).toBeNull();
    expect((await request(server.url).get('/me').set('authorization', `Bearer ${tokens.access_token}`)).status).toBe(401);
  });

  test('choosing to stay signed in returns to the app but keeps the session', async () => {
    const agent = browser(server.url);
    const tokens = await signIn(agent, mall, 'http://127.0.0.1:9/mall');

    const page = await agent.get(endSessionUrl({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'http://127.0.0.1:9/mall/bye' }));
    const done = await pressOnLogoutPage(agent, page.text);
    expect(done.status).toBe(303);
    expect(new URL(done.headers.location!).pathname).toBe('/mall/bye');

    expect((await silentSignIn(agent, mall, 'http://127.0.0.1:9/mall')).searchParams.get('code')).toBeTruthy();
  });

  test('an unregistered post_logout_redirect_uri stops at an error page, still signed in', async () => {
    const agent = browser(server.url);
    const tokens = await signIn(agent, mall, 'http://127.0.0.1:9/mall');

    const res = await agent.get(endSessionUrl({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'https://evil.example/bye' }));
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(res.text).not.toContain('op.logoutForm');
    expect((await silentSignIn(agent, mall, 'http://127.0.0.1:9/mall')).searchParams.get('code')).toBeTruthy();
  });
});

describe('back-channel logout', () => {
  const jwks = () => createRemoteJWKSet(new URL(`${server.url}/jwks`));

  async function verifyLogoutToken(token: string) {
    const { payload, protectedHeader } = await jwtVerify(token, jwks(), { issuer: server.url, audience: shop.clientId });
    expect(protectedHeader.typ).toBe('logout+jwt');
    expect(payload.events).toEqual({ [BACKCHANNEL_LOGOUT_EVENT]: {} });
    expect(payload.nonce).toBeUndefined(); // forbidden in a logout token: it must not pass for an ID token
    return payload;
  }

  test('signing out of CHUCS sends the app a logout token for the person and the session', async () => {
    const agent = browser(server.url);
    const tokens = await signIn(agent, shop, 'http://127.0.0.1:9/shop');
    const sid = decodeJwt(tokens.id_token).sid;
    expect(sid).toEqual(expect.any(String));
    const before = rp.tokens.length;

    const page = await agent.get(endSessionUrl({ id_token_hint: tokens.id_token }));
    expect(page.status).toBe(200);
    await pressOnLogoutPage(agent, page.text, { name: 'logout', value: 'yes' });

    const payload = await verifyLogoutToken(await rp.next());
    expect(payload.sub).toBe(accountId);
    expect(payload.sid).toBe(sid);
    expect(rp.tokens.length).toBe(before + 1);
  });

  test('signing out from another app of the same session tells this app too', async () => {
    const agent = browser(server.url);
    const shopTokens = await signIn(agent, shop, 'http://127.0.0.1:9/shop');
    const mallTokens = await signIn(agent, mall, 'http://127.0.0.1:9/mall');

    const page = await agent.get(endSessionUrl({ id_token_hint: mallTokens.id_token, post_logout_redirect_uri: 'http://127.0.0.1:9/mall/bye' }));
    await pressOnLogoutPage(agent, page.text, { name: 'logout', value: 'yes' });

    const payload = await verifyLogoutToken(await rp.next());
    expect(payload.sub).toBe(accountId);
    expect(payload.sid).toBe(decodeJwt(shopTokens.id_token).sid);
  });
});
