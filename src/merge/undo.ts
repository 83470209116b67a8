import type { Db } from '../db/database.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { replayJournalBackwards } from './journal.ts';

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

    const created = trx('accounts').select('id').where({ merge_run_id: runId });
    await trx('oidc_models').whereIn('account_id', created).delete();
    const linksRemoved = await trx('record_links').where({ merge_run_id: runId }).delete();
    await trx('device_bindings').where({ merge_run_id: runId }).delete();
    await trx('devices').where({ merge_run_id: runId }).delete();
    await trx('credentials').where({ merge_run_id: runId }).delete();
    await trx('identifiers').where({ merge_run_id: runId }).delete();
    await trx('merge_conflicts').where({ merge_run_id: runId }).delete();
    const changesReverted = await replayJournalBackwards(trx, runId);
    const accountsRemoved = await trx('accounts').where({ merge_run_id: runId }).delete();
    await trx('merge_plan_nodes').where({ merge_run_id: runId }).delete();
    await trx('merge_plan_clusters').where({ merge_run_id: runId }).delete();
    await trx('merge_runs').where({ id: runId }).update({ status: 'undone', updated_at: trx.fn.now() });
    const result = { accountsRemoved, linksRemoved, changesReverted };
    await recordAudit(trx, { actor, action: 'merge.run_undone', subject: `merge_run:${runId}`, detail: result });
    return result;
  });
}
