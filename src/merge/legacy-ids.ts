import type { Db } from '../db/database.ts';

/**
 * An account's ids in one legacy source (its own records and those of accounts merged into
 * it), for apps that replace that source and must find their own rows.
 */
export async function legacyIdsOf(db: Db, accountId: string, source: string): Promise<string[]> {
  const rows = await db('record_links as l').join('legacy_records as r', 'r.id', 'l.record_id').join('accounts as a', 'a.id', 'l.account_id')
    .where('r.source', source).where((w) => w.where('a.id', accountId).orWhere('a.merged_into', accountId))
    .orderBy('r.id').select('r.source_id');
  return rows.map((r: { source_id: string }) => r.source_id);
}
