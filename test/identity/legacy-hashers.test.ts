import { createHash, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { hash as argon2Hash } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { SAMPLES_DIR } from '../merge/samples.ts';

/** A bcrypt hash with the given version prefix ($2y$ is PHP's name for the same algorithm). */
async function bcryptHash(password: string, o: { cost: number; version?: '2a' | '2b' | '2y' }) {
  const hashed = await bcrypt.hash(password, bcrypt.genSaltSync(o.cost));
  return hashed.replace(/^\$2[ab]\$/, `$${o.version ?? '2b'}$`);
}
import { parse } from 'csv-parse/sync';
import {
  LEGACY_ALGORITHMS, parseAlgorithmName, validateLegacyHash, verifyLegacyHash, type LegacyHash,
} from '../../src/identity/legacy-hashers.ts';

const SAMPLES = SAMPLES_DIR;
const hex = (algorithm: string, input: string) => createHash(algorithm).update(input, 'utf8').digest('hex');

// ---------- every sample record that has a password ----------

interface SampleRecord { hash: LegacyHash; loginIdentifier: string }
type Row = Record<string, string>;

function readCsv(file: string): Row[] {
  return parse(readFileSync(path.join(SAMPLES, file), 'utf8'), { columns: true, bom: true, skip_empty_lines: true });
}

function loadSampleHashes(): { records: Map<string, SampleRecord>; brokenCloudLines: number[] } {
  const records = new Map<string, SampleRecord>();
  for (const row of readCsv('bbs.csv')) {
    records.set(`bbs:${row.uid}`, {
      hash: { algorithm: 'md5_md5_salt', hash: row.password ?? '', salt: row.salt ?? null },
      loginIdentifier: row.username ?? '',
    });
  }
  for (const row of readCsv('mall.csv')) {
    records.set(`mall:${row.member_id}`, {
      hash: { algorithm: 'bcrypt', hash: row.password_hash ?? '' },
      loginIdentifier: row.login_name ?? '',
    });
  }
  const brokenCloudLines: number[] = [];
  readFileSync(path.join(SAMPLES, 'cloud.jsonl'), 'utf8').split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let account: { account_id: string; phone: string | null; email: string | null; password: string | null };
    try {
      account = JSON.parse(line);
    } catch {
      brokenCloudLines.push(index + 1);
      return;
    }
    if (account.password === null) return; // made by SMS code only
    records.set(`cloud:${account.account_id}`, {
      hash: { algorithm: 'pbkdf2_sha256', hash: account.password },
      loginIdentifier: account.phone ?? account.email ?? '',
    });
  });
  return { records, brokenCloudLines };
}

const { records, brokenCloudLines } = loadSampleHashes();
const plaintexts = readCsv('passwords.csv') as Array<{ source: string; source_id: string; login_identifier: string; password: string }>;

describe('sample exports', () => {
  test('the truncated cloud line 21 is the only one skipped', () => {
    expect(brokenCloudLines).toEqual([21]);
  });

  test('passwords.csv has a plaintext for exactly the records that carry a hash', () => {
    expect(plaintexts).toHaveLength(71);
    expect(plaintexts.map((p) => `${p.source}:${p.source_id}`).sort()).toEqual([...records.keys()].sort());
  });

  test('every sample hash passes import validation unchanged', () => {
    for (const { hash } of records.values()) {
      expect(validateLegacyHash(hash)).toEqual({ ok: true, hash: { ...hash, salt: hash.salt ?? null } });
    }
  });

  test.each(plaintexts.map((p) => [`${p.source}:${p.source_id}`, p] as const))('%s', async (key, row) => {
    const record = records.get(key);
    if (!record) throw new Error(`no hash for ${key}`);
    expect(record.loginIdentifier).toBe(row.login_identifier);
    const { password } = row;
    expect(await verifyLegacyHash(record.hash, password)).toBe(true);
    expect(await verifyLegacyHash(record.hash, `${password}x`)).toBe(false);
    expect(await verifyLegacyHash(record.hash, ` ${password} `)).toBe(false); // input is never trimmed
    if (/\s/.test(password)) expect(await verifyLegacyHash(record.hash, password.replace(/\s/g, ''))).toBe(false);
  });
});

// ---------- each algorithm from known vectors ----------

describe('digests', () => {
  const password = 'Pass wörd 密码';

  test('md5 and sha1 hash the UTF-8 bytes, accept upper-case hex', async () => {
    for (const algorithm of ['md5', 'sha1'] as const) {
      const stored = hex(algorithm, password).toUpperCase();
      expect(await verifyLegacyHash({ algorithm, hash: stored }, password)).toBe(true);
      expect(await verifyLegacyHash({ algorithm, hash: stored }, password.normalize('NFD'))).toBe(false);
      expect(await verifyLegacyHash({ algorithm, hash: stored }, password.toLowerCase())).toBe(false);
    }
  });

  test('md5_md5_salt is md5 of the lower-case hex md5 followed by the salt', async () => {
    const salt = '3d3955';
    const stored = { algorithm: 'md5_md5_salt' as const, hash: hex('md5', hex('md5', password) + salt), salt };
    expect(await verifyLegacyHash(stored, password)).toBe(true);
    expect(await verifyLegacyHash({ ...stored, salt: '3d3956' }, password)).toBe(false);
    expect(await verifyLegacyHash({ ...stored, hash: hex('md5', hex('md5', password).toUpperCase() + salt) }, password)).toBe(false);
  });

  test('sha256 with the salt before or after, and the two are not confused', async () => {
    const salt = 'NaCl+盐';
    const before = { algorithm: 'sha256_salt_before' as const, hash: hex('sha256', salt + password), salt };
    const after = { algorithm: 'sha256_salt_after' as const, hash: hex('sha256', password + salt), salt };
    expect(await verifyLegacyHash(before, password)).toBe(true);
    expect(await verifyLegacyHash(after, password)).toBe(true);
    expect(await verifyLegacyHash({ ...before, algorithm: 'sha256_salt_after' }, password)).toBe(false);
    expect(await verifyLegacyHash({ ...after, algorithm: 'sha256_salt_before' }, password)).toBe(false);
    expect(await verifyLegacyHash(before, `${password}!`)).toBe(false);
  });

  test('validation lower-cases hex, trims the hash, drops an empty salt', () => {
    const md5 = hex('md5', 'x');
    expect(validateLegacyHash({ algorithm: 'md5', hash: ` ${md5.toUpperCase()}\r`, salt: '' }))
      .toEqual({ ok: true, hash: { algorithm: 'md5', hash: md5, salt: null } });
    expect(validateLegacyHash({ algorithm: 'sha256_salt_after', hash: hex('sha256', 'x').toUpperCase(), salt: ' s ' }))
      .toEqual({ ok: true, hash: { algorithm: 'sha256_salt_after', hash: hex('sha256', 'x'), salt: ' s ' } });
  });
});

describe('bcrypt', () => {
  test.each(['2a', '2b', '2y'] as const)('$%s$ verifies', async (version) => {
    const stored = await bcryptHash('abc 123', { cost: 4, version });
    expect(stored.startsWith(`$${version}$04$`)).toBe(true);
    expect(await verifyLegacyHash({ algorithm: 'bcrypt', hash: stored }, 'abc 123')).toBe(true);
    expect(await verifyLegacyHash({ algorithm: 'bcrypt', hash: stored }, 'abc123')).toBe(false);
  });

  test('a cost above the bound is refused without being computed', async () => {
    const stored = (await bcryptHash('p', { cost: 4 })).replace('$04$', '$31$');
    const started = performance.now();
    expect(await verifyLegacyHash({ algorithm: 'bcrypt', hash: stored }, 'p')).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('pbkdf2_sha256 (Django)', () => {
  const django = (password: string, iterations: number, salt: string) =>
    `pbkdf2_sha256$${iterations}$${salt}$${pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('base64')}`;

  test('verifies a key derived with node:crypto', async () => {
    const stored = { algorithm: 'pbkdf2_sha256' as const, hash: django('我爱你 1314', 1200, 'Wk9xYz1tQ2') };
    expect(await verifyLegacyHash(stored, '我爱你 1314')).toBe(true);
    expect(await verifyLegacyHash(stored, '我爱你1314')).toBe(false);
    expect(await verifyLegacyHash({ algorithm: 'pbkdf2_sha256', hash: django('我爱你 1314', 1201, 'Wk9xYz1tQ2') }, '我爱你1314')).toBe(false);
  });
});

describe('argon2', () => {
  test.each([[0, 'argon2d'], [1, 'argon2i'], [2, 'argon2id']] as const)('algorithm %i ($%s$) verifies', async (algorithm, prefix) => {
    const stored = await argon2Hash('pass word', { algorithm, memoryCost: 1024, timeCost: 1, parallelism: 1 });
    expect(stored.startsWith(`$${prefix}$`)).toBe(true);
    expect(validateLegacyHash({ algorithm: 'argon2', hash: stored })).toEqual({ ok: true, hash: { algorithm: 'argon2', hash: stored, salt: null } });
    expect(await verifyLegacyHash({ algorithm: 'argon2', hash: stored }, 'pass word')).toBe(true);
    expect(await verifyLegacyHash({ algorithm: 'argon2', hash: stored }, 'password')).toBe(false);
  });

  test('a planted hash asking for 4 GiB is refused without being computed', async () => {
    const stored = (await argon2Hash('p', { memoryCost: 1024, timeCost: 1, parallelism: 1 })).replace('m=1024', 'm=4194304');
    const started = performance.now();
    expect(await verifyLegacyHash({ algorithm: 'argon2', hash: stored }, 'p')).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

// ---------- every validation failure ----------

describe('validateLegacyHash rejects, and verifyLegacyHash never matches,', () => {
  const md5 = hex('md5', 'p');
  const bcrypt04 = '$2b$04$XXFMYCD4ch.FLft4Y1SqTu3c9DQJhyZWekTE8ZZLDJbAxEoxXk04u';
  const key = pbkdf2Sync('p', 'salt', 1000, 32, 'sha256').toString('base64');
  const argon2 = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

  const cases: Array<[LegacyHash, string]> = [
    [{ algorithm: 'md5', hash: '' }, 'md5: hash missing'],
    [{ algorithm: 'md5', hash: '  ' }, 'md5: hash missing'],
    [{ algorithm: 'md5', hash: `${md5}0` }, 'md5: hash is not 32 hex digits'],
    [{ algorithm: 'md5', hash: md5.replace(/./, 'g') }, 'md5: hash is not 32 hex digits'],
    [{ algorithm: 'md5', hash: md5, salt: 'abc' }, 'md5: unexpected salt (is it a salted algorithm?)'],
    [{ algorithm: 'sha1', hash: md5 }, 'sha1: hash is not 40 hex digits'],
    [{ algorithm: 'sha1', hash: hex('sha1', 'p'), salt: 'abc' }, 'sha1: unexpected salt (is it a salted algorithm?)'],
    [{ algorithm: 'md5_md5_salt', hash: md5 }, 'md5_md5_salt: salt missing'],
    [{ algorithm: 'md5_md5_salt', hash: md5, salt: '' }, 'md5_md5_salt: salt missing'],
    [{ algorithm: 'md5_md5_salt', hash: md5, salt: 42 as unknown as string }, 'md5_md5_salt: salt is not text'],
    [{ algorithm: 'sha256_salt_before', hash: hex('sha256', 'p'), salt: null }, 'sha256_salt_before: salt missing'],
    [{ algorithm: 'sha256_salt_after', hash: hex('sha256', 'p') }, 'sha256_salt_after: salt missing'],
    [{ algorithm: 'sha256_salt_after', hash: md5, salt: 's' }, 'sha256_salt_after: hash is not 64 hex digits'],
    [{ algorithm: 'bcrypt', hash: bcrypt04.replace('$04$', '$03$') }, 'bcrypt hash: cost 3 is below 4'],
    [{ algorithm: 'bcrypt', hash: bcrypt04.replace('$04$', '$16$') }, 'bcrypt hash: cost 16 is above 15'],
    [{ algorithm: 'bcrypt', hash: bcrypt04.replace('$2b$', '$2x$') }, 'bcrypt hash: $2x$ (buggy crypt_blowfish variant) is not supported'],
    [{ algorithm: 'bcrypt', hash: bcrypt04.replace('$2b$', '$2c$') }, 'bcrypt hash: not of the form $2b$<cost>$<53 characters>'],
    [{ algorithm: 'bcrypt', hash: bcrypt04.replace('$04$', '$4$') }, 'bcrypt hash: not of the form $2b$<cost>$<53 characters>'],
    [{ algorithm: 'bcrypt', hash: bcrypt04.slice(0, -1) }, 'bcrypt hash: not of the form $2b$<cost>$<53 characters>'],
    [{ algorithm: 'bcrypt', hash: bcrypt04, salt: 'abc' }, 'bcrypt: unexpected separate salt (the hash carries its own)'],
    [{ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$1000$salt` }, 'pbkdf2_sha256: not of the form pbkdf2_sha256$<iterations>$<salt>$<key>'],
    [{ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha1$1000$salt$${key}` }, 'pbkdf2_sha256: prefix "pbkdf2_sha1" is not pbkdf2_sha256'],
    [{ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$1e3$salt$${key}` }, 'pbkdf2_sha256: iterations "1e3" is not a number'],
    [{ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$0$salt$${key}` }, 'pbkdf2_sha256: iterations 0'],
    [{ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$2000001$salt$${key}` }, 'pbkdf2_sha256: iterations 2000001 is above 2000000'],
    [{ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$1000$$${key}` }, 'pbkdf2_sha256: salt missing'],
    [{ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$1000$salt$${key.slice(4)}` }, 'pbkdf2_sha256: key is not the base64 of 32 bytes'],
    [{ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$1000$salt$${key.replace('=', '')}` }, 'pbkdf2_sha256: key is not the base64 of 32 bytes'],
    [{ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$1000$salt$${hex('sha256', 'p')}` }, 'pbkdf2_sha256: key is not the base64 of 32 bytes'],
    [{ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$1000$salt$${key}`, salt: 'salt' }, 'pbkdf2_sha256: unexpected separate salt (the hash carries its own)'],
    [{ algorithm: 'argon2', hash: bcrypt04 }, 'argon2 hash: not a PHC string starting $argon2id$, $argon2i$ or $argon2d$'],
    [{ algorithm: 'argon2', hash: '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ' }, 'argon2 hash: not a valid PHC string'],
    [{ algorithm: 'argon2', hash: argon2.replace('m=19456', 'm=262145') }, 'argon2 hash: memory 262145 KiB is above 262144'],
    [{ algorithm: 'argon2', hash: argon2.replace('t=2', 't=11') }, 'argon2 hash: time cost 11 is above 10'],
    [{ algorithm: 'argon2', hash: argon2.replace('m=19456,t=2,p=1', 'm=19456,t=2,p=17') }, 'argon2 hash: parallelism 17 is above 16'],
    [{ algorithm: 'argon2', hash: argon2, salt: 'abc' }, 'argon2: unexpected separate salt (the hash carries its own)'],
    [{ algorithm: 'md4' as LegacyHash['algorithm'], hash: md5 }, 'unknown algorithm "md4"'],
  ];

  test.each(cases)('%j: %s', async (stored, reason) => {
    expect(validateLegacyHash(stored)).toEqual({ ok: false, reason });
    await expect(verifyLegacyHash(stored, 'p')).resolves.toBe(false);
  });

  test('the argon2 and pbkdf2 bases of those cases are themselves valid', () => {
    expect(validateLegacyHash({ algorithm: 'argon2', hash: argon2 }).ok).toBe(true);
    expect(validateLegacyHash({ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$1000$salt$${key}` }).ok).toBe(true);
    expect(validateLegacyHash({ algorithm: 'bcrypt', hash: bcrypt04 }).ok).toBe(true);
  });

  test('the cost bounds themselves are accepted', () => {
    expect(validateLegacyHash({ algorithm: 'bcrypt', hash: bcrypt04.replace('$04$', '$15$') }).ok).toBe(true);
    expect(validateLegacyHash({ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$2000000$salt$${key}` }).ok).toBe(true);
    expect(validateLegacyHash({ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$1$salt$${key}` }).ok).toBe(true);
    expect(validateLegacyHash({ algorithm: 'argon2', hash: argon2.replace('m=19456,t=2,p=1', 'm=262144,t=10,p=16') }).ok).toBe(true);
  });
});

// ---------- mapping file names ----------

describe('parseAlgorithmName', () => {
  test.each([
    ['md5', 'md5'],
    ['MD5', 'md5'],
    ['md5(md5(p)+salt)', 'md5_md5_salt'],
    ['md5(md5(p) + salt)', 'md5_md5_salt'],
    ['discuz', 'md5_md5_salt'],
    ['UCenter', 'md5_md5_salt'],
    ['sha1', 'sha1'],
    ['SHA-1', 'sha1'],
    ['sha256(salt+p)', 'sha256_salt_before'],
    ['sha256(p+salt)', 'sha256_salt_after'],
    ['sha256(password + salt)', 'sha256_salt_after'],
    ['bcrypt', 'bcrypt'],
    ['pbkdf2_sha256', 'pbkdf2_sha256'],
    ['django', 'pbkdf2_sha256'],
    ['argon2', 'argon2'],
    [' Argon2id ', 'argon2'],
    ['none', null],
    ['None', null],
  ])('%j is %j', (name, expected) => {
    expect(parseAlgorithmName(name)).toBe(expected);
  });

  test('every algorithm is accepted under its own name', () => {
    for (const algorithm of LEGACY_ALGORITHMS) expect(parseAlgorithmName(algorithm)).toBe(algorithm);
  });

  test.each(['', 'md4', 'sha512', 'sha256', 'pbkdf2_sha1', 'plain'])('%j is refused with a message naming it', (name) => {
    expect(() => parseAlgorithmName(name)).toThrow(`unknown password algorithm ${JSON.stringify(name)}`);
  });
});
