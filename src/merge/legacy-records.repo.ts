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
 * Rows travel as one array per column (unnest): a handful of parameters per batch instead
 * of one per value, several times faster on PostgreSQL and PGlite alike.
 */
export async function upsertRecords(db: DbOrTx, importId: number, records: LegacyRecord[]): Promise<{ inserted: number; updated: number }> {
  if (records.length === 0) return { inserted: 0, updated: 0 };
  const { rows: written } = await db.raw(`
    insert into legacy_records (source, source_id, payload, digest, normalised, credentialed, line, import_id)
    select * from unnest(?::text[], ?::text[], ?::jsonb[], ?::text[], ?::jsonb[], ?::boolean[], ?::int[], ?::bigint[])
    on conflict (source, source_id) do update set
      payload = excluded.payload, digest = excluded.digest, normalised = excluded.normalised,
      credentialed = excluded.credentialed, line = excluded.line, import_id = excluded.import_id, updated_at = now()
    where legacy_records.digest <> excluded.digest
    returning id, source_id, (xmax = 0) as inserted`, [
    records.map((r) => r.source), records.map((r) => r.sourceId), records.map((r) => JSON.stringify(r.raw)),
    records.map((r) => digestOf(r.raw)), records.map((r) => JSON.stringify(normalisedOf(r))), records.map(isCredentialed),
    records.map((r) => r.line), records.map(() => importId),
  ]) as { rows: Array<{ id: number; source_id: string; inserted: boolean }> };
  if (written.length === 0) return { inserted: 0, updated: 0 };
  const ids = written.map((w) => Number(w.id));
  const bySourceId = new Map(records.map((r) => [r.sourceId, r]));
  await db.raw('delete from legacy_evidence where record_id = any(?::bigint[])', [ids]);
  const ev = { record: [] as number[], kind: [] as string[], value: [] as string[], verified: [] as boolean[] };
  for (const w of written) {
    for (const e of bySourceId.get(w.source_id)!.evidence) {
      ev.record.push(Number(w.id)); ev.kind.push(e.kind); ev.value.push(e.value); ev.verified.push(e.verified);
    }
  }
  if (ev.record.length) {
    await db.raw('insert into legacy_evidence (record_id, kind, value, verified) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::boolean[])',
      [ev.record, ev.kind, ev.value, ev.verified]);
  }
  const inserted = written.filter((w) => w.inserted).length;
  return { inserted, updated: written.length - inserted };
}
