import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { decodeJwt } from 'jose';
import { startTestServer, type TestServer } from '../support/server.ts';
import { browser, authorizeUrl, pkce, runFlow, type Person } from '../support/browser.ts';
import { tokenRequest } from '../support/tokens.ts';
import { importLegacyFile } from '../../src/merge/import.ts';
import { startRun, continueRun } from '../../src/merge/apply.ts';
import { findAccounts } from '../../src/merge/explain.ts';
import { SAMPLE_FILES } from './samples.ts';

/** Legacy users sign in with their old passwords, through the whole OIDC flow. */
let server: TestServer;
let mall: { clientId: string; clientSecret?: string };

beforeAll(async () => {
  server = await startTestServer();
  const { db, config } = server.chucs;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'chucs-legacy-'));
  const placeholders = { phone: new Set(config.merge.placeholders.phone), email: new Set(config.merge.placeholders.email) };
  for (const [source, file] of SAMPLE_FILES) await importLegacyFile({ db, source, file, rejectsFile: path.join(tmp, source.name), placeholders, actor: 'test' });
  const options = { maxRecordsPerValue: config.merge.maxRecordsPerValue, sourcePriority: config.merge.sourcePriority, batchSize: 50, actor: 'test' };
  const { runId } = await startRun(db, options);
  await continueRun(db, runId, options);
  mall = await server.addClient({ name: '长虹商城', firstParty: true, legacySource: 'mall' });
});
afterAll(() => server.close());

async function signIn(person: Person) {
  const { verifier, challenge } = pkce();
  const { redirect } = await runFlow(browser(server.url), server.url, authorizeUrl({ clientId: mall.clientId, challenge, scope: 'openid profile' }), person);
  const code = redirect.searchParams.get('code');
  if (!code) return undefined;
  const token = await tokenRequest(server.url, mall, { grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:9/cb', code_verifier: verifier });
  return token.body as { id_token: string; access_token: string };
}

async function credentialsOf(query: string) {
  const [account] = await findAccounts(server.chucs.db, query);
  return server.chucs.db('credentials').where({ account_id: account }).select('type', 'algorithm');
}

const passwords = readFileSync(path.join(path.dirname(SAMPLE_FILES[0][1]), 'passwords.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
const legacyLogin = (ref: string) => {
  const row = passwords.find(([source, id]) => `${source}:${id}` === ref)!;
  return { identifier: row[2]!, password: row[3]! };
};

test('an account built from several records accepts any of their passwords until the first sign-in, which keeps that one', async () => {
  // bbs:19, cloud:u_b68c914b and mall:100003 are one person, with three legacy passwords.
  expect((await credentialsOf('wanghongjuan1967')).map((c) => c.algorithm).sort()).toEqual(['bcrypt', 'md5_md5_salt', 'pbkdf2_sha256']);
  expect(await signIn(legacyLogin('cloud:u_b68c914b'))).toBeDefined();
  expect(await credentialsOf('wanghongjuan1967')).toEqual([{ type: 'password', algorithm: 'argon2id' }]);
  await expect(signIn(legacyLogin('mall:100003'))).rejects.toThrow(/401/);
  await expect(signIn(legacyLogin('bbs:19'))).rejects.toThrow(/401/);
});

test.each([
  ['bbs (Discuz md5(md5(p)+salt)), by forum username', 'bbs:8'],
  ['mall (bcrypt), by login name', 'mall:100014'],
  ['cloud (Django pbkdf2_sha256), by phone', 'cloud:u_f4cc894c'],
])('%s: signs in with the old password, which is then argon2id', async (_what, ref) => {
  const person = legacyLogin(ref);
  const tokens = await signIn(person);
  expect(tokens?.id_token).toBeDefined();
  const creds = await credentialsOf(decodeJwt(tokens!.id_token).sub!);
  expect(creds).toEqual([{ type: 'password', algorithm: 'argon2id' }]);
  // And again, now against the argon2id hash.
  expect((await signIn(person))?.id_token).toBeDefined();
});

test('a legacy username two people share signs in nobody', async () => {
  await expect(signIn(legacyLogin('bbs:7'))).rejects.toThrow(/401/); // xiaoming, also mall:100034's login name
});

test("an app replacing the mall receives the person's mall member ids", async () => {
  const tokens = await signIn({ identifier: '13676083931', password: 'yc1973' }); // cloud:u_f4c7cb05 + mall:100004
  expect(decodeJwt(tokens!.id_token).legacy_user_ids).toEqual(['100004']);
  const userinfo = await request(server.url).get('/me').set('authorization', `Bearer ${tokens!.access_token}`);
  expect(userinfo.body.legacy_user_ids).toEqual(['100004']);
});
