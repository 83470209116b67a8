import { createAdapterFactory, sweepExpired, revokeAccountTokens } from '../../src/oidc/adapter.ts';
import { createClientsService } from '../../src/clients/clients.service.ts';
import { createSecretBox } from '../../src/crypto/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { randomBytes } from 'node:crypto';

let database: TestDatabase;
let adapterFor: ReturnType<typeof createAdapterFactory>;

beforeAll(async () => {
  database = await createTestDatabase();
  const clients = createClientsService({ db: database.db, secretBox: createSecretBox(randomBytes(32).toString('base64')), validate: async () => {} });
  adapterFor = createAdapterFactory({ db: database.db, clients });
});
afterAll(() => database.drop());

test('stores, finds and destroys a model by id', async () => {
  const codes = adapterFor('AuthorizationCode');
  await codes.upsert('code-1', { grantId: 'g1', accountId: 'a1', kind: 'AuthorizationCode' }, 60);
  expect(await codes.find('code-1')).toMatchObject({ grantId: 'g1', accountId: 'a1' });
  expect(await adapterFor('AccessToken').find('code-1')).toBeUndefined(); // models do not see each other
  await codes.destroy('code-1');
  expect(await codes.find('code-1')).toBeUndefined();
});

test('a consumed code reports when it was consumed', async () => {
  const codes = adapterFor('AuthorizationCode');
  await codes.upsert('code-2', { grantId: 'g2' }, 60);
  expect((await codes.find('code-2'))?.consumed).toBeUndefined();
  await codes.consume('code-2');
  const consumed = (await codes.find('code-2'))?.consumed;
  expect(typeof consumed).toBe('number');
  expect(Math.abs((consumed as number) - Date.now() / 1000)).toBeLessThan(60);
});

test('sessions by uid, device codes by user code', async () => {
  await adapterFor('Session').upsert('s1', { uid: 'uid-1', accountId: 'a1' }, 60);
  expect(await adapterFor('Session').findByUid('uid-1')).toMatchObject({ accountId: 'a1' });
  await adapterFor('DeviceCode').upsert('d1', { userCode: '12345678', grantId: 'g3' }, 60);
  expect(await adapterFor('DeviceCode').findByUserCode('12345678')).toMatchObject({ grantId: 'g3' });
  expect(await adapterFor('DeviceCode').findByUserCode('87654321')).toBeUndefined();
});

test('an expired row is not found, and the sweeper deletes it', async () => {
  const tokens = adapterFor('AccessToken');
  await tokens.upsert('old', { grantId: 'g4' }, 60);
  await database.db('oidc_models').where({ id: 'old' }).update({ expires_at: new Date(Date.now() - 1000) });
  expect(await tokens.find('old')).toBeUndefined();
  expect(await sweepExpired(database.db)).toBeGreaterThanOrEqual(1);
  expect(await database.db('oidc_models').where({ id: 'old' }).first()).toBeUndefined();
});

test('revoking a grant removes that model\'s tokens of the grant only', async () => {
  await adapterFor('AccessToken').upsert('at-1', { grantId: 'g5' }, 60);
  await adapterFor('AccessToken').upsert('at-2', { grantId: 'g6' }, 60);
  await adapterFor('RefreshToken').upsert('rt-1', { grantId: 'g5' }, 60);
  await adapterFor('AccessToken').revokeByGrantId('g5');
  expect(await adapterFor('AccessToken').find('at-1')).toBeUndefined();
  expect(await adapterFor('AccessToken').find('at-2')).toBeDefined();
  expect(await adapterFor('RefreshToken').find('rt-1')).toBeDefined();
});

test('everything of an account can be revoked at once (for merges and lockouts)', async () => {
  await adapterFor('Session').upsert('s-acct', { uid: 'uid-acct', accountId: 'acct-9' }, 60);
  await adapterFor('RefreshToken').upsert('rt-acct', { grantId: 'g9', accountId: 'acct-9' }, 60);
  await adapterFor('RefreshToken').upsert('rt-other', { grantId: 'g10', accountId: 'acct-10' }, 60);
  expect(await revokeAccountTokens(database.db, 'acct-9')).toBe(2);
  expect(await adapterFor('RefreshToken').find('rt-other')).toBeDefined();
});

test('clients come from the clients table, read-only', async () => {
  expect(await adapterFor('Client').find('nope')).toBeUndefined();
  await expect(adapterFor('Client').upsert('x', {}, 1)).rejects.toThrow(/chucs clients/);
});
