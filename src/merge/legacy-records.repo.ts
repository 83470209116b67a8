import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { DbOrTx } from '../db/database.ts';
import { copyRows } from './bulk-insert.ts';
import type { LegacyRecord } from './record.ts';
import { isCredentialed } from './record.ts';

function digestOfText(json: string): string {
  return createHash('sha256').update(json).digest('base64url');
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

/** Source ids of this batch that the same import already wrote or stamped: duplicates within the file. */
export async function seenInImport(db: DbOrTx, source: string, importId: number, sourceIds: string[]): Promise<Map<string, number>> {
  const rows = await db('legacy_records').select('source_id', 'line').where({ source, import_id: importId }).whereRaw('source_id = any(?::text[])', [sourceIds]);
  return new Map(rows.map((r: { source_id: string; line: number }) => [r.source_id, r.line]));
}

/**
 * Inserts new records and updates changed ones (by digest); unchanged rows keep their content,
 * only this import and their line are stamped on them. Replaces the evidence of every record
 * inserted or changed. Returns how many were new and updated.
 * The batch is copied into a temporary table (COPY on PostgreSQL), then upserted by one
 * statement: far faster than sending the rows as parameters.
 */
export async function upsertRecords(trx: Knex.Transaction, importId: number, records: LegacyRecord[]): Promise<{ inserted: number; updated: number }> {
  if (records.length === 0) return { inserted: 0, updated: 0 };
  await trx.raw(`create temp table if not exists legacy_records_stage (
    source text, source_id text, payload jsonb, digest text, normalised jsonb, credentialed boolean, line int, import_id bigint
  ) on commit delete rows`);
  await copyRows(trx, 'legacy_records_stage', STAGE_COLUMNS, records.map((r) => {
    const payload = JSON.stringify(r.raw);
    return {
      source: r.source, source_id: r.sourceId, payload, digest: digestOfText(payload), normalised: JSON.stringify(normalisedOf(r)),
      credentialed: isCredentialed(r), line: r.line, import_id: importId,
    };
  }));
  // A record already stored is stamped with this import and line even when unchanged, so a
  // later duplicate in the same file is found by `seenInImport` (the first one wins); its
  // content, evidence and updated_at change only when its digest does.
  const changedNow = 'legacy_records.digest <> excluded.digest';
  const { rows: stamped } = await trx.raw(`
    insert into legacy_records (source, source_id, payload, digest, normalised, credentialed, line, import_id)
    select source, source_id, payload, digest, normalised, credentialed, line, import_id from legacy_records_stage
    on conflict (source, source_id) do update set
      payload = case when ${changedNow} then excluded.payload else legacy_records.payload end,
      normalised = case when ${changedNow} then excluded.normalised else legacy_records.normalised end,
      credentialed = case when ${changedNow} then excluded.credentialed else legacy_records.credentialed end,
      updated_at = case when ${changedNow} then now() else legacy_records.updated_at end,
      digest = excluded.digest, line = excluded.line, import_id = excluded.import_id
    where ${changedNow} or legacy_records.import_id is distinct from excluded.import_id
    returning id, source_id, (xmax = 0) as inserted, (updated_at = now()) as changed`) as { rows: Array<{ id: number; source_id: string; inserted: boolean; changed: boolean }> };
  const written = stamped.filter((w) => w.inserted || w.changed);
  if (written.length === 0) return { inserted: 0, updated: 0 };
  const updatedIds = written.filter((w) => !w.inserted).map((w) => Number(w.id));
  if (updatedIds.length) await trx.raw('delete from legacy_evidence where record_id = any(?::bigint[])', [updatedIds]);
  const bySourceId = new Map(records.map((r) => [r.sourceId, r]));
  const evidence: Array<Record<string, unknown>> = [];
  for (const w of written) {
    for (const e of bySourceId.get(w.source_id)!.evidence) evidence.push({ record_id: w.id, kind: e.kind, value: e.value, verified: e.verified });
  }
  await copyRows(trx, 'legacy_evidence', { record_id: 'bigint', kind: 'text', value: 'text', verified: 'boolean' }, evidence);
  const inserted = written.length - updatedIds.length;
  return { inserted, updated: updatedIds.length };
}

const STAGE_COLUMNS = {
  source: 'text', source_id: 'text', payload: 'json', digest: 'text', normalised: 'json', credentialed: 'boolean', line: 'int', import_id: 'bigint',
} as const;
