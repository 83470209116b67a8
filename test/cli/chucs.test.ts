import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, cliEnvironment } from '../support/cli.ts';
import { openDatabase } from '../../src/db/database.ts';

/** The CLI's database, opened as a second process would once the CLI has exited. */
function cliDatabase(env: Record<string, string>) {
  return openDatabase(env.DATABASE_URL
    ? { url: env.DATABASE_URL, schema: env.CHUCS_DB_SCHEMA }
    : { dataDir: path.join(env.CHUCS_DATA_DIR!, 'pgdata') });
}

/** Reads what the CLI stored. */
async function storedClient(env: Record<string, string>, clientId: string) {
  const db = await cliDatabase(env);
  try {
    return await db('clients').where({ client_id: clientId }).first();
  } finally {
    await db.destroy();
  }
}

const env = cliEnvironment();

// Each test starts several CLI processes, each opening the database (and the first one
// migrating it): seconds apiece on a loaded machine.
jest.setTimeout(180_000);

test('clients add prints the secret once and stores it encrypted', async () => {
  const added = await runCli(['--json', 'clients', 'add', '--name', '长虹商城', '--redirect-uri', 'https://mall.example.com/cb', '--first-party'], env);
  expect(added.stderr).toBe('');
  expect(added.code).toBe(0);
  const client = JSON.parse(added.stdout);
  expect(client).toMatchObject({ name: '长虹商城', firstParty: true, public: false, grantTypes: ['authorization_code', 'refresh_token'] });
  expect(client.clientSecret).toMatch(/^[\w-]{43}$/);
  // An id the operator can pass back as an argument: never starting with "-".
  expect(client.clientId).toMatch(/^[0-9a-f]{24}$/);

  const row = await storedClient(env, client.clientId);
  expect(row.secret_enc).toMatch(/^v1\./);
  expect(JSON.stringify(row)).not.toContain(client.clientSecret);

  const shown = await runCli(['clients', 'show', client.clientId], env);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toContain('长虹商城');
  expect(shown.stdout).not.toContain(client.clientSecret);

  const listed = await runCli(['--json', 'clients', 'list'], env);
  expect(JSON.parse(listed.stdout).map((c: { clientId: string }) => c.clientId)).toContain(client.clientId);
  expect(listed.stdout).not.toContain(client.clientSecret);

  const removed = await runCli(['clients', 'remove', client.clientId], env);
  expect(removed.code).toBe(0);
  const gone = await runCli(['clients', 'show', client.clientId], env);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toContain('clients.not_found');
});

test('a public client has no secret; bad settings are refused with the reason', async () => {
  const pub = await runCli(['--json', 'clients', 'add', '--name', 'TV', '--public', '--grant', 'urn:ietf:params:oauth:grant-type:device_code'], env);
  expect(pub.code).toBe(0);
  expect(JSON.parse(pub.stdout).clientSecret).toBeUndefined();

  const bad = await runCli(['clients', 'add', '--name', 'x', '--redirect-uri', 'not a url'], env);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/redirectUris\.0: must be an absolute URL/);

  const noRedirect = await runCli(['clients', 'add', '--name', 'x'], env);
  expect(noRedirect.code).toBe(1);
  expect(noRedirect.stderr).toMatch(/needs at least one redirect URI/);
});

test('users add takes a phone in any shape, the password from stdin, and refuses duplicates', async () => {
  const added = await runCli(['--json', 'users', 'add', '--phone', '139-0013-9000', '--password-stdin'], env, 'a long enough passphrase\n');
  expect(added.code).toBe(0);
  expect(JSON.parse(added.stdout)).toMatchObject({ identifiers: [{ kind: 'phone', value: '+8613900139000', verified: true }], password: true });

  const again = await runCli(['users', 'add', '--phone', '+86 139 0013 9000'], env);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('identity.identifier_in_use');

  const weak = await runCli(['users', 'add', '--email', 'weak@example.com', '--password-stdin'], env, 'short\n');
  expect(weak.code).toBe(1);
  expect(weak.stderr).toContain('identity.weak_password');

  const badPhone = await runCli(['users', 'add', '--phone', '12345'], env);
  expect(badPhone.code).toBe(2);
  expect(badPhone.stderr).toContain('not a valid phone');
});

test('keys rotate adds new signing keys in front, keeps two older generations, retires the rest', async () => {
  const rotate = async () => JSON.parse((await runCli(['--json', 'keys', 'rotate'], env)).stdout);
  const first = await rotate();
  const second = await rotate();
  expect(second.keys.slice(0, 4).map((k: { kid: string }) => k.kid)).toEqual([...second.added, ...first.added]);
  const third = await rotate();
  expect(third.keys).toHaveLength(6);
  expect(third.retired).toHaveLength(second.keys.length + 2 - 6);
  const file = JSON.parse(readFileSync(path.join(env.CHUCS_DATA_DIR!, 'jwks.json'), 'utf8'));
  expect(file.keys.map((k: { kid: string }) => k.kid)).toEqual([...third.added, ...second.added, ...first.added]);
  expect(file.keys.every((k: { d?: string }) => typeof k.d === 'string')).toBe(true);
});

test('migrate is idempotent; usage errors exit 2', async () => {
  const migrated = await runCli(['migrate'], env);
  expect(migrated.code).toBe(0);
  expect(migrated.stdout).toMatch(/up to date|applied/);
  expect((await runCli(['no-such-command'], env)).code).toBe(2);
});

test('codes status shows the hourly count and an open breaker; close-breaker closes it', async () => {
  await runCli(['migrate'], env);
  const db = await cliDatabase(env);
  try {
    const now = new Date();
    await db('one_time_codes').insert({ purpose: 'login', channel: 'sms', target: '+8613800138000', binding: 'x', code_hash: 'h', created_at: now, expires_at: new Date(now.getTime() + 300_000) });
    await db('circuit_breakers').insert({ name: 'codes:sms', opened_at: now, open_until: new Date(now.getTime() + 900_000), reason: 'hourly cap of 2000 reached' });
  } finally {
    await db.destroy();
  }
  const status = await runCli(['--json', 'codes', 'status'], env);
  expect(status.code).toBe(0);
  const channels = JSON.parse(status.stdout).channels;
  expect(channels).toMatchObject([
    { channel: 'sms', sentLastHour: 1, hourlyCap: 2000, breaker: { reason: 'hourly cap of 2000 reached' } },
    { channel: 'email', sentLastHour: 0, breaker: null },
  ]);
  const closed = await runCli(['codes', 'close-breaker', 'sms'], env);
  expect(closed).toMatchObject({ code: 0, stdout: expect.stringContaining('codes are sent again') });
  expect(JSON.parse((await runCli(['--json', 'codes', 'status'], env)).stdout).channels[0].breaker).toBeNull();
  expect((await runCli(['codes', 'close-breaker', 'fax'], env)).code).toBe(2);
});

test('brands add, show, update, list; an app joins a brand with its own sign-in methods; a brand in use is not removed', async () => {
  const added = await runCli(['--json', 'brands', 'add', '--id', 'meiling', '--name-zh', '美菱', '--name-en', 'MeiLing',
    '--primary-color', '#0067B1', '--logo-url', 'https://meiling.example/logo.svg', '--terms-url', 'https://meiling.example/terms', '--region', 'cn'], env);
  expect(added.stderr).toBe('');
  expect(added.code).toBe(0);
  expect(JSON.parse(added.stdout)).toMatchObject({ id: 'meiling', name: { zh: '美菱', en: 'MeiLing' }, colors: { primary: '#0067b1' }, defaultLocale: 'zh-CN' });

  const bad = await runCli(['brands', 'add', '--id', 'chiq', '--name-zh', 'CHiQ', '--primary-color', 'blue'], env);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/brands\.invalid: colors\.primary: a colour like #e60012/);

  const updated = await runCli(['--json', 'brands', 'update', 'meiling', '--default-locale', 'en', '--logo-url', ''], env);
  expect(updated.code).toBe(0);
  expect(JSON.parse(updated.stdout)).toMatchObject({ defaultLocale: 'en', logoUrl: null, colors: { primary: '#0067b1' }, legal: { termsUrl: 'https://meiling.example/terms' } });
  expect((await runCli(['brands', 'update', 'meiling'], env)).code).toBe(2);

  const shown = await runCli(['brands', 'show', 'meiling'], env);
  expect(shown.stdout).toMatch(/name:\s+美菱 \/ MeiLing/);
  expect(shown.stdout).toMatch(/default language:\s+en/);
  const listed = await runCli(['--json', 'brands', 'list'], env);
  expect(JSON.parse(listed.stdout).map((b: { id: string }) => b.id)).toEqual(['changhong', 'meiling']);

  const tv = await runCli(['--json', 'clients', 'add', '--name', '美菱电视', '--public', '--brand', 'meiling', '--redirect-uri', 'https://tv.example/cb', '--login-method', 'code'], env);
  expect(tv.code).toBe(0);
  const client = JSON.parse(tv.stdout);
  expect(client).toMatchObject({ brand: 'meiling', loginMethods: ['code'] });
  expect((await storedClient(env, client.clientId)).metadata.chucs_login_methods).toEqual(['code']);
  expect((await runCli(['clients', 'show', client.clientId], env)).stdout).toMatch(/sign-in methods:\s+code\n/);
  expect((await runCli(['clients', 'add', '--name', 'x', '--redirect-uri', 'https://x.example/cb', '--login-method', 'fax'], env)).code).toBe(2);
  const unknownBrand = await runCli(['clients', 'add', '--name', 'x', '--redirect-uri', 'https://x.example/cb', '--brand', 'nope'], env);
  expect(unknownBrand.code).toBe(1);
  expect(unknownBrand.stderr).toContain('brands.not_found');

  const inUse = await runCli(['brands', 'remove', 'meiling'], env);
  expect(inUse.code).toBe(3);
  expect(inUse.stderr).toContain('brands.in_use');
  expect((await runCli(['brands', 'remove', 'changhong'], env)).code).toBe(3);
  await runCli(['clients', 'remove', client.clientId], env);
  expect((await runCli(['brands', 'remove', 'meiling'], env)).code).toBe(0);
  expect((await runCli(['brands', 'show', 'meiling'], env)).stderr).toContain('brands.not_found');
});

test('devices show lists who a TV is bound to; devices resold unbinds it from everyone, after confirmation', async () => {
  await runCli(['migrate'], env);
  const db = await cliDatabase(env);
  try {
    await db('accounts').insert([{ id: 'cli-device-a' }, { id: 'cli-device-b' }]);
    const [device] = await db('devices').insert({ mac: '00e04c6800aa', type: 'tv', model: '长虹 D8' }).returning('id');
    await db('device_bindings').insert([{ device_id: device.id, account_id: 'cli-device-a', source: 'test' }, { device_id: device.id, account_id: 'cli-device-b', source: 'test' }]);
  } finally {
    await db.destroy();
  }
  const shown = await runCli(['--json', 'devices', 'show', '00:E0:4C:68:00:AA'], env);
  expect(shown.code).toBe(0);
  expect(JSON.parse(shown.stdout).bindings.map((b: { accountId: string }) => b.accountId).sort()).toEqual(['cli-device-a', 'cli-device-b']);
  expect((await runCli(['devices', 'resold', '00e04c6800aa'], env)).code).toBe(3); // no terminal, no --yes: nothing changes
  const resold = await runCli(['--json', 'devices', 'resold', '00e04c6800aa', '--yes'], env);
  expect(JSON.parse(resold.stdout)).toEqual({ mac: '00e04c6800aa', unbound: 2 });
  expect(JSON.parse((await runCli(['--json', 'devices', 'show', '00e04c6800aa'], env)).stdout).bindings).toEqual([]);
  expect((await runCli(['devices', 'show', 'zz'], env)).code).toBe(2);
});

test('events tail shows what changed; events replay says what it will send again, needs a yes, and queues it; events status shows the backlog', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chucs-cli-events-'));
  const configFile = path.join(dir, 'chucs.json');
  writeFileSync(configFile, JSON.stringify({ webhooks: [{ id: 'crm', url: 'https://crm.example/hooks/chucs', signing: 'jws' }] }));
  const eventsEnv = { ...cliEnvironment(), CHUCS_CONFIG: configFile };
  const added = JSON.parse((await runCli(['--json', 'users', 'add', '--phone', '13900139001'], eventsEnv)).stdout);

  const tail = await runCli(['--json', 'events', 'tail', '--type', 'account.created'], eventsEnv);
  expect(tail.code).toBe(0);
  const [created, ...others] = JSON.parse(tail.stdout);
  expect(others).toEqual([]);
  expect(created).toMatchObject({ type: 'account.created', account_id: added.id, data: { via: 'cli', identifiers: [{ kind: 'phone', value: '+8613900139001' }] } });
  expect((await runCli(['events', 'tail', '--account', added.id], eventsEnv)).stdout).toContain(`account.created          ${added.id}`);
  expect((await runCli(['events', 'tail', '--type', 'account.nope'], eventsEnv)).code).toBe(2);

  const refused = await runCli(['events', 'replay', '--since', created.id], eventsEnv);
  expect(refused.code).toBe(3); // no terminal, no --yes: nothing queued
  expect(refused.stderr).toContain('1 to crm');
  const replayed = await runCli(['--json', 'events', 'replay', '--since', created.id, '--yes'], eventsEnv);
  expect(JSON.parse(replayed.stdout)).toEqual({ since: created.id, subscribers: [{ subscriber: 'crm', events: 1 }] });
  const byTime = await runCli(['--json', 'events', 'replay', '--since', '2000-01-01T00:00:00Z', '--subscriber', 'crm', '--yes'], eventsEnv);
  expect(JSON.parse(byTime.stdout).subscribers).toEqual([{ subscriber: 'crm', events: 1 }]);
  expect((await runCli(['events', 'replay', '--since', 'yesterday', '--yes'], eventsEnv)).code).toBe(2);
  expect((await runCli(['events', 'replay', '--since', created.id, '--subscriber', 'erp', '--yes'], eventsEnv)).code).toBe(2);

  const status = JSON.parse((await runCli(['--json', 'events', 'status'], eventsEnv)).stdout);
  expect(status.subscribers).toEqual([expect.objectContaining({ subscriber: 'crm', pending: 1, retrying: 0 })]);
});
