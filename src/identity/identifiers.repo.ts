import type { DbOrTx } from '../db/database.ts';

export type IdentifierKind =
  | 'phone' | 'email' | 'username'
  | 'wechat_unionid' | 'wechat_openid' | 'qq_openid' | 'qq_unionid' | 'weibo_uid';

export interface IdentifierRow {
  id: number;
  account_id: string;
  kind: IdentifierKind;
  value: string;
  verified: boolean;
  verified_at: Date | null;
  is_primary: boolean;
  source: string;
  created_at: Date;
}

export interface NewIdentifier {
  kind: IdentifierKind;
  value: string;
  verified: boolean;
  primary?: boolean;
  source: string;
}

export async function insertIdentifier(db: DbOrTx, accountId: string, id: NewIdentifier): Promise<void> {
  await db('identifiers').insert({
    account_id: accountId,
    kind: id.kind,
    value: id.value,
    verified: id.verified,
    verified_at: id.verified ? db.fn.now() : null,
    is_primary: id.primary ?? false,
    source: id.source,
  });
}

export async function listIdentifiers(db: DbOrTx, accountId: string): Promise<IdentifierRow[]> {
  return db('identifiers').where({ account_id: accountId }).orderBy([{ column: 'is_primary', order: 'desc' }, 'id']);
}

/** Accounts holding this identifier, verified ones only unless `includeUnverified`. */
export async function accountIdsByIdentifier(
  db: DbOrTx, kind: IdentifierKind, value: string, { includeUnverified = false } = {},
): Promise<string[]> {
  const q = db('identifiers').distinct('account_id').where({ kind, value });
  if (!includeUnverified) q.andWhere({ verified: true });
  return (await q.limit(2)).map((r: { account_id: string }) => r.account_id);
}
