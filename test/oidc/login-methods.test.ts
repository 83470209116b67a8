import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, pkce, authorizeUrl, runFlow } from '../support/browser.ts';

/** An app that allows only some sign-in methods does not take a session signed in another way. */
let server: TestServer;

beforeAll(async () => { server = await startTestServer(); });
afterAll(() => server.close());

test('a session signed in by password must sign in again, by code, for a codes-only app', async () => {
  await server.addUser({ phone: '+8613800138950', password: 'correct horse battery staple' });
  const shop = await server.addClient({ name: '长虹商城', firstParty: true });
  const tvHelper = await server.addClient({ name: '电视助手', firstParty: true, redirectUris: ['http://127.0.0.1:9/tv'], loginMethods: ['code'] });
  const agent = browser(server.url);
  await runFlow(agent, server.url, authorizeUrl({ clientId: shop.clientId, challenge: pkce().challenge }), { identifier: '13800138950', password: 'correct horse battery staple' });

  // Same browser, same session: the codes-only app still shows its login page...
  const again = await runFlow(agent, server.url, authorizeUrl({ clientId: tvHelper.clientId, redirectUri: 'http://127.0.0.1:9/tv', challenge: pkce().challenge }),
    { target: '13800138950', readCode: () => server.lastCode('+8613800138950') });
  expect(again.pages).toEqual(['login']);
  // ...and once signed in by code, the password app is still fine with the session.
  const shopAgain = await runFlow(agent, server.url, authorizeUrl({ clientId: shop.clientId, challenge: pkce().challenge }));
  expect(shopAgain.pages).toEqual([]);
});
