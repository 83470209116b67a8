import { createHash, pbkdf2Sync } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { Rng, ALNUM, HEX } from './prng.ts';

/**
 * Passwords and their legacy hashes. bcrypt and PBKDF2 cost milliseconds each, far too slow
 * for a million records, so cloud and mall hashes come from a pool computed once: each
 * pool password hashed once per format with its own salt. Discuz's md5(md5(p)+salt) is cheap
 * and is computed per record, with a fresh salt.
 */

export interface PoolEntry {
  plain: string;
  /** Django: pbkdf2_sha256$<iterations>$<salt>$<base64 key> */
  cloud: string;
  /** bcrypt, PHP's two spellings of the same algorithm. */
  mall2a: string;
  mall2y: string;
}

export interface PasswordPool { entries: readonly PoolEntry[] }

export const POOL_SIZE = 200;

// Most cloud hashes use the samples' 1000 iterations; a few carry the contract's 36000.
const DJANGO_ITERATIONS = 1000;
const DJANGO_ITERATIONS_LATER = 36000;
// Cost 4 keeps the test's verification of every row fast; a few rows carry the mall's real cost 10.
const BCRYPT_COST = 4;
const BCRYPT_COST_PRODUCTION = 10;

const COMMON = [
  '123456', '123456789', '111111', '666666', '888888', '000000', 'abc123', 'qq123456', 'woaini1314', 'iloveyou',
  'changhong', 'chiq2019', 'zxcvbnm', 'a123456', 'password', '1qaz2wsx', '5201314', '112233', 'aa123456', 'qwerty123',
];
// Hash the UTF-8 bytes exactly, without trimming (legacy-sources samples README).
const NON_ASCII = ['密码abc123', '我爱你1314', '长虹电视', 'changhong长虹', '小明123456', 'ñandú2020', 'Пароль123', 'パスワード1', '密码 123'];
const WITH_SPACES = ['pass word', 'abc 123', 'my tv 2019', 'I love CHiQ', ' leading', 'trailing ', 'two  spaces'];
const PINYIN = ['zhangwei', 'wangfang', 'liuyang', 'chenjie', 'lihong', 'zhaolei', 'sunli', 'zhoujia', 'xiaoming', 'laowang'];
const SYMBOLS = '!@#$%&*';

export function buildPasswordPool(seed: number): PasswordPool {
  const rng = new Rng(seed, 0x706f6f6c);
  const plains = [...COMMON, ...NON_ASCII, ...WITH_SPACES];
  while (plains.length < POOL_SIZE) {
    const kind = rng.int(3);
    const p = kind === 0 ? `${rng.pick(PINYIN)}${rng.between(1950, 2010)}`
      : kind === 1 ? rng.chars(ALNUM, rng.between(8, 12)) + (rng.chance(0.5) ? rng.pick([...SYMBOLS]) : '')
      : rng.chars('0123456789', 8);
    if (!plains.includes(p)) plains.push(p);
  }
  const entries = plains.map((plain, i): PoolEntry => {
    const iterations = i % 25 === 7 ? DJANGO_ITERATIONS_LATER : DJANGO_ITERATIONS;
    const salt = rng.chars(ALNUM, rng.chance(0.5) ? 12 : 22);
    const key = pbkdf2Sync(plain, salt, iterations, 32, 'sha256').toString('base64');
    return {
      plain,
      cloud: `pbkdf2_sha256$${iterations}$${salt}$${key}`,
      mall2a: bcryptWithSalt(plain, rng.bytes(16), BCRYPT_COST, '2a'),
      mall2y: bcryptWithSalt(plain, rng.bytes(16), i % 100 === 11 ? BCRYPT_COST_PRODUCTION : BCRYPT_COST, '2y'),
    };
  });
  return { entries };
}

/** bcrypt with a salt from the seeded generator (so files are reproducible), as $2a$ or PHP's $2y$. */
function bcryptWithSalt(plain: string, salt: Uint8Array, cost: number, version: '2a' | '2y'): string {
  const saltText = `$2a$${String(cost).padStart(2, '0')}$${bcrypt.encodeBase64([...salt], 16)}`;
  return bcrypt.hashSync(plain, saltText).replace(/^\$2a\$/, `$${version}$`);
}

/** Discuz!/UCenter: md5(md5(p) + salt), lower-case hex, over UTF-8 bytes. */
export function discuzHash(plain: string, salt: string): string {
  const inner = createHash('md5').update(plain, 'utf8').digest('hex');
  return createHash('md5').update(inner + salt, 'utf8').digest('hex');
}

/** Discuz salts are 6 characters (the tail of PHP's uniqid). */
export function discuzSalt(rng: Rng): string {
  return rng.chars(HEX, 6);
}
