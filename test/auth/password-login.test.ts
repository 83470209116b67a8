import { performance } from 'node:perf_hooks';
import bcrypt from 'bcryptjs';
import { createPasswordLogin } from '../../src/auth/password-login.ts';
import { createIdentityService } from '../../src/identity/identity.service.ts';
import { createPasswordHasher, type PasswordHasher } from '../../src/identity/passwords.ts';
import { readThrottle, reserveAttempt, forgiveFailure } from '../../src/auth/throttle.repo.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

// Counts argon2id verifications: "an unknown identifier costs one verification too" is
// checked by counting them, not by timing (this machine is shared and noisy).
const argon2 = createPasswordHasher({ memoryKib: 19456, timeCost: 2, parallelism: 1 });
let verifications = 0;
const hasher: PasswordHasher = {
  hash: (plain) => argon2.hash(plain),
  verify: (stored, plain) => { verifications++; return argon2.verify(stored, plain); },
  verifyNothing: (plain) => { verifications++; return argon2.verifyNothing(plain); },
};
const rules = {
  identifier: { freeFailures: 3, baseDelaySeconds: 60, maxDelaySeconds: 600, forgetAfterSeconds: 3600 },
  ip: { freeFailures: 100, baseDelaySeconds: 60, maxDelaySeconds: 600, forgetAfterSeconds: 3600 },
};
let database: TestDatabase;
let login: ReturnType<typeof createPasswordLogin>;
let accountId: string;
const password = 'a long passphrase';

/** How many argon2id verifications one sign-in attempt costs. */
async function verificationsOf(attempt: Promise<unknown>): Promise<number> {
  const before = verifications;
  await attempt.catch(() => undefined);
  return verifications - before;
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
  expect(await verificationsOf(login({ identifier: '13600136000', password: 'wrong password', ip: '10.0.0.2' }))).toBe(1);
  expect(await verificationsOf(login({ identifier: '13999999999', password: 'wrong password', ip: '10.0.0.2' }))).toBe(1);
  expect(await verificationsOf(login({ identifier: '@@@', password: 'wrong password', ip: '10.0.0.2' }))).toBe(1);
  await database.db('throttles').delete();
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

describe('a failure takes the same time whoever the identifier belongs to', () => {
  const floorMs = 600;
  let floored: ReturnType<typeof createPasswordLogin>;

  beforeAll(async () => {
    const identity = createIdentityService({ db: database.db, hasher });
    floored = createPasswordLogin({ db: database.db, identity, hasher, rules, failureFloorMs: floorMs, clock: () => new Date() });
    // An account carried over from the forum: only a bcrypt hash, slower to check than argon2id.
    const legacy = await identity.createAccount({
      identifiers: [{ kind: 'phone', value: '+8613700137000', verified: true, source: 'test' }], actor: 'test',
    });
    await database.db('credentials').insert({
      account_id: legacy.id, type: 'legacy_password', algorithm: 'bcrypt', hash: bcrypt.hashSync('forum password', 10), source: 'bbs',
    });
  });

  async function failureMs(identifier: string): Promise<number> {
    await database.db('throttles').delete();
    const started = performance.now();
    await expect(floored({ identifier, password: 'wrong password', ip: '10.0.0.6' })).rejects.toMatchObject({ code: 'auth.invalid_credentials' });
    return performance.now() - started;
  }

  test('an unknown identifier, an argon2id account and a bcrypt legacy account all fail after the floor', async () => {
    // Lower bounds only: the machine is shared, so no upper bound on a duration is asserted.
    expect(await failureMs('13999999998')).toBeGreaterThanOrEqual(floorMs);
    expect(await failureMs('13600136000')).toBeGreaterThanOrEqual(floorMs);
    expect(await failureMs('13700137000')).toBeGreaterThanOrEqual(floorMs);
  });

  test('a success does not wait for the floor, and a legacy password still signs in', async () => {
    await database.db('throttles').delete();
    const slow = createPasswordLogin({
      db: database.db, identity: createIdentityService({ db: database.db, hasher }), hasher, rules, failureFloorMs: 60_000, clock: () => new Date(),
    });
    await expect(slow({ identifier: '13600136000', password, ip: '10.0.0.7' })).resolves.toBe(accountId);
    await expect(slow({ identifier: '13700137000', password: 'forum password', ip: '10.0.0.7' })).resolves.toEqual(expect.any(String));
  });
});

test('guesses sent all at once get no more tries than guesses sent one by one', async () => {
  await database.db('throttles').delete();
  const guesses = Array.from({ length: 12 }, (_, i) => login({ identifier: '13600136000', password: `guess ${i}`, ip: `10.0.1.${i}` }).catch((e) => e.code));
  const outcomes = await Promise.all(guesses);
  // rules.identifier allows 3 free failures: three passwords were checked, the rest refused unchecked.
  expect(outcomes.filter((c) => c === 'auth.invalid_credentials')).toHaveLength(3);
  expect(outcomes.filter((c) => c === 'auth.throttled')).toHaveLength(9);
  expect((await readThrottle(database.db, 'login:id:phone:+8613600136000'))?.failures).toBe(3);
});

test('a success is not counted against its address, nor does it restart the address\'s quiet period', async () => {
  await database.db('throttles').delete();
  await expect(login({ identifier: '13600136000', password: 'wrong', ip: '10.0.0.8' })).rejects.toBeDefined();
  const afterFailure = await readThrottle(database.db, 'login:ip:10.0.0.8');
  await new Promise((resolve) => setTimeout(resolve, 20)); // the successes come strictly later
  await login({ identifier: '13600136000', password, ip: '10.0.0.8' });
  await login({ identifier: '13600136000', password, ip: '10.0.0.8' });
  expect(await readThrottle(database.db, 'login:ip:10.0.0.8')).toEqual(afterFailure);
  // An address with no failure before keeps none.
  await login({ identifier: '13600136000', password, ip: '10.0.0.9' });
  expect(await readThrottle(database.db, 'login:ip:10.0.0.9')).toBeUndefined();
});

test('a success forgiven after someone else failed on the same address takes back only its own count', async () => {
  await database.db('throttles').delete();
  const rule = rules.ip;
  const t0 = new Date('2026-11-25T08:00:00Z');
  const mine = await reserveAttempt(database.db, [{ key: 'k', rule }], t0);
  const theirs = await reserveAttempt(database.db, [{ key: 'k', rule }], new Date(t0.getTime() + 1000));
  expect(theirs.allowed).toBe(true);
  await forgiveFailure(database.db, 'k', mine.reservation!);
  expect(await readThrottle(database.db, 'k')).toEqual({ failures: 1, lastFailureAt: new Date(t0.getTime() + 1000) });
});

test('overlapping successes leave no failure behind, and a success never wipes failures of the same millisecond', async () => {
  const rule = rules.ip;
  const t0 = new Date('2026-11-25T09:00:00Z');
  await database.db('throttles').delete();
  // Two successes whose reservations overlap.
  const a = await reserveAttempt(database.db, [{ key: 'overlap', rule }], t0);
  const b = await reserveAttempt(database.db, [{ key: 'overlap', rule }], new Date(t0.getTime() + 1000));
  await forgiveFailure(database.db, 'overlap', a.reservation!);
  await forgiveFailure(database.db, 'overlap', b.reservation!);
  expect((await readThrottle(database.db, 'overlap'))?.failures ?? 0).toBe(0);
  // A success and two wrong guesses reserved in the same millisecond: the guesses stay counted.
  const success = await reserveAttempt(database.db, [{ key: 'burst', rule }], t0);
  await reserveAttempt(database.db, [{ key: 'burst', rule }], t0);
  await reserveAttempt(database.db, [{ key: 'burst', rule }], t0);
  await forgiveFailure(database.db, 'burst', success.reservation!);
  expect((await readThrottle(database.db, 'burst'))?.failures).toBe(2);
});
