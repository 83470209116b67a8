import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import request from 'supertest';
import { startTestServer } from '../support/server.ts';
import { browser, authorizeUrl, pkce, runFlow } from '../support/browser.ts';
import { tokenRequest } from '../support/tokens.ts';
import { generateSigningKeys } from '../../src/oidc/keys.ts';
import { createTestDatabase } from '../support/database.ts';

async function signIn(url: string, client: { clientId: string; clientSecret?: string }) {
  const { verifier, challenge } = pkce();
  const { redirect } = await runFlow(browser(url), url, authorizeUrl({ clientId: client.clientId, challenge }), {
    identifier: 'rotate@example.com', password: 'correct horse battery staple',
  });
  const res = await tokenRequest(url, client, {
    grant_type: 'authorization_code', code: redirect.searchParams.get('code')!, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: verifier,
  });
  return res.body.id_token as string;
}

test('after a key rotation new tokens use the new key and tokens signed before still verify', async () => {
  const database = await createTestDatabase();
  const before = await startTestServer({ database });
  const client = await before.addClient({ firstParty: true });
  await before.addUser({ email: 'rotate@example.com' });
  const oldToken = await signIn(before.url, client);
  await before.close();

  const fresh = await generateSigningKeys();
  const { cookieKeys, encryptionKey } = before.chucs.config;
  const after = await startTestServer({ database, jwks: { keys: [...fresh, ...before.jwks.keys] }, config: { cookieKeys, encryptionKey } });
  try {
    const newToken = await signIn(after.url, client);
    expect(decodeProtectedHeader(newToken).kid).toBe(fresh.find((k) => k.alg === 'RS256')!.kid);
    expect(decodeProtectedHeader(oldToken).kid).not.toBe(decodeProtectedHeader(newToken).kid);

    const published = createLocalJWKSet((await request(after.url).get('/jwks')).body);
    await expect(jwtVerify(oldToken, published, { audience: client.clientId })).resolves.toBeDefined();
    await expect(jwtVerify(newToken, published, { audience: client.clientId })).resolves.toBeDefined();
  } finally {
    await after.close();
    await database.drop();
  }
});
