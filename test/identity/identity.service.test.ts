import { createIdentityService } from '../../src/identity/identity.service.ts';
import { createPasswordHasher } from '../../src/identity/passwords.ts';
import { insertIdentifier } from '../../src/identity/identifiers.repo.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let database: TestDatabase;
let identity: ReturnType<typeof createIdentityService>;
const hasher = createPasswordHasher({ memoryKib: 19456, timeCost: 2, parallelism: 1 });

beforeAll(async () => {
  database = await createTestDatabase();
  identity = createIdentityService({ db: database.db, hasher });
});
afterAll(() => database.drop());

const phone = (value: string, verified = true) => ({ kind: 'phone' as const, value, verified, source: 'test' });

test('a new account has a stable id, its identifiers and an argon2id password', async () => {
  const account = await identity.createAccount({ identifiers: [phone('+8613700137000')], password: 'a long passphrase', actor: 'test' });
  expect(account.id).toMatch(/^[0-9a-f-]{36}$/);
  expect(account.identifiers).toMatchObject([{ kind: 'phone', value: '+8613700137000', verified: true, is_primary: true }]);
  expect(await identity.passwordHashOf(account.id)).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  const audit = await database.db('audit_log').where({ subject: account.id, action: 'account.created' });
  expect(audit).toHaveLength(1);
});

test('the database refuses a verified identifier on two accounts, whatever the code does', async () => {
  const first = await identity.createAccount({ identifiers: [phone('+8613700137001')], actor: 'test' });
  await expect(identity.createAccount({ identifiers: [phone('+8613700137001')], actor: 'test' }))
    .rejects.toMatchObject({ code: 'identity.identifier_in_use' });
  const other = await identity.createAccount({ identifiers: [phone('+8613700137002')], actor: 'test' });
  await expect(insertIdentifier(database.db, other.id, phone('+8613700137001'))).rejects.toMatchObject({ code: '23505' });
  // Unverified, the same number may sit on another account (typed by staff, never proven) ...
  await insertIdentifier(database.db, other.id, phone('+8613700137001', false));
  // ... but it never names an account at login: only the verified owner's does.
  expect(await identity.findLoginAccount({ kind: 'phone', value: '+8613700137001' })).toBe(first.id);
});

test('a username names an account only when exactly one account holds it', async () => {
  const a = await identity.createAccount({ identifiers: [phone('+8613700137003')], actor: 'test' });
  const b = await identity.createAccount({ identifiers: [phone('+8613700137004')], actor: 'test' });
  await insertIdentifier(database.db, a.id, { kind: 'username', value: 'xiaoming', verified: false, source: 'legacy:bbs' });
  await insertIdentifier(database.db, a.id, { kind: 'username', value: 'dagang', verified: false, source: 'legacy:bbs' });
  await insertIdentifier(database.db, b.id, { kind: 'username', value: 'xiaoming', verified: false, source: 'legacy:mall' });
  expect(await identity.findLoginAccount({ kind: 'username', value: 'xiaoming' })).toBeUndefined();
  expect(await identity.findLoginAccount({ kind: 'username', value: 'dagang' })).toBe(a.id);
});

test('weak passwords are refused before anything is written', async () => {
  await expect(identity.createAccount({ identifiers: [phone('+8613700137005')], password: 'short', actor: 'test' }))
    .rejects.toMatchObject({ code: 'identity.weak_password' });
  expect(await identity.findLoginAccount({ kind: 'phone', value: '+8613700137005' })).toBeUndefined();
});
