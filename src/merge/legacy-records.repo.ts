import { createHash } from 'node:crypto';
import type { DbOrTx } from '../db/database.ts';
import type { LegacyRecord } from './record.ts';
import { isCredentialed } from './record.ts';

export function digestOf(raw: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(raw)).digest('base64url');
}

/** What the merge engine needs of a record besides its evidence. */
export function normalisedOf(r: LegacyRecord) {
  return {
    credential: r.credential, profile: r.profile, devices: r.devices, banned: r.banned,
    points: r.points, level: r.level, createdAt: r.createdAt, updatedAt: r.updatedAt,
  };
}

export async function startImport(db: DbOrTx, source: string, file: string, actor: string): Promise<number> {
  const [row] = await db('legacy_imports').insert({ source, file, created_by: actor }).returning('id');
  return row.id;
}

export async function finishImport(db: DbOrTx, id: number, status: 'done' | 'failed', counts: object): Promise<void> {
  await db('legacy_imports').where({ id }).update({ status, counts, finished_at: db.fn.now() });
}

/** Source ids of this batch that the same import already wrote: duplicates within the file. */
export async function seenInImport(db: DbOrTx, source: string, importId: number, sourceIds: string[]): Promise<Map<string, number>> {
  const rows = await db('legacy_records').select('source_id', 'line').where({ source, import_id: importId }).whereIn('source_id', sourceIds);
  return new Map(rows.map((r: { source_id: string; line: number }) => [r.source_id, r.line]));
}

/**
 * Inserts new records and updates changed ones (by digest); unchanged rows are left alone.
 * Replaces the evidence of every record written. Returns how many were new and updated.
 */
export async function upsertRecords(db: DbOrTx, importId: number, records: LegacyRecord[]): Promise<{ inserted: number; updated: number }> {
  if (records.length === 0) return { inserted: 0, updated: 0 };
  const rows = records.map((r) => ({
    source: r.source, source_id: r.sourceId, payload: r.raw, digest: digestOf(r.raw), normalised: normalisedOf(r),
    credentialed: isCredentialed(r), line: r.line, import_id: importId,
  }));
  const written: Array<{ id: number; source_id: string; inserted: boolean }> = await db('legacy_records')
    .insert(rows)
    .onConflict(['source', 'source_id'])
    .merge(['payload', 'digest', 'normalised', 'credentialed', 'line', 'import_id', 'updated_at'].map((c) => c) as never)
    .where('legacy_records.digest', '<>', db.raw('excluded.digest'))
    .returning(['id', 'source_id', db.raw('(xmax = 0) as inserted')]);
  if (written.length === 0) return { inserted: 0, updated: 0 };
  const ids = written.map((w) => w.id);
  const bySourceId = new Map(records.map((r) => [r.sourceId, r]));
  await db('legacy_evidence').whereIn('record_id', ids).delete();
  const evidence = written.flatMap((w) => bySourceId.get(w.source_id)!.evidence.map((e) => ({ record_id: w.id, kind: e.kind, value: e.value, verified: e.verified })));
  for (let i = 0; i < evidence.length; i += 5000) await db('legacy_evidence').insert(evidence.slice(i, i + 5000));
  const inserted = written.filter((w) => w.inserted).length;
  return { inserted, updated: written.length - inserted };
}
