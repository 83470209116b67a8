import type { Knex } from 'knex';

/**
 * What a merge run changes in place, written before the change, so that undo can put it
 * back exactly. Rows a run creates carry its id instead (undo deletes them).
 *
 * Journal entries: `{ op: 'update', columns }` keeps the columns' values before the update;
 * `{ op: 'delete' }` keeps the whole row, and this helper deletes it.
 */
type Key = Record<string, string | number>;

const where = (key: Key) => Object.keys(key).map((k) => `t.${k} = ?`).join(' and ');

export async function journalUpdate(trx: Knex.Transaction, runId: number, table: string, key: Key, columns: string[]): Promise<void> {
  await trx.raw(`insert into merge_run_journal (merge_run_id, table_name, key, before)
    select ?, ?, ?::jsonb, jsonb_build_object('op', 'update', 'columns', ?::jsonb, 'row', to_jsonb(t)) from ?? t where ${where(key)}`,
  [runId, table, JSON.stringify(key), JSON.stringify(columns), table, ...Object.values(key)]);
}

export async function journalDelete(trx: Knex.Transaction, runId: number, table: string, key: Key): Promise<void> {
  await trx.raw(`insert into merge_run_journal (merge_run_id, table_name, key, before)
    select ?, ?, ?::jsonb, jsonb_build_object('op', 'delete', 'row', to_jsonb(t)) from ?? t where ${where(key)}`,
  [runId, table, JSON.stringify(key), table, ...Object.values(key)]);
  await trx(table).where(key).delete();
}

/** Puts back, newest first, everything a run changed in place. */
export async function replayJournalBackwards(trx: Knex.Transaction, runId: number): Promise<number> {
  const entries = await trx('merge_run_journal').where({ merge_run_id: runId }).orderBy('seq', 'desc');
  for (const e of entries as Array<{ table_name: string; key: Key; before: { op: string; columns?: string[]; row: object } }>) {
    if (e.before.op === 'delete') {
      await trx.raw(`insert into ?? overriding system value select * from jsonb_populate_record(null::??, ?::jsonb)`,
        [e.table_name, e.table_name, JSON.stringify(e.before.row)]);
    } else {
      const sets = e.before.columns!.map((c) => `${c} = r.${c}`).join(', ');
      await trx.raw(`update ?? as t set ${sets} from jsonb_populate_record(null::??, ?::jsonb) r where ${where(e.key)}`,
        [e.table_name, e.table_name, JSON.stringify(e.before.row), ...Object.values(e.key)]);
    }
  }
  await trx('merge_run_journal').where({ merge_run_id: runId }).delete();
  return entries.length;
}
