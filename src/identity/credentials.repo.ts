import type { DbOrTx } from '../db/database.ts';

export async function findPasswordHash(db: DbOrTx, accountId: string): Promise<string | undefined> {
  const row = await db('credentials').where({ account_id: accountId, type: 'password' }).first('hash');
  return row?.hash;
}

export async function upsertPasswordHash(db: DbOrTx, accountId: string, hash: string): Promise<void> {
  await db('credentials')
    .insert({ account_id: accountId, type: 'password', algorithm: 'argon2id', hash })
    .onConflict(db.raw("(account_id) where type = 'password'"))
    .merge({ hash, updated_at: db.fn.now() });
}
