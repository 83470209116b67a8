import { createPasswordLogin } from '../../src/auth/password-login.ts';
import { createIdentityService } from '../../src/identity/identity.service.ts';
import { createPasswordHasher } from '../../src/identity/passwords.ts';
import { readThrottle } from '../../src/auth/throttle.repo.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

// A deliberately slow hash (t=12), so that "costs one verification" is a clear lower bound:
// a busy machine can only add time, never take it away.
const hasher = createPasswordHasher({ memoryKib: 19456, timeCost: 12, parallelism: 1 });
const rules = {
  identifier: { freeFailures: 3, baseDelaySeconds: 60, maxDelaySeconds: 600, forgetAfterSeconds: 3600 },
  ip: { freeFailures: 100, baseDelaySeconds: 60, maxDelaySeconds: 600, forgetAfterSeconds: 3600 },
};
let database: TestDatabase;
let login: ReturnType<typeof createPasswordLogin>;
let accountId: string;
const password = 'a long passphrase';

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const start = performance.now();
  await fn().catch(() => undefined);
  return performance.now() - start;
}

beforeAll(async () => {
  database = await createTestDatabase();
  const identity = createIdentityService({ db: database.db, hasher });
  login = createPasswordLogin({ db: database.db, identity, hasher, rules, clock: () => new Date() });
  accountId = (await identity.createAccount({
    identifiers: [{ kind: 'phone', value: '+8613600136000', verified: true, source: 'test' }], password, actor: 'test',
  })).id;
});
afterAll(() => database.drop());

test('the right password in any phone shape gives the account', async () => {
  await expect(login({ identifier: '136-0013-6000', password, ip: '10.0.0.1' })).resolves.toBe(accountId);
  await expect(login({ identifier: '+86 136 0013 6000', password, ip: '10.0.0.1' })).resolves.toBe(accountId);
});

test('an unknown identifier fails like a wrong password, and costs a verification too', async () => {
  const stored = await hasher.hash('something else');
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await timed(() => hasher.verify(stored, 'wrong password')));
  const floor = Math.min(...runs) * 0.7; // one verification, less a margin; noise only adds time
  const unknown = await timed(() => login({ identifier: '13999999999', password: 'wrong password', ip: '10.0.0.2' }));
  const malformed = await timed(() => login({ identifier: '@@@', password: 'wrong password', ip: '10.0.0.2' }));
  expect(unknown).toBeGreaterThan(floor);
  expect(malformed).toBeGreaterThan(floor);
  await expect(login({ identifier: '13999999999', password: 'x', ip: '10.0.0.2' })).rejects.toMatchObject({ code: 'auth.invalid_credentials' });
  await expect(login({ identifier: '13600136000', password: 'x', ip: '10.0.0.2' })).rejects.toMatchObject({ code: 'auth.invalid_credentials' });
});

test('failures are counted per identifier; past the free ones even the right password waits', async () => {
  const id = { identifier: '13600136000', ip: '10.0.0.3' };
  await database.db('throttles').delete();
  for (let i = 0; i < 3; i++) await expect(login({ ...id, password: 'wrong' })).rejects.toMatchObject({ code: 'auth.invalid_credentials' });
  await expect(login({ ...id, password })).rejects.toMatchObject({ code: 'auth.throttled', retryAfter: 60 });
  expect((await readThrottle(database.db, 'login:id:phone:+8613600136000'))?.failures).toBe(3);
  const audit = await database.db('audit_log').where({ subject: accountId, action: 'login.failed' });
  expect(audit.length).toBeGreaterThanOrEqual(3);
});

test('a success clears the identifier\'s failures', async () => {
  await database.db('throttles').delete();
  await expect(login({ identifier: '13600136000', password: 'wrong', ip: '10.0.0.4' })).rejects.toBeDefined();
  await login({ identifier: '13600136000', password, ip: '10.0.0.4' });
  expect(await readThrottle(database.db, 'login:id:phone:+8613600136000')).toBeUndefined();
  expect(await readThrottle(database.db, 'login:ip:10.0.0.4')).toBeDefined(); // an address is not cleared by its own success
});

test('a locked account cannot sign in, even with its password', async () => {
  await database.db('throttles').delete();
  await database.db('accounts').where({ id: accountId }).update({ status: 'locked' });
  await expect(login({ identifier: '13600136000', password, ip: '10.0.0.5' })).rejects.toMatchObject({ code: 'auth.account_locked' });
  await database.db('accounts').where({ id: accountId }).update({ status: 'active' });
});
