import * as oidc from 'openid-client';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, runFlow } from '../support/browser.ts';
import { approveDevice } from '../support/device.ts';
import { follow } from '../support/account-center.ts';
import { cliEnvironment, removeCliEnvironment, runCli } from '../support/cli.ts';
import { startServerProcess, type ServerProcess } from '../support/server-process.ts';

/**
 * openid-client, a certified relying party library, signs in against CHUCS the way apps
 * will: code + PKCE, refresh, client credentials and the device flow. Once against the test
 * server, once against the real thing: `node src/main.ts` (what `npm start` runs), set up
 * beforehand with the `chucs` CLI.
 */

const RP = 'http://127.0.0.1:9/cb';
const PHONE = '+8613800138000';
const person = { identifier: '138 0013 8000', password: 'correct horse battery staple' };
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** The device flow's poll interval is 5 s: one wait, one poll. */
const DEVICE_TEST_TIMEOUT_MS = 30_000;

interface Client { clientId: string; clientSecret?: string | undefined }

interface Target {
  url: string;
  accountId: string;
  /** Third-party web app: confidential, code + refresh. */
  web: Client;
  /** Single-page app: public, code with PKCE. */
  spa: Client;
  /** Back-end service: client credentials. */
  service: Client;
  /** TV app: public, device flow. */
  tv: Client;
}

function relyingParty(url: string, client: Client): Promise<oidc.Configuration> {
  const auth = client.clientSecret ? oidc.ClientSecretBasic(client.clientSecret) : oidc.None();
  return oidc.discovery(new URL(url), client.clientId, undefined, auth, { execute: [oidc.allowInsecureRequests] });
}

/** Runs the browser part of code + PKCE and returns what the app needs to redeem the code. */
async function signIn(config: oidc.Configuration, agent: ReturnType<typeof browser>, base: string, extra: Record<string, string> = {}) {
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: RP, scope: 'openid profile phone', state, nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
    ...extra,
  });
  expect(url.origin).toBe(base);
  const { redirect, pages } = await runFlow(agent, base, `${url.pathname}${url.search}`, person);
  return { redirect, pages, checks: { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true } };
}

function relyingPartyTests(target: () => Target) {
  test('the account center signs in through the provider, redeeming its code at /token over HTTP', async () => {
    const t = target();
    const { res, path } = await follow(browser(t.url), t.url, '/account', person);
    expect({ path, status: res.status }).toEqual({ path: '/account', status: 200 });
    expect(res.text).toMatch(/<h1>你好，(小测|测试用户)<\/h1>/); // the nickname, or the name when there is none
  });

  test('a web app: code + PKCE, verified id_token, userinfo, refresh with rotation and reuse detection', async () => {
    const t = target();
    const config = await relyingParty(t.url, t.web);
    const { redirect, pages, checks } = await signIn(config, browser(t.url), t.url, {
      scope: 'openid profile phone offline_access', prompt: 'consent',
    });
    expect(pages).toEqual(['login', 'consent']);

    const tokens = await oidc.authorizationCodeGrant(config, redirect, checks);
    expect(tokens.claims()).toMatchObject({ iss: t.url, aud: t.web.clientId, sub: t.accountId });
    expect(tokens.refresh_token).toBeTruthy();
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, t.accountId);
    expect(userinfo).toMatchObject({ sub: t.accountId, name: '测试用户', phone_number: PHONE, phone_number_verified: true });

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()?.sub).toBe(t.accountId);
    expect((await oidc.fetchUserInfo(config, refreshed.access_token, t.accountId)).sub).toBe(t.accountId);

    // A used refresh token presented again means it leaked: refused, and the whole grant revoked.
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  test('a public single-page app: a wrong code_verifier is refused; single sign-on on the second try', async () => {
    const t = target();
    const config = await relyingParty(t.url, t.spa);
    const agent = browser(t.url);
    const first = await signIn(config, agent, t.url);
    expect(first.pages).toEqual(['login', 'consent']);
    await expect(oidc.authorizationCodeGrant(config, first.redirect, { ...first.checks, pkceCodeVerifier: oidc.randomPKCECodeVerifier() }))
      .rejects.toMatchObject({ error: 'invalid_grant' });

    const second = await signIn(config, agent, t.url);
    expect(second.pages).toEqual([]);
    const tokens = await oidc.authorizationCodeGrant(config, second.redirect, second.checks);
    expect(tokens.claims()?.sub).toBe(t.accountId);
  });

  test('a service: client credentials, introspected, useless at userinfo, then revoked', async () => {
    const t = target();
    const config = await relyingParty(t.url, t.service);
    const { access_token: token, token_type: type } = await oidc.clientCredentialsGrant(config);
    expect(type).toBe('bearer');
    expect(await oidc.tokenIntrospection(config, token)).toMatchObject({ active: true, client_id: t.service.clientId });

    const me = await fetch(`${t.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(401); // a service's token stands for no person

    await oidc.tokenRevocation(config, token);
    expect(await oidc.tokenIntrospection(config, token)).toEqual({ active: false });
  });

  test('a TV: device flow, approved on a phone while the TV polls', async () => {
    const t = target();
    const config = await relyingParty(t.url, t.tv);
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid profile' });
    expect(started.user_code).toMatch(/^\d{4}-\d{4}$/);
    expect(started.verification_uri).toBe(`${t.url}/device`);

    const polling = oidc.pollDeviceAuthorizationGrant(config, started);
    const finalPage = await approveDevice(browser(t.url), t.url, started.user_code, person);
    expect(finalPage).toContain('登录成功，请回到设备上继续。');

    const tokens = await polling;
    expect(tokens.claims()).toMatchObject({ sub: t.accountId, aud: t.tv.clientId });
    expect((await oidc.fetchUserInfo(config, tokens.access_token, t.accountId)).name).toBe('测试用户');
  }, DEVICE_TEST_TIMEOUT_MS);
}

describe('openid-client against the test server', () => {
  let server: TestServer;
  const t = {} as Target;

  beforeAll(async () => {
    server = await startTestServer();
    Object.assign(t, {
      url: server.url,
      accountId: await server.addUser({ phone: PHONE }),
      web: await server.addClient({ name: '网页应用', redirectUris: [RP] }),
      spa: await server.addClient({ name: '单页应用', redirectUris: [RP], public: true }),
      service: await server.addClient({ name: '后台服务', grantTypes: ['client_credentials'] }),
      tv: await server.addClient({ name: '电视应用', public: true, grantTypes: [DEVICE_GRANT, 'refresh_token'] }),
    });
  });
  afterAll(() => server.close());

  relyingPartyTests(() => t);
});

describe('openid-client against `node src/main.ts`, set up with the chucs CLI', () => {
  let env: Record<string, string>;
  let proc: ServerProcess | undefined;
  const t = {} as Target;

  async function chucs(args: string[], input?: string) {
    const res = await runCli(['--json', ...args], env, input);
    if (res.code !== 0) throw new Error(`chucs ${args.join(' ')} exited ${res.code}:\n${res.stderr}`);
    return JSON.parse(res.stdout);
  }

  beforeAll(async () => {
    env = cliEnvironment(); // a fresh data folder (and, on PostgreSQL, a fresh schema)
    // The embedded database is one process's at a time: set up first, then start the server.
    const add = (name: string, ...flags: string[]) => chucs(['clients', 'add', '--name', name, ...flags]);
    const web = await add('网页应用', '--redirect-uri', RP);
    const spa = await add('单页应用', '--redirect-uri', RP, '--public');
    const service = await add('后台服务', '--grant', 'client_credentials');
    const tv = await add('电视应用', '--public', '--grant', DEVICE_GRANT, '--grant', 'refresh_token');
    const user = await chucs(['users', 'add', '--phone', person.identifier, '--name', '测试用户', '--password-stdin'], `${person.password}\n`);
    proc = await startServerProcess(env);
    Object.assign(t, { url: proc.url, accountId: user.id, web, spa, service, tv });
  }, 120_000);

  afterAll(async () => {
    await proc?.stop('SIGKILL');
    await removeCliEnvironment(env);
  });

  relyingPartyTests(() => t);

  test('SIGTERM stops it cleanly: exit 0, no errors logged, and the CLI can open its data again', async () => {
    const code = await proc!.stop('SIGTERM');
    expect({ code, output: proc!.output() }).toEqual({ code: 0, output: expect.not.stringMatching(/"level":(50|60)/) });
    const clients = await chucs(['clients', 'list']) as Array<{ clientId: string }>;
    expect(clients.map((c) => c.clientId).sort()).toEqual([...[t.web, t.spa, t.service, t.tv].map((c) => c.clientId), 'chucs-account'].sort());
  }, 60_000);
});
