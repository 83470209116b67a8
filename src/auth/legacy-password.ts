import type { Db } from '../db/database.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { verifyLegacyHash, type LegacyAlgorithm } from '../identity/legacy-hashers.ts';
import type { PasswordHasher } from '../identity/passwords.ts';
import { upsertPasswordHash } from '../identity/credentials.repo.ts';

/**
 * The legacy password strategy: an account built from legacy records keeps their password
 * hashes, tagged by algorithm. The first successful sign-in with any of them re-hashes the
 * password with argon2id at once and drops every legacy hash of the account.
 */
export async function legacyHashesOf(db: Db, accountId: string) {
  return db('credentials').where({ account_id: accountId, type: 'legacy_password' }).orderBy('id')
    .select('id', 'algorithm', 'hash', 'salt') as Promise<Array<{ id: number; algorithm: LegacyAlgorithm; hash: string; salt: string | null }>>;
}

export async function verifyLegacyPassword(db: Db, accountId: string, password: string): Promise<boolean> {
  for (const h of await legacyHashesOf(db, accountId)) {
    if (await verifyLegacyHash({ algorithm: h.algorithm, hash: h.hash, salt: h.salt }, password)) return true;
  }
  return false;
}

/** After a successful sign-in: the password becomes argon2id, legacy hashes go. */
export async function upgradeToArgon2(db: Db, hasher: PasswordHasher, accountId: string, password: string, fromLegacy: boolean): Promise<void> {
  const hash = fromLegacy ? await hasher.hash(password) : undefined;
  await db.transaction(async (trx) => {
    if (hash) await upsertPasswordHash(trx, accountId, hash);
    const dropped = await trx('credentials').where({ account_id: accountId, type: 'legacy_password' }).delete();
    if (hash || dropped) {
      await recordAudit(trx, { actor: `account:${accountId}`, action: 'password.upgraded', subject: accountId, detail: { legacyHashesDropped: dropped, rehashed: Boolean(hash) } });
    }
  });
}
