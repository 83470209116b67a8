import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { parseOptions as parseArgon2, verify as verifyArgon2 } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

/**
 * Password hashes carried over from legacy user centers. Each is checked at the user's first
 * login and then replaced by argon2id (see passwords.ts); this module only validates and verifies.
 */
export const LEGACY_ALGORITHMS = [
  'md5', // md5(p), hex
  'md5_md5_salt', // Discuz!/UCenter: md5(md5(p) + salt), hex
  'sha1', // sha1(p), hex
  'sha256_salt_before', // sha256(salt + p), hex
  'sha256_salt_after', // sha256(p + salt), hex
  'bcrypt', // $2a$ / $2b$ / $2y$
  'pbkdf2_sha256', // Django: pbkdf2_sha256$<iterations>$<salt>$<base64 key>
  'argon2', // PHC string, kept as is
] as const;

export type LegacyAlgorithm = (typeof LEGACY_ALGORITHMS)[number];

export interface LegacyHash { algorithm: LegacyAlgorithm; hash: string; salt?: string | null }

export type LegacyHashCheck = { ok: true; hash: LegacyHash } | { ok: false; reason: string };

// Cost bounds: a stored hash decides how much work one login costs, so an imported (or planted)
// hash must not be able to turn a single login attempt into seconds of CPU or gigabytes of memory.

/** The algorithm's own floor; below it the hash is not bcrypt. */
export const BCRYPT_MIN_COST = 4;
/** Cost 15 is already ~2 s per attempt; higher is an export mistake or a denial-of-service plant. */
export const BCRYPT_MAX_COST = 15;
/** Zero iterations is not PBKDF2. */
export const PBKDF2_MIN_ITERATIONS = 1;
/** Above Django 5's 1,000,000 default; about a second of CPU per attempt at the bound. */
export const PBKDF2_MAX_ITERATIONS = 2_000_000;
/** 256 MiB: above every library default (PHP 64 MiB, OWASP 19 MiB); more would let logins exhaust RAM. */
export const ARGON2_MAX_MEMORY_KIB = 262_144;
/** Passes over memory; libsodium's most expensive preset uses 4. */
export const ARGON2_MAX_TIME_COST = 10;
/** Lanes; more than our cores buys an attacker parallel work per login. */
export const ARGON2_MAX_PARALLELISM = 16;

const HEX_DIGEST_LENGTH = { md5: 32, md5_md5_salt: 32, sha1: 40, sha256_salt_before: 64, sha256_salt_after: 64 } as const;
type DigestAlgorithm = keyof typeof HEX_DIGEST_LENGTH;

const BCRYPT_PATTERN = /^\$(2[abxy])\$(\d{2})\$[./A-Za-z0-9]{53}$/;
const ARGON2_PATTERN = /^\$argon2(?:id|i|d)\$/;
const PBKDF2_KEY_BYTES = 32; // sha256 output, Django's dklen

const pbkdf2Async = promisify(pbkdf2);

export function validateLegacyHash(h: LegacyHash): LegacyHashCheck {
  if (typeof h.hash !== 'string' || h.hash.trim() === '') return reject(`${h.algorithm}: hash missing`);
  const hash = h.hash.trim(); // stray blanks or a CR from a CRLF export are never part of a hash
  if (h.salt !== undefined && h.salt !== null && typeof h.salt !== 'string') return reject(`${h.algorithm}: salt is not text`);
  const salt = h.salt === undefined || h.salt === null || h.salt === '' ? null : h.salt;
  switch (h.algorithm) {
    case 'md5':
    case 'sha1':
    case 'md5_md5_salt':
    case 'sha256_salt_before':
    case 'sha256_salt_after':
      return validateDigest(h.algorithm, hash, salt);
    case 'bcrypt':
      return validateSelfSalted(h.algorithm, salt) ?? validateBcrypt(hash);
    case 'pbkdf2_sha256':
      return validateSelfSalted(h.algorithm, salt) ?? validatePbkdf2(hash);
    case 'argon2':
      return validateSelfSalted(h.algorithm, salt) ?? validateArgon2(hash);
    default:
      return reject(`unknown algorithm ${JSON.stringify(h.algorithm)}`);
  }
}

/**
 * Checks a password against a legacy hash, hashing the UTF-8 bytes of the password exactly as
 * typed. A stored hash that is malformed or outside the cost bounds never matches; never throws.
 */
export async function verifyLegacyHash(h: LegacyHash, password: string): Promise<boolean> {
  if (typeof password !== 'string') return false;
  const check = validateLegacyHash(h);
  if (!check.ok) return false;
  const { algorithm, hash, salt } = check.hash;
  try {
    switch (algorithm) {
      case 'md5':
      case 'sha1':
      case 'md5_md5_salt':
      case 'sha256_salt_before':
      case 'sha256_salt_after':
        return sameBytes(digest(algorithm, password, salt ?? ''), Buffer.from(hash, 'hex'));
      case 'bcrypt':
        // $2y$ is PHP's name for the fixed $2a$, the same algorithm as $2b$.
        return await bcrypt.compare(password, hash.replace(/^\$2y\$/, '$2b$'));
      case 'pbkdf2_sha256': {
        const [, iterations, pbkdf2Salt, key] = hash.split('$') as [string, string, string, string];
        const derived = await pbkdf2Async(password, pbkdf2Salt, Number(iterations), PBKDF2_KEY_BYTES, 'sha256');
        return sameBytes(derived, Buffer.from(key, 'base64'));
      }
      case 'argon2':
        return await verifyArgon2(hash, password);
    }
  } catch {
    return false; // a hash the library cannot read never authenticates
  }
}

/**
 * Reads the algorithm name a mapping file gives for its password field. Returns null for
 * 'none' (a source without passwords); throws on a name it does not know.
 */
export function parseAlgorithmName(name: string): LegacyAlgorithm | null {
  const key = name.trim().toLowerCase().replace(/\s+/g, '');
  if (key === 'none') return null;
  const algorithm = ALGORITHM_NAMES[key];
  if (algorithm) return algorithm;
  throw new Error(
    `unknown password algorithm ${JSON.stringify(name)}; use one of: ${Object.keys(ALGORITHM_NAMES).join(', ')}, none`,
  );
}

const ALGORITHM_NAMES: Readonly<Record<string, LegacyAlgorithm>> = {
  'md5': 'md5',
  'md5(p)': 'md5',
  'md5_md5_salt': 'md5_md5_salt',
  'md5(md5(p)+salt)': 'md5_md5_salt',
  'md5(md5(password)+salt)': 'md5_md5_salt',
  'discuz': 'md5_md5_salt',
  'ucenter': 'md5_md5_salt',
  'sha1': 'sha1',
  'sha-1': 'sha1',
  'sha1(p)': 'sha1',
  'sha256_salt_before': 'sha256_salt_before',
  'sha256(salt+p)': 'sha256_salt_before',
  'sha256(salt+password)': 'sha256_salt_before',
  'sha256_salt_after': 'sha256_salt_after',
  'sha256(p+salt)': 'sha256_salt_after',
  'sha256(password+salt)': 'sha256_salt_after',
  'bcrypt': 'bcrypt',
  'pbkdf2_sha256': 'pbkdf2_sha256',
  'django': 'pbkdf2_sha256',
  'argon2': 'argon2',
  'argon2id': 'argon2',
  'argon2i': 'argon2',
  'argon2d': 'argon2',
};

function validateDigest(algorithm: DigestAlgorithm, hash: string, salt: string | null): LegacyHashCheck {
  const length = HEX_DIGEST_LENGTH[algorithm];
  if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(hash)) {
    return reject(`${algorithm}: hash is not ${length} hex digits`);
  }
  const salted = algorithm === 'md5_md5_salt' || algorithm === 'sha256_salt_before' || algorithm === 'sha256_salt_after';
  if (salted && salt === null) return reject(`${algorithm}: salt missing`);
  // A salt beside an unsalted digest means the mapping names the wrong algorithm: every login would fail.
  if (!salted && salt !== null) return reject(`${algorithm}: unexpected salt (is it a salted algorithm?)`);
  return accept({ algorithm, hash: hash.toLowerCase(), salt });
}

function validateSelfSalted(algorithm: LegacyAlgorithm, salt: string | null): LegacyHashCheck | null {
  return salt === null ? null : reject(`${algorithm}: unexpected separate salt (the hash carries its own)`);
}

function validateBcrypt(hash: string): LegacyHashCheck {
  const match = BCRYPT_PATTERN.exec(hash);
  if (!match) return reject('bcrypt hash: not of the form $2b$<cost>$<53 characters>');
  const [, version, costText] = match as unknown as [string, string, string];
  // $2x$ is crypt_blowfish's buggy variant: it disagrees with $2a$/$2b$ on non-ASCII passwords.
  if (version === '2x') return reject('bcrypt hash: $2x$ (buggy crypt_blowfish variant) is not supported');
  const cost = Number(costText);
  if (cost < BCRYPT_MIN_COST) return reject(`bcrypt hash: cost ${cost} is below ${BCRYPT_MIN_COST}`);
  if (cost > BCRYPT_MAX_COST) return reject(`bcrypt hash: cost ${cost} is above ${BCRYPT_MAX_COST}`);
  return accept({ algorithm: 'bcrypt', hash, salt: null });
}

function validatePbkdf2(hash: string): LegacyHashCheck {
  const parts = hash.split('$');
  if (parts.length !== 4) return reject('pbkdf2_sha256: not of the form pbkdf2_sha256$<iterations>$<salt>$<key>');
  const [prefix, iterationsText, salt, key] = parts as [string, string, string, string];
  if (prefix !== 'pbkdf2_sha256') return reject(`pbkdf2_sha256: prefix ${JSON.stringify(prefix)} is not pbkdf2_sha256`);
  if (!/^\d+$/.test(iterationsText)) return reject(`pbkdf2_sha256: iterations ${JSON.stringify(iterationsText)} is not a number`);
  const iterations = Number(iterationsText);
  if (iterations < PBKDF2_MIN_ITERATIONS) return reject(`pbkdf2_sha256: iterations ${iterations}`);
  if (iterations > PBKDF2_MAX_ITERATIONS) {
    return reject(`pbkdf2_sha256: iterations ${iterations} is above ${PBKDF2_MAX_ITERATIONS}`);
  }
  if (salt === '') return reject('pbkdf2_sha256: salt missing');
  const keyBytes = /^[A-Za-z0-9+/]+={0,2}$/.test(key) ? Buffer.from(key, 'base64') : null;
  if (keyBytes === null || keyBytes.length !== PBKDF2_KEY_BYTES || keyBytes.toString('base64') !== key) {
    return reject(`pbkdf2_sha256: key is not the base64 of ${PBKDF2_KEY_BYTES} bytes`);
  }
  return accept({ algorithm: 'pbkdf2_sha256', hash: `pbkdf2_sha256$${iterations}$${salt}$${key}`, salt: null });
}

function validateArgon2(hash: string): LegacyHashCheck {
  if (!ARGON2_PATTERN.test(hash)) return reject('argon2 hash: not a PHC string starting $argon2id$, $argon2i$ or $argon2d$');
  let params: { memoryCost: number; timeCost: number; parallelism: number };
  try {
    params = parseArgon2(hash);
  } catch {
    return reject('argon2 hash: not a valid PHC string');
  }
  const { memoryCost, timeCost, parallelism } = params;
  if (memoryCost > ARGON2_MAX_MEMORY_KIB) return reject(`argon2 hash: memory ${memoryCost} KiB is above ${ARGON2_MAX_MEMORY_KIB}`);
  if (timeCost > ARGON2_MAX_TIME_COST) return reject(`argon2 hash: time cost ${timeCost} is above ${ARGON2_MAX_TIME_COST}`);
  if (parallelism > ARGON2_MAX_PARALLELISM) {
    return reject(`argon2 hash: parallelism ${parallelism} is above ${ARGON2_MAX_PARALLELISM}`);
  }
  return accept({ algorithm: 'argon2', hash, salt: null });
}

function digest(algorithm: DigestAlgorithm, password: string, salt: string): Buffer {
  switch (algorithm) {
    case 'md5': return createHash('md5').update(password, 'utf8').digest();
    case 'sha1': return createHash('sha1').update(password, 'utf8').digest();
    case 'md5_md5_salt': {
      const inner = createHash('md5').update(password, 'utf8').digest('hex');
      return createHash('md5').update(inner + salt, 'utf8').digest();
    }
    case 'sha256_salt_before': return createHash('sha256').update(salt + password, 'utf8').digest();
    case 'sha256_salt_after': return createHash('sha256').update(password + salt, 'utf8').digest();
  }
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function accept(hash: LegacyHash): LegacyHashCheck {
  return { ok: true, hash };
}

function reject(reason: string): LegacyHashCheck {
  return { ok: false, reason };
}
