import { randomUUIDv7 } from 'node:crypto';
import type { DbOrTx } from '../db/database.ts';

export type AccountStatus = 'active' | 'locked' | 'merged' | 'erased';

export interface Profile {
  name?: string;
  nickname?: string;
  gender?: 'male' | 'female' | 'unknown';
  birthdate?: string;
  picture?: string;
  region?: string;
  locale?: string;
}

export interface AccountRow {
  id: string;
  status: AccountStatus;
  merged_into: string | null;
  profile: Profile;
  created_at: Date;
  updated_at: Date;
}

/**
 * A new account id, the OIDC `sub`: a UUIDv7 (RFC 9562), 74 random bits after a millisecond
 * timestamp. Ids made one after another sort together, so each index on an account id grows
 * at its end instead of touching a random page per insert (a merge run creates hundreds of
 * thousands at once). The trade-off, accepted: a `sub` shows when its account was created,
 * to the minute and below, which the account itself is not secret about.
 */
export function newAccountId(): string {
  return randomUUIDv7();
}

export async function insertAccount(db: DbOrTx, account: { id: string; profile: Profile }): Promise<void> {
  await db('accounts').insert({ id: account.id, profile: account.profile });
}

export async function findAccountRow(db: DbOrTx, id: string): Promise<AccountRow | undefined> {
  return db('accounts').where({ id }).first();
}
