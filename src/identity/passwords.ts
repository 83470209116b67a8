import { hash, verify } from '@node-rs/argon2';

/** argon2id, OWASP's parameters by default (m=19 MiB, t=2, p=1); configurable. */
export interface Argon2Params { memoryKib: number; timeCost: number; parallelism: number }

// @node-rs/argon2's Algorithm is a const enum (unusable under isolated modules): 2 is Argon2id.
const ARGON2ID = 2;

/** NIST 800-63B: at least 8 characters, no composition rules; long passphrases welcome. */
export const PASSWORD_MIN_LENGTH = 8;
/** Far above any passphrase; bounds the work one request can ask of the hasher. */
export const PASSWORD_MAX_LENGTH = 1024;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(stored: string, password: string): Promise<boolean>;
  /** Spends the time of one verification, for identifiers that match no account. */
  verifyNothing(password: string): Promise<false>;
}

export function createPasswordHasher(params: Argon2Params): PasswordHasher {
  const options = { algorithm: ARGON2ID, memoryCost: params.memoryKib, timeCost: params.timeCost, parallelism: params.parallelism };
  let dummy: Promise<string> | undefined;
  return {
    hash: (password) => hash(password, options),
    async verify(stored, password) {
      try {
        return await verify(stored, password);
      } catch {
        return false; // a malformed stored hash never authenticates
      }
    },
    async verifyNothing(password) {
      dummy ??= hash('chucs-timing-equaliser', options);
      await verify(await dummy, password).catch(() => false);
      return false;
    },
  };
}

export function passwordLengthOk(password: string): boolean {
  const length = [...password].length;
  return length >= PASSWORD_MIN_LENGTH && length <= PASSWORD_MAX_LENGTH;
}
