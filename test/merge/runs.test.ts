import { mkdtempSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { importLegacyFile } from '../../src/merge/import.ts';
import { startRun, continueRun, savePlan, startSavedRun, FingerprintMismatch, type ApplyOptions } from '../../src/merge/apply.ts';
import { undoRun, UndoRefused } from '../../src/merge/undo.ts';
import { explainAccount, findAccounts } from '../../src/merge/explain.ts';
import { exportLegacyMap } from '../../src/merge/map-export.ts';
import { listConflicts, listDecisions, resolveConflict, BadResolution } from '../../src/merge/conflicts.ts';
import { createIdentityService } from '../../src/identity/identity.service.ts';
import { createPasswordHasher } from '../../src/identity/passwords.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Db } from '../../src/db/database.ts';
import { createTestDatabase } from '../support/database.ts';
import { SAMPLE_FILES } from './samples.ts';

const config = loadConfig({});
const options: ApplyOptions = {
  maxRecordsPerValue: config.merge.maxRecordsPerValue, sourcePriority: config.merge.sourcePriority, batchSize: 5, workers: 2, actor: 'test',
};
const placeholders = { phone: new Set(config.merge.placeholders.phone), email: new Set(config.merge.placeholders.email) };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'chucs-runs-'));
const source = (name: string) => SAMPLE_FILES.find(([s]) => s.name === name)!;

async function importSource(db: Db, name: string) {
  const [s, file] = source(name);
  return importLegacyFile({ db, source: s, file, rejectsFile: path.join(tmp, `${name}.csv`), placeholders, actor: 'test' });
}
async function importAll(db: Db) { for (const [s] of SAMPLE_FILES) await importSource(db, s.name); }
async function applyAll(db: Db) {
  const { runId } = await startRun(db, options);
  await continueRun(db, runId, options);
  return runId;
}

/** Every table a run touches, ids and timestamps included: "exactly" means exactly. */
async function snapshot(db: Db) {
  const tables = ['accounts', 'identifiers', 'credentials', 'devices', 'device_bindings', 'record_links', 'external_identities', 'merge_conflicts'];
  const out: Record<string, unknown[]> = {};
  for (const t of tables) out[t] = await db(t).select('*').orderByRaw('1, 2');
  return JSON.parse(JSON.stringify(out));
}

/** The people the merge made, independent of the random account ids. */
async function partition(db: Db) {
  const rows = await db('record_links as l').join('legacy_records as r', 'r.id', 'l.record_id').join('accounts as a', 'a.id', 'l.account_id')
    .select(db.raw('coalesce(a.merged_into, a.id) as account'), 'r.source', 'r.source_id', 'l.rule');
  const byAccount = new Map<string, string[]>();
  for (const r of rows) byAccount.set(r.account, [...(byAccount.get(r.account) ?? []), `${r.source}:${r.source_id}:${r.rule}`]);
  const ids = await db('identifiers').select('account_id', 'kind', 'value', 'verified');
  return [...byAccount].map(([account, recs]) => ({
    records: recs.sort(),
    identifiers: ids.filter((i: { account_id: string }) => i.account_id === account).map((i: { kind: string; value: string; verified: boolean }) => `${i.kind}:${i.value}:${i.verified}`).sort(),
  })).sort((a, b) => a.records[0]!.localeCompare(b.records[0]!));
}

test('a run interrupted after any batch and started again ends exactly where an uninterrupted run ends', async () => {
  const straight = await createTestDatabase();
  await importAll(straight.db);
  await applyAll(straight.db);
  const expected = await partition(straight.db);
  await straight.drop();

  for (const stopAfter of [1, 4]) {
    const interrupted = await createTestDatabase();
    await importAll(interrupted.db);
    const { runId } = await startRun(interrupted.db, options);
    let batches = 0;
    await expect(continueRun(interrupted.db, runId, { ...options, onProgress: () => { if (++batches === stopAfter) throw new Error('killed'); } }))
      .rejects.toThrow('killed');
    const run = await interrupted.db('merge_runs').where({ id: runId }).first();
    expect(run.status).toBe('applying');
    await continueRun(interrupted.db, runId, options); // what "chucs merge apply" does with an unfinished run
    expect(await partition(interrupted.db)).toEqual(expected);
    await interrupted.drop();
  }
});

test('a stored plan is applied as it was reviewed; a newer plan never discards the plan of a run being applied', async () => {
  const straight = await createTestDatabase();
  await importAll(straight.db);
  await applyAll(straight.db);
  const expected = await partition(straight.db);
  await straight.drop();

  const { db, drop } = await createTestDatabase();
  try {
    await importAll(db);
    const reviewed = await savePlan(db, options);
    const started = await startSavedRun(db, { ...options, expectFingerprint: reviewed.report.fingerprint });
    expect(started).toEqual({ runId: reviewed.planId, report: reviewed.report });
    const newer = await savePlan(db, options); // planned while the run is applying
    expect(newer.planId).toBeGreaterThan(reviewed.planId);
    await continueRun(db, reviewed.planId, options);
    expect(await partition(db)).toEqual(expected);
    // The newer plan was made before the run was applied: applying it now would be stale.
    expect(await startSavedRun(db, { ...options, expectFingerprint: newer.report.fingerprint })).toEqual({ stale: newer.planId });
  } finally {
    await drop();
  }
});

test('a newer plan replaces one never applied; a stored plan whose data changed is planned again, and refused if the plan differs', async () => {
  const { db, drop } = await createTestDatabase();
  try {
    await importAll(db);
    await applyAll(db);
    const older = await savePlan(db, options);
    const reviewed = await savePlan(db, options);
    expect((await db('merge_runs').where({ status: 'planned' }).pluck('id')).map(Number)).toEqual([reviewed.planId]);
    expect(older.planId).toBeLessThan(reviewed.planId);
    const [conflict] = await listConflicts(db);
    await resolveConflict(db, { conflictId: conflict!.id, kind: 'join', groups: [], actor: 'cli:ops', note: 'same person' });
    expect(await startSavedRun(db, { ...options, expectFingerprint: reviewed.report.fingerprint })).toEqual({ stale: reviewed.planId });
    const before = await snapshot(db);
    await expect(startRun(db, { ...options, expectFingerprint: reviewed.report.fingerprint })).rejects.toThrow(FingerprintMismatch);
    expect(await snapshot(db)).toEqual(before);
  } finally {
    await drop();
  }
});

test('two appliers of one run, with different batch sizes, never apply a cluster twice', async () => {
  const straight = await createTestDatabase();
  await importAll(straight.db);
  const straightRun = await applyAll(straight.db);
  const expected = { partition: await partition(straight.db), counts: (await straight.db('merge_runs').where({ id: straightRun }).first('counts')).counts };
  const expectedConflicts = Number((await straight.db('merge_conflicts').count({ n: '*' }).first())!.n);
  await straight.drop();

  const twice = await createTestDatabase();
  await importAll(twice.db);
  const { runId } = await startRun(twice.db, options);
  await Promise.allSettled([continueRun(twice.db, runId, { ...options, batchSize: 3 }), continueRun(twice.db, runId, { ...options, batchSize: 7 })]);
  const run = await twice.db('merge_runs').where({ id: runId }).first('status');
  if (run.status === 'applying') await continueRun(twice.db, runId, options);
  expect(await partition(twice.db)).toEqual(expected.partition);
  expect((await twice.db('merge_runs').where({ id: runId }).first('counts', 'status'))).toEqual({ status: 'applied', counts: expected.counts });
  expect(Number((await twice.db('merge_conflicts').count({ n: '*' }).first())!.n)).toBe(expectedConflicts);
  await twice.drop();
});

test('incremental: a source imported later extends and merges existing accounts, whose sub survives; undo restores the state exactly', async () => {
  const { db, drop } = await createTestDatabase();
  try {
    await importSource(db, 'cloud');
    const first = await applyAll(db);
    const [cloudAccount] = await findAccounts(db, '+8618537393548'); // cloud:u_2f0eeed1
    // Someone signed up natively with the number mall:100024 verified (before the mall import).
    const identity = createIdentityService({ db, hasher: createPasswordHasher(config.argon2) });
    const native = await identity.createAccount({ identifiers: [{ kind: 'phone', value: '+8615789430378', verified: true, source: 'signup' }], actor: 'test' });
    const before = await snapshot(db);

    await importSource(db, 'mall');
    const second = await applyAll(db);
    // mall:100024 carries u_2f0eeed1's WeChat unionid and the native account's phone: one person.
    const survivor = await db('accounts').where({ id: native.id }).first();
    expect(survivor.status).toBe('merged');
    expect(survivor.merged_into).toBe(cloudAccount); // the older account's sub wins
    expect(await findAccounts(db, native.id)).toEqual([cloudAccount]); // the merged-away sub resolves
    const explained = (await explainAccount(db, cloudAccount!))!;
    expect(explained.mergedAway).toEqual([native.id]);
    expect(explained.records.map((r) => `${r.ref}:${r.rule}:${r.run}`)).toEqual(['cloud:u_2f0eeed1:seed:' + first, 'mall:100024:strong:' + second]);
    expect(explained.identifiers).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'phone', value: '+8615789430378', verified: true })]));

    await expect(undoRun(db, first, 'test')).rejects.toBeInstanceOf(UndoRefused); // the later run first
    await undoRun(db, second, 'test');
    expect(await snapshot(db)).toEqual(before);
  } finally {
    await drop();
  }
});

test('the legacy-id map has every record, merged-away accounts written as their survivor', async () => {
  const { db, drop } = await createTestDatabase();
  try {
    await importAll(db);
    await applyAll(db);
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => { text += d; });
    const rows = await exportLegacyMap(db, out);
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('source,source_id,account_id');
    expect(rows).toBe(88);
    expect(lines).toHaveLength(89);
    const held = lines.filter((l) => l.endsWith(','));
    expect(held.map((l) => l.split(',').slice(0, 2).join(':')).sort()).toEqual(['cloud:u_4f87f6de', 'cloud:u_8a83282a', 'mall:100017']);
  } finally {
    await drop();
  }
});

test('an operator splits a held cluster; the next run follows the decision, and it is in the audit log', async () => {
  const { db, drop } = await createTestDatabase();
  try {
    await importAll(db);
    await applyAll(db);
    const [conflict] = await listConflicts(db);
    expect(conflict!.records.sort()).toEqual(['cloud:u_4f87f6de', 'cloud:u_8a83282a', 'mall:100017']);
    await expect(resolveConflict(db, { conflictId: conflict!.id, kind: 'split', groups: [['cloud:u_8a83282a']], actor: 'cli:ops' }))
      .rejects.toThrow(/missing: /);
    await expect(resolveConflict(db, { conflictId: conflict!.id, kind: 'split', groups: [['cloud:u_8a83282a', 'mall:100017'], ['cloud:u_4f87f6de', 'mall:100017']], actor: 'cli:ops' }))
      .rejects.toThrow(new BadResolution('a record is in two groups: mall:100017'));
    await resolveConflict(db, { conflictId: conflict!.id, kind: 'split', groups: [['cloud:u_8a83282a'], ['cloud:u_4f87f6de', 'mall:100017']], actor: 'cli:ops', note: 'number recycled in 2019' });
    expect(await listConflicts(db)).toEqual([]);
    expect(await listDecisions(db)).toEqual([{
      id: expect.any(Number), kind: 'split', groups: [['cloud:u_8a83282a'], ['cloud:u_4f87f6de', 'mall:100017']], conflict: conflict!.id,
      actor: 'cli:ops', note: 'number recycled in 2019', at: expect.any(String),
    }]);
    const [resolved] = await listConflicts(db, { all: true });
    expect(resolved!.decision).toEqual({
      kind: 'split', groups: [['cloud:u_8a83282a'], ['cloud:u_4f87f6de', 'mall:100017']], actor: 'cli:ops', note: 'number recycled in 2019', at: expect.any(String),
    });
    await applyAll(db);
    const links = await db('record_links as l').join('legacy_records as r', 'r.id', 'l.record_id')
      .whereIn('r.source_id', ['u_8a83282a', 'u_4f87f6de', '100017']).select('r.source_id', 'l.account_id', 'l.rule');
    const byId = Object.fromEntries(links.map((l: { source_id: string; account_id: string }) => [l.source_id, l.account_id]));
    expect(byId.u_4f87f6de).toBe(byId['100017']);
    expect(byId.u_8a83282a).not.toBe(byId['100017']);
    const audit = await db('audit_log').where({ action: 'merge.conflict_split' }).first();
    expect(audit).toMatchObject({ actor: 'cli:ops', subject: `merge_conflict:${conflict!.id}` });
  } finally {
    await drop();
  }
});

test('a run holds a still-contradictory cluster again: one open conflict, and undo brings the earlier one back', async () => {
  const { db, drop } = await createTestDatabase();
  try {
    await importAll(db);
    await applyAll(db);
    const [first] = await listConflicts(db);
    const second = await applyAll(db);
    const open = await listConflicts(db);
    expect(open).toHaveLength(1);
    expect(open[0]!.run).toBe(second);
    expect(open[0]!.records.sort()).toEqual(first!.records.sort());
    await undoRun(db, second, 'test');
    expect((await listConflicts(db)).map((c) => c.id)).toEqual([first!.id]);
  } finally {
    await drop();
  }
});
