import type { Knex } from 'knex';
import type { Db } from '../db/database.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { replayJournalBackwards } from './journal.ts';
import { emitEvent } from '../events/outbox.ts';
import { legacyIdsHeldBy } from './apply.ts';

export class UndoRefused extends Error {
  override name = 'UndoRefused';
}

/**
 * Undoes an applied run in one transaction: deletes what it created (its rows carry its
 * id), puts back what it changed (the journal, newest first), and revokes the sessions and
 * tokens of the accounts it created. Only the latest applied run can be undone: a later run
 * may stand on this one.
 */
export async function undoRun(db: Db, runId: number, actor: string): Promise<{ accountsRemoved: number; linksRemoved: number; changesReverted: number }> {
  return db.transaction(async (trx) => {
    const run = await trx('merge_runs').where({ id: runId }).forUpdate().first();
    if (!run) throw new UndoRefused(`there is no merge run ${runId}`);
    if (run.status !== 'applied' && run.status !== 'applying') throw new UndoRefused(`merge run ${runId} is ${run.status}: only an applied run can be undone`);
    const later = await trx('merge_runs').where('id', '>', runId).whereIn('status', ['applied', 'applying']).first('id');
    if (later) throw new UndoRefused(`merge run ${later.id} came after run ${runId}: undo it first`);

    const mergedAway = await mergedAwayBy(trx, runId);
    await emitUndoEvents(trx, runId);
    const created = trx('accounts').select('id').where({ merge_run_id: runId });
    await trx('oidc_models').whereIn('account_id', created).delete();
    const linksRemoved = await trx('record_links').where({ merge_run_id: runId }).delete();
    await trx('device_bindings').where({ merge_run_id: runId }).delete();
    await trx('devices').where({ merge_run_id: runId }).delete();
    await trx('credentials').where({ merge_run_id: runId }).delete();
    await trx('identifiers').where({ merge_run_id: runId }).delete();
    await trx('merge_conflicts').where({ merge_run_id: runId }).delete();
    const changesReverted = await replayJournalBackwards(trx, runId);
    // Now that the journal is back, each merged-away account holds its legacy ids again.
    for (const a of mergedAway) {
      await emitEvent(trx, { type: 'account.unmerged', accountId: a.survivor, data: { survivor_id: a.survivor, merged_away_id: a.id, legacy_ids: await legacyIdsHeldBy(trx, a.id), merge_run_id: runId } });
    }
    const accountsRemoved = await trx('accounts').where({ merge_run_id: runId }).delete();
    await trx('merge_plan_nodes').where({ merge_run_id: runId }).delete();
    await trx('merge_plan_clusters').where({ merge_run_id: runId }).delete();
    await trx('merge_runs').where({ id: runId }).update({ status: 'undone', updated_at: trx.fn.now() });
    const result = { accountsRemoved, linksRemoved, changesReverted };
    await recordAudit(trx, { actor, action: 'merge.run_undone', subject: `merge_run:${runId}`, detail: result });
    return result;
  });
}

/** The legacy ids of a run's links to one account, as events carry them. */
const LEGACY_IDS = `coalesce(jsonb_agg(jsonb_build_object('source', r.source, 'source_id', r.source_id) order by r.id)
  filter (where r.id is not null), '[]'::jsonb)`;

/** The accounts a run merged away (the journal kept their status) and where they point now. */
async function mergedAwayBy(trx: Knex.Transaction, runId: number): Promise<Array<{ id: string; survivor: string }>> {
  return trx('merge_run_journal as j').join('accounts as a', 'a.id', trx.raw("j.key->>'id'"))
    .where({ 'j.merge_run_id': runId, 'j.table_name': 'accounts', 'a.status': 'merged' }).whereRaw(`j.before->'columns' @> '["status"]'::jsonb`)
    .orderBy('j.seq').select('a.id', 'a.merged_into as survivor');
}

/**
 * What downstream systems must re-key when a run is undone, besides the accounts it merged
 * away (account.unmerged each, once the journal is put back): an account.unmerged for each
 * existing account the run gave legacy records, and an account.removed for each account it
 * created. Set-based: one statement per kind, however large the run.
 */
async function emitUndoEvents(trx: Knex.Transaction, runId: number): Promise<void> {
  await trx.raw(`insert into events (type, account_id, data)
    select 'account.unmerged', l.account_id, jsonb_build_object('survivor_id', l.account_id, 'merged_away_id', null, 'legacy_ids', ${LEGACY_IDS}, 'merge_run_id', ?::bigint)
    from record_links l join legacy_records r on r.id = l.record_id join accounts a on a.id = l.account_id
    where l.merge_run_id = ? and a.merge_run_id is distinct from ?
    group by l.account_id order by min(r.id)`, [runId, runId, runId]);
  await trx.raw(`insert into events (type, account_id, data)
    select 'account.removed', a.id, jsonb_build_object('reason', 'merge_run_undone', 'legacy_ids', ${LEGACY_IDS}, 'merge_run_id', ?::bigint)
    from accounts a left join record_links l on l.account_id = a.id and l.merge_run_id = ? left join legacy_records r on r.id = l.record_id
    where a.merge_run_id = ?
    group by a.id order by min(r.id)`, [runId, runId, runId]);
}
