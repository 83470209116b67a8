import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createIdentityService, type IdentityService } from '../../src/identity/identity.service.ts';
import { createAccountSettings, type AccountSettings } from '../../src/identity/account-settings.ts';
import { createPasswordHasher } from '../../src/identity/passwords.ts';
import { createDevices, type Devices } from '../../src/devices/devices.service.ts';
import { unbindDevice } from '../../src/account/devices.ts';
import { AppError } from '../../src/errors.ts';
import { forgetEventValues } from '../../src/events/outbox.ts';

/**
 * Events are written in the transaction of the change that causes them: exactly one per
 * change, none for a change that was refused or rolled back.
 */

let database: TestDatabase;
let identity: IdentityService;
let settings: AccountSettings;
let devices: Devices;

beforeAll(async () => {
  database = await createTestDatabase();
  const hasher = createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1 });
  identity = createIdentityService({ db: database.db, hasher });
  settings = createAccountSettings({ db: database.db, hasher });
  devices = createDevices({ db: database.db, clock: () => new Date() });
});
afterAll(() => database?.drop());

const eventsOf = (accountId: string) => database.db('events').where({ account_id: accountId }).orderBy('id').select('type', 'data');
const total = async () => Number((await database.db('events').count({ n: '*' }).first())?.n);
const phone = (value: string) => ({ kind: 'phone' as const, value, verified: true, source: 'signup' });

test('account.created once per account; none when creating it fails or its transaction rolls back', async () => {
  const account = await identity.createAccount({ identifiers: [phone('+8613800138701'), { kind: 'username', value: 'laowang', verified: true, source: 'signup' }], actor: 'signup' });
  expect(await eventsOf(account.id)).toEqual([{
    type: 'account.created',
    data: { via: 'signup', identifiers: [{ kind: 'phone', value: '+8613800138701', verified: true }, { kind: 'username', verified: true }] },
  }]);

  const before = await total();
  // The same verified phone again: refused by the database, nothing written.
  await expect(identity.createAccount({ identifiers: [phone('+8613800138701')], actor: 'signup' })).rejects.toMatchObject({ code: 'identity.identifier_in_use' });
  // Created inside a caller's transaction that then fails: the event goes with it.
  await expect(database.db.transaction(async (trx) => {
    await identity.createAccount({ identifiers: [phone('+8613800138702')], actor: 'upstream:wechat' }, trx);
    throw new Error('the caller changes its mind');
  })).rejects.toThrow('the caller changes its mind');
  expect(await total()).toBe(before);

  const byOperator = await identity.createAccount({ identifiers: [phone('+8613800138702')], actor: 'cli:alice' });
  expect((await eventsOf(byOperator.id))[0]!.data.via).toBe('cli'); // the channel, not the operator's name
});

test('identifier.linked when a phone or email is proven, once; identifier.unlinked when removed; nothing for a refused removal', async () => {
  const account = await identity.createAccount({ identifiers: [phone('+8613800138703')], actor: 'signup' });
  const by = { actor: `account:${account.id}` };
  await settings.addVerifiedIdentifier(account.id, { kind: 'email', value: 'wang@example.com' }, by);
  await settings.addVerifiedIdentifier(account.id, { kind: 'email', value: 'wang@example.com' }, by); // proven again: no change
  const email = await database.db('identifiers').where({ account_id: account.id, kind: 'email' }).first();
  await settings.removeIdentifier(account.id, Number(email.id), by);
  const own = await database.db('identifiers').where({ account_id: account.id, kind: 'phone' }).first();
  await expect(settings.removeIdentifier(account.id, Number(own.id), by)).rejects.toMatchObject({ code: 'identity.last_sign_in_method' });

  expect((await eventsOf(account.id)).slice(1)).toEqual([
    { type: 'identifier.linked', data: { kind: 'email', value: 'wang@example.com', verified: true } },
    { type: 'identifier.unlinked', data: { kind: 'email', value: 'wang@example.com', verified: true } },
  ]);
});

test('device.bound per new binding, device.anonymous_claimed for the first account, device.unbound by the account and by resale', async () => {
  const [a, b] = await Promise.all(['+8613800138704', '+8613800138705'].map((p) => identity.createAccount({ identifiers: [phone(p)], actor: 'signup' })));
  const tv = { mac: '00e04c680704', type: 'tv' as const, model: '长虹 Q10' };
  const { subject } = await devices.anonymousSubject(tv, undefined, 'tv-app');
  await devices.bind(tv, true, a!.id, undefined, { actor: `account:${a!.id}` });
  await devices.bind(tv, true, a!.id, undefined, { actor: `account:${a!.id}` }); // bound already
  await devices.bind(tv, true, b!.id, undefined, { actor: `account:${b!.id}` });
  const device = (await devices.find(tv.mac))!;
  await unbindDevice(database.db, a!.id, device.id, { actor: `account:${a!.id}` });
  await expect(unbindDevice(database.db, a!.id, device.id, { actor: `account:${a!.id}` })).rejects.toBeInstanceOf(AppError);
  await devices.reportResold(tv.mac, { actor: 'cli:ops' });

  const described = { device_id: device.id, mac: tv.mac, type: 'tv', model: '长虹 Q10' };
  expect((await eventsOf(a!.id)).slice(1)).toEqual([
    { type: 'device.bound', data: { ...described, source: 'device_flow' } },
    { type: 'device.anonymous_claimed', data: { ...described, anonymous_subject: subject } },
    { type: 'device.unbound', data: { ...described, reason: 'account' } },
  ]);
  expect((await eventsOf(b!.id)).slice(1)).toEqual([
    { type: 'device.bound', data: { ...described, source: 'device_flow' } },
    { type: 'device.unbound', data: { ...described, reason: 'resold' } },
  ]);
});

test('erasing an account takes the phone and email values out of its events; the events stay', async () => {
  const account = await identity.createAccount({ identifiers: [phone('+8613800138706')], actor: 'signup' });
  await settings.addVerifiedIdentifier(account.id, { kind: 'email', value: 'erase.me@example.com' }, { actor: `account:${account.id}` });
  const other = await identity.createAccount({ identifiers: [phone('+8613800138707')], actor: 'signup' });
  await database.db.transaction((trx) => forgetEventValues(trx, [account.id]));
  expect(await eventsOf(account.id)).toEqual([
    { type: 'account.created', data: { via: 'signup', identifiers: [{ kind: 'phone', verified: true }] } },
    { type: 'identifier.linked', data: { kind: 'email', verified: true } },
  ]);
  expect(JSON.stringify(await eventsOf(other.id))).toContain('+8613800138707'); // nobody else's
});
