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

export async function insertAccount(db: DbOrTx, account: { id: string; profile: Profile }): Promise<void> {
  await db('accounts').insert({ id: account.id, profile: account.profile });
}

export async function findAccountRow(db: DbOrTx, id: string): Promise<AccountRow | undefined> {
  return db('accounts').where({ id }).first();
}
