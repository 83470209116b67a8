import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importLegacyFile } from '../../src/merge/import.ts';
import { startRun, continueRun, type ApplyOptions } from '../../src/merge/apply.ts';
import { undoRun } from '../../src/merge/undo.ts';
import { findAccounts } from '../../src/merge/explain.ts';
import { createIdentityService } from '../../src/identity/identity.service.ts';
import { createPasswordHasher } from '../../src/identity/passwords.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Db } from '../../src/db/database.ts';
import { createTestDatabase } from '../support/database.ts';
import { SAMPLE_FILES } from '../merge/samples.ts';

/**
 * The merge engine's events, in the transactions of its batches: every account a run creates
 * (with the legacy ids it holds), every account it merges away (survivor, merged-away id and
 * legacy ids) and, when the run is undone, the unmerges and removals that reverse them.
 */

const config = loadConfig({});
const options: ApplyOptions = {
  maxRecordsPerValue: config.merge.maxRecordsPerValue, sourcePriority: config.merge.sourcePriority, batchSize: 5, actor: 'test',
};
const placeholders = { phone: new Set(config.merge.placeholders.phone), email: new Set(config.merge.placeholders.email) };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'chucs-merge-events-'));

async function importSource(db: Db, name: string) {
  const [s, file] = SAMPLE_FILES.find(([x]) => x.name === name)!;
  return importLegacyFile({ db, source: s, file, rejectsFile: path.join(tmp, `${name}.csv`), placeholders, actor: 'test' });
}
async function applyAll(db: Db) {
  const { runId } = await startRun(db, options);
  return { runId, counts: await continueRun(db, runId, options) };
}
type Ev = { id: number; type: string; account_id: string; data: { survivor_id?: string; merged_away_id?: string | null; merge_run_id?: number; legacy_ids?: Array<{ source: string; source_id: string }> } };
const eventsAfter = async (db: Db, after: number): Promise<Ev[]> => db('events').where('id', '>', after).orderBy('id').select('id', 'type', 'account_id', 'data');
const lastId = async (db: Db) => Number((await db('events').max({ m: 'id' }).first())?.m ?? 0);
const ids = (legacy: Array<{ source: string; source_id: string }> = []) => legacy.map((l) => `${l.source}:${l.source_id}`).sort();

test('a run: account.created per new account with its legacy ids, account.merged per account merged away; undo reverses each', async () => {
  const { db, drop } = await createTestDatabase();
  try {
    await importSource(db, 'cloud');
    const first = await applyAll(db);
    const created = await eventsAfter(db, 0);
    expect(created.map((e) => e.type)).toEqual(created.map(() => 'account.created'));
    expect(created).toHaveLength(first.counts.accountsCreated);
    // Every linked cloud record is named by exactly one event, on the account it belongs to.
    const links = await db('record_links as l').join('legacy_records as r', 'r.id', 'l.record_id').select('l.account_id', 'r.source', 'r.source_id');
    expect(created.flatMap((e) => ids(e.data.legacy_ids).map((l) => `${e.account_id}=${l}`)).sort())
      .toEqual(links.map((l: { account_id: string; source: string; source_id: string }) => `${l.account_id}=${l.source}:${l.source_id}`).sort());
    expect(created[0]!.data).toMatchObject({ via: 'merge', merge_run_id: first.runId, status: expect.stringMatching(/^(active|locked)$/) });

    // Someone signed up with the phone of mall:100024, which also carries cloud:u_2f0eeed1's WeChat unionid.
    const [cloudAccount] = await findAccounts(db, '+8618537393548');
    const identity = createIdentityService({ db, hasher: createPasswordHasher({ memoryKib: 1024, timeCost: 1, parallelism: 1 }) });
    const native = await identity.createAccount({ identifiers: [{ kind: 'phone', value: '+8615789430378', verified: true, source: 'signup' }], actor: 'signup' });
    await importSource(db, 'mall');
    const beforeSecond = await lastId(db);
    const second = await applyAll(db);
    const events = await eventsAfter(db, beforeSecond);
    const merged = events.filter((e) => e.type === 'account.merged');
    expect(merged.filter((e) => e.data.merged_away_id !== null)).toEqual([{
      id: expect.any(Number), type: 'account.merged', account_id: cloudAccount,
      data: { survivor_id: cloudAccount, merged_away_id: native.id, legacy_ids: [], merge_run_id: second.runId },
    }]);
    // mall:100024 joined the surviving account: a merge of a legacy record, nothing merged away.
    expect(merged.filter((e) => e.account_id === cloudAccount && e.data.merged_away_id === null).flatMap((e) => ids(e.data.legacy_ids))).toEqual(['mall:100024']);
    expect(events.filter((e) => e.type === 'account.created')).toHaveLength(second.counts.accountsCreated);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(['account.created', 'account.merged']));

    const beforeUndo = await lastId(db);
    await undoRun(db, second.runId, 'test');
    const undone = await eventsAfter(db, beforeUndo);
    expect(undone.filter((e) => e.type === 'account.unmerged' && e.data.merged_away_id !== null)).toEqual([{
      id: expect.any(Number), type: 'account.unmerged', account_id: cloudAccount,
      data: { survivor_id: cloudAccount, merged_away_id: native.id, legacy_ids: [], merge_run_id: second.runId },
    }]);
    // Each legacy merge and each created account of the run is reversed by one event naming the same ids.
    const reversedMerges = undone.filter((e) => e.type === 'account.unmerged' && e.data.merged_away_id === null);
    expect(reversedMerges.map((e) => `${e.account_id}:${ids(e.data.legacy_ids)}`).sort())
      .toEqual(merged.filter((e) => e.data.merged_away_id === null).map((e) => `${e.account_id}:${ids(e.data.legacy_ids)}`).sort());
    const removed = undone.filter((e) => e.type === 'account.removed');
    expect(removed.map((e) => `${e.account_id}:${ids(e.data.legacy_ids)}`).sort())
      .toEqual(events.filter((e) => e.type === 'account.created').map((e) => `${e.account_id}:${ids(e.data.legacy_ids)}`).sort());
    expect(removed[0]!.data).toMatchObject({ reason: 'merge_run_undone', merge_run_id: second.runId });
  } finally {
    await drop();
  }
});

test('resuming an interrupted run does not repeat the events of the batches it had applied', async () => {
  const { db, drop } = await createTestDatabase();
  try {
    for (const [s] of SAMPLE_FILES) await importSource(db, s.name);
    const { runId } = await startRun(db, options);
    let batches = 0;
    await expect(continueRun(db, runId, { ...options, onProgress: () => { if (++batches === 2) throw new Error('killed'); } })).rejects.toThrow('killed');
    await continueRun(db, runId, options);
    const created = await db('events').where({ type: 'account.created' }).select('account_id');
    const accounts = await db('accounts').where({ merge_run_id: runId }).select('id');
    expect(created.map((e: { account_id: string }) => e.account_id).sort()).toEqual(accounts.map((a: { id: string }) => a.id).sort());
  } finally {
    await drop();
  }
});

test("merging away an account that holds legacy ids names them; undoing the run gives them back to it", async () => {
  const { db, drop } = await createTestDatabase();
  try {
    for (const name of ['crm', 'bbs', 'cloud']) {
      await importSource(db, name);
      await applyAll(db);
    }
    // cloud:u_b68c914b got an account of its own; a mall record shows it is someone who already had one.
    const loser = (await db('record_links as l').join('legacy_records as r', 'r.id', 'l.record_id').where({ 'r.source': 'cloud', 'r.source_id': 'u_b68c914b' }).first('l.account_id')).account_id;
    await importSource(db, 'mall');
    const before = await lastId(db);
    const { runId } = await applyAll(db);
    const survivor = (await db('accounts').where({ id: loser }).first()).merged_into;
    expect(survivor).toEqual(expect.any(String));
    const [merged, ...more] = (await eventsAfter(db, before)).filter((e) => e.type === 'account.merged' && e.data.merged_away_id !== null);
    expect(more).toEqual([]);
    expect(merged).toMatchObject({ account_id: survivor, data: { survivor_id: survivor, merged_away_id: loser, legacy_ids: [{ source: 'cloud', source_id: 'u_b68c914b' }], merge_run_id: runId } });

    const beforeUndo = await lastId(db);
    await undoRun(db, runId, 'test');
    const unmerged = (await eventsAfter(db, beforeUndo)).filter((e) => e.type === 'account.unmerged' && e.data.merged_away_id !== null);
    expect(unmerged).toEqual([{ ...merged!, id: expect.any(Number), type: 'account.unmerged' }]);
  } finally {
    await drop();
  }
});
