import type { Knex } from 'knex';
import { newAccountId } from '../identity/accounts.repo.ts';
import { isEmbedded, type Db, type DbOrTx } from '../db/database.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { computePlan, planInputsDigest, STRONG_KINDS, type PlanReport } from './plan.ts';
import { survive, type SurvivorRecord } from './survivorship.ts';
import { journalUpdate, journalDelete } from './journal.ts';
import { copyRows, insertColumns } from './bulk-insert.ts';
import { ASYNC_COMMIT } from './async-commit.ts';
import { emitEvent, emitEvents, type NewEvent } from '../events/outbox.ts';
import type { Evidence, LegacyDevice, LegacyProfile } from './record.ts';
import type { LegacyHash } from '../identity/legacy-hashers.ts';

/**
 * Applying a plan as a numbered merge run (states below). The plan is stored with the run:
 * either by `merge plan` (status planned) and applied later while nothing it read has
 * changed, or computed and stored as the run starts. Then clusters are applied in batches,
 * each batch one transaction that also records its clusters in the checkpoint, so a run
 * killed at any point and started again ends exactly where an uninterrupted run ends.
 *
 * | status   | means                                      | next                 |
 * |----------|--------------------------------------------|----------------------|
 * | planned  | a plan stored by `merge plan`, not applied | applying, or deleted |
 * |          | (a newer plan or a run discards it)        |                      |
 * | applying | plan stored, the checkpoint's batches done | applied (or resumed) |
 * | applied  | every cluster applied                      | undoing (latest run) |
 * | undoing  | being undone (one transaction)             | undone               |
 * | undone   | the state before the run is back           |                      |
 */

export interface ApplyOptions {
  maxRecordsPerValue: number;
  sourcePriority: readonly string[];
  batchSize: number;
  /** Batches written at once on PostgreSQL, each on a connection of its own (PGlite: one). */
  workers?: number;
  actor: string;
  /** Refuse to apply unless the plan is still the one the operator reviewed. */
  expectFingerprint?: string;
  /** Shown the plan before anything is written; a false answer applies nothing. */
  confirm?: (report: PlanReport) => Promise<boolean>;
  onPlanStep?: (step: string) => void;
  onProgress?: (done: number, total: number) => void;
  /** Told after each committed batch (metrics). */
  onBatch?: (batch: { runId: number; clusters: number; records: number; appliedClusters: number; totalClusters: number }) => void;
}

export interface RunSummary { runId: number; report: PlanReport; resumed: boolean; counts: RunCounts }
export interface RunCounts { accountsCreated: number; accountsExtended: number; accountsMerged: number; held: number; links: number; identifiers: number; credentials: number; bindings: number }

export class FingerprintMismatch extends Error {
  override name = 'FingerprintMismatch';
}

export class NotConfirmed extends Error {
  override name = 'NotConfirmed';
}

/** Planning and finishing a run take this lock alone; batches share it (so none runs while a run is planned). */
const APPLY_LOCK = 7_402_193;

export async function unfinishedRun(db: Db): Promise<{ id: number; fingerprint: string } | undefined> {
  return db('merge_runs').where({ status: 'applying' }).orderBy('id').first('id', 'fingerprint');
}

/**
 * Plans and stores the plan as a run in status planned (what `chucs merge plan` does):
 * nothing but the plan is written, and `startSavedRun` applies exactly it later while
 * nothing it read has changed. A newer plan replaces older ones that were never applied.
 */
export async function savePlan(db: Db, o: Pick<ApplyOptions, 'maxRecordsPerValue' | 'actor' | 'onPlanStep'>): Promise<{ planId: number; report: PlanReport }> {
  // One snapshot for the digest and the plan: the plan is of exactly the state the digest
  // sums up. The lock keeps a run from starting (or a batch from committing) meanwhile.
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [APPLY_LOCK]);
    const inputs = await planInputsDigest(trx, o);
    const report = await computePlan(trx, { maxRecordsPerValue: o.maxRecordsPerValue, onProgress: o.onPlanStep });
    o.onPlanStep?.('storing the plan');
    await discardSavedPlans(trx);
    const [{ id: planId }] = await trx('merge_runs').insert({
      status: 'planned', fingerprint: report.fingerprint, report, created_by: o.actor,
      plan: { maxRecordsPerValue: o.maxRecordsPerValue, overshared: await oversharedValues(trx), inputs },
    }).returning('id');
    await storePlanRows(trx, Number(planId));
    return { planId: Number(planId), report };
  }, { isolationLevel: 'repeatable read' });
}

export type SavedRunStart = { runId: number; report: PlanReport } | { stale: number } | undefined;

/**
 * Starts a run from the stored plan with the expected fingerprint, without planning again,
 * if nothing the plan read has changed since. Returns `{ stale }` when it has (plan again),
 * and undefined when no such plan is stored.
 */
export async function startSavedRun(db: Db, o: ApplyOptions & { expectFingerprint: string }): Promise<SavedRunStart> {
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [APPLY_LOCK]);
    const saved = await trx('merge_runs').where({ status: 'planned', fingerprint: o.expectFingerprint }).orderBy('id', 'desc').forUpdate().first('id', 'plan', 'report');
    if (!saved) return undefined;
    const runId = Number(saved.id);
    if (saved.plan.maxRecordsPerValue !== o.maxRecordsPerValue || saved.plan.inputs !== await planInputsDigest(trx, o)) return { stale: runId };
    const report = saved.report as PlanReport;
    if (o.confirm && !(await o.confirm(report))) throw new NotConfirmed('not applied: the plan was not confirmed (type yes on a terminal, pass --yes, or name the plan you reviewed with --expect <fingerprint>)');
    await discardSavedPlans(trx, runId);
    const started = await trx('merge_runs').where({ id: runId, status: 'planned' }).update({
      status: 'applying', created_by: o.actor, checkpoint: { cluster: 0 }, updated_at: trx.fn.now(),
      plan: { ...saved.plan, sourcePriority: o.sourcePriority },
    });
    if (started !== 1) throw new Error(`plan ${runId} was discarded meanwhile: plan again`);
    await beginRun(trx, runId, report, o.actor);
    return { runId, report };
  });
}

/** Plans and starts a new run (status applying) in one transaction; nothing else is written yet. */
export async function startRun(db: Db, o: ApplyOptions): Promise<{ runId: number; report: PlanReport }> {
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [APPLY_LOCK]);
    const report = await computePlan(trx, { maxRecordsPerValue: o.maxRecordsPerValue, onProgress: o.onPlanStep });
    if (o.expectFingerprint && o.expectFingerprint !== report.fingerprint) {
      throw new FingerprintMismatch(`the plan changed since it was reviewed (fingerprint ${report.fingerprint}, expected ${o.expectFingerprint}): plan again`);
    }
    if (o.confirm && !(await o.confirm(report))) throw new NotConfirmed('not applied: the plan was not confirmed (type yes on a terminal, pass --yes, or name the plan you reviewed with --expect <fingerprint>)');
    await discardSavedPlans(trx);
    const [{ id }] = await trx('merge_runs').insert({
      status: 'applying', fingerprint: report.fingerprint, report, created_by: o.actor,
      plan: { maxRecordsPerValue: o.maxRecordsPerValue, sourcePriority: o.sourcePriority, overshared: await oversharedValues(trx) }, checkpoint: { cluster: 0 },
    }).returning('id');
    const runId = Number(id);
    await storePlanRows(trx, runId);
    await beginRun(trx, runId, report, o.actor);
    return { runId, report };
  });
}

/** Values too widely shared to be anyone's (from the plan's temporary tables): never evidence, never identifiers. */
async function oversharedValues(trx: Knex.Transaction): Promise<Array<[string, string]>> {
  return (await trx('plan_overshared').select('kind', 'value')).map((v: { kind: string; value: string }) => [v.kind, v.value]);
}

/**
 * Keeps the plan in the run (from the plan's temporary tables): the clusters with work to do
 * and their nodes, written in key order so that their indexes grow at their end.
 */
async function storePlanRows(trx: Knex.Transaction, runId: number) {
  await trx.raw(`insert into merge_plan_nodes (merge_run_id, node, cluster, record_id, account_id, linked_to, weak)
    select ?, p.node, p.cluster, p.record_id, p.account_id, p.linked_to, p.weak
    from plan_nodes p join plan_clusters c on c.cluster = p.cluster where c.action <> 'none'
    order by p.cluster, p.node`, [runId]);
  await trx.raw(`insert into merge_plan_clusters (merge_run_id, cluster, action, accounts, records, new_records, reasons)
    select ?, cluster, action, accounts, records, new_records, reasons from plan_clusters where action <> 'none' order by cluster`, [runId]);
}

/** Stored plans never applied (all, or all but one): a run makes them stale. */
async function discardSavedPlans(trx: Knex.Transaction, keep = 0) {
  const planned = trx('merge_runs').where({ status: 'planned' }).whereNot({ id: keep }).select('id');
  await trx('merge_plan_nodes').whereIn('merge_run_id', planned.clone()).delete();
  await trx('merge_plan_clusters').whereIn('merge_run_id', planned.clone()).delete();
  await trx('merge_runs').whereIn('id', planned.clone()).delete();
}

/** A run starts: it holds again whatever is still contradictory, so earlier open conflicts give way. */
async function beginRun(trx: Knex.Transaction, runId: number, report: PlanReport, actor: string) {
  for (const { id } of await trx('merge_conflicts').where({ status: 'open' }).select('id')) {
    await journalUpdate(trx, runId, 'merge_conflicts', { id }, ['status']);
  }
  await trx('merge_conflicts').where({ status: 'open' }).update({ status: 'superseded' });
  await recordAudit(trx, { actor, action: 'merge.run_started', subject: `merge_run:${runId}`, detail: { fingerprint: report.fingerprint, accounts: report.accounts } });
}

/**
 * Which clusters of a run are applied: every cluster up to `cluster`, and those in each
 * `done` range (after, last]. Batches commit in any order when several are written at once,
 * so a run stopped at any point has applied some ranges, not always a prefix.
 */
interface Checkpoint { cluster?: number; done?: Array<[number, number]> }

/** The checkpoint as ranges (after, last] of applied clusters; they never overlap. */
function appliedRanges(checkpoint: Checkpoint | null | undefined): Array<[number, number]> {
  return [[0, Number(checkpoint?.cluster ?? 0)], ...(checkpoint?.done ?? []).map(([a, b]) => [Number(a), Number(b)] as [number, number])];
}

const COUNT_KEYS = ['accountsCreated', 'accountsExtended', 'accountsMerged', 'held', 'links', 'identifiers', 'credentials', 'bindings'] as const;
const noCounts = () => Object.fromEntries(COUNT_KEYS.map((k) => [k, 0])) as unknown as RunCounts;

/**
 * Applies the stored plan of a run from its checkpoint to the end. On PostgreSQL several
 * batches are written at once, each on its own connection in its own transaction (the
 * server works on each with a backend of its own): the clusters of a plan share no
 * verified value, no account and no record, so their batches are independent. Each batch
 * records its range and its counts in the run as it commits; a batch whose range overlaps
 * one recorded already is refused, so two appliers of one run never both apply a cluster.
 */
export async function continueRun(db: Db, runId: number, o: ApplyOptions): Promise<RunCounts> {
  const run = await db('merge_runs').where({ id: runId }).first();
  if (!run || run.status !== 'applying') throw new Error(`merge run ${runId} is not being applied (status ${run?.status ?? 'missing'})`);
  const total = Number((await db('merge_plan_clusters').where({ merge_run_id: runId }).count({ n: '*' }).first())?.n ?? 0);
  const overshared = new Set<string>((run.plan?.overshared ?? []).map(([kind, value]: [string, string]) => `${kind}\u0000${value}`));
  const alreadyApplied = appliedRanges(run.checkpoint);
  let applied = await coveredClusters(db, runId, alreadyApplied);

  const batches = pendingBatches(db, runId, alreadyApplied, o.batchSize);
  // PGlite has one connection: one batch at a time there.
  const workers = isEmbedded(db) ? 1 : o.workers ?? 1;
  let failed = false;
  const work = async () => {
    for (;;) {
      if (failed) return;
      const { value: loaded, done } = await batches.next();
      if (done || failed) return;
      const delta = noCounts();
      await db.transaction(async (trx) => {
        await trx.raw('select pg_advisory_xact_lock_shared(?)', [APPLY_LOCK]);
        await trx.raw(ASYNC_COMMIT);
        await applyBatch(trx, runId, loaded, overshared, o, delta);
        await claimBatch(trx, runId, [loaded.after, loaded.lastCluster], delta);
      });
      applied += loaded.clusters.length;
      o.onBatch?.({ runId, clusters: loaded.clusters.length, records: loaded.clusters.reduce((n, c) => n + c.records, 0), appliedClusters: applied, totalClusters: total });
      o.onProgress?.(applied, total);
    }
  };
  const results = await Promise.allSettled(Array.from({ length: workers }, () => work().catch((err) => { failed = true; throw err; })));
  const error = results.find((r) => r.status === 'rejected');
  if (error) {
    await batches.return(undefined);
    throw (error as PromiseRejectedResult).reason;
  }

  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(?)', [APPLY_LOCK]);
    const current = await trx('merge_runs').where({ id: runId }).first('status', 'counts', 'checkpoint');
    if (current.status !== 'applying') throw new Error(`merge run ${runId} is being applied elsewhere`);
    const covered = await coveredClusters(trx, runId, appliedRanges(current.checkpoint));
    if (covered !== total) throw new Error(`merge run ${runId}: ${covered} of ${total} clusters applied; run merge apply again to finish it`);
    const counts: RunCounts = { ...noCounts(), ...current.counts };
    await trx('merge_runs').where({ id: runId }).update({ status: 'applied', finished_at: trx.fn.now(), updated_at: trx.fn.now() });
    await recordAudit(trx, { actor: o.actor, action: 'merge.run_applied', subject: `merge_run:${runId}`, detail: { ...counts } });
    o.onProgress?.(total, total);
    return counts;
  });
}

/**
 * Records a batch as applied, in its transaction: its range joins the checkpoint and its
 * counts are added to the run's (computed from the row as it is when this update runs, so
 * batches committing at once add up). Refused when the range overlaps one applied already
 * (another applier, perhaps with another batch size, got there first): its transaction then
 * rolls back whole.
 */
async function claimBatch(trx: Knex.Transaction, runId: number, range: [number, number], delta: RunCounts) {
  const counts = `jsonb_build_object(${COUNT_KEYS.map((k) => `'${k}', coalesce((counts->>'${k}')::bigint, 0) + ${Number(delta[k])}`).join(', ')})`;
  const [lo, hi] = range;
  const { rowCount } = await trx.raw(`
    update merge_runs set
      checkpoint = jsonb_set(checkpoint, '{done}', coalesce(checkpoint->'done', '[]'::jsonb) || jsonb_build_array(jsonb_build_array(?::bigint, ?::bigint))),
      counts = ${counts}, updated_at = now()
    where id = ? and status = 'applying'
      and ?::bigint >= coalesce((checkpoint->>'cluster')::bigint, 0)
      and not exists (select 1 from jsonb_array_elements(coalesce(checkpoint->'done', '[]'::jsonb)) r
                      where (r->>0)::bigint < ?::bigint and (r->>1)::bigint > ?::bigint)`,
  [lo, hi, runId, lo, hi, lo]) as { rowCount: number };
  if (rowCount !== 1) throw new Error(`merge run ${runId} is being applied elsewhere`);
}

/** How many clusters of the run the applied ranges cover. */
async function coveredClusters(db: DbOrTx, runId: number, ranges: ReadonlyArray<[number, number]>): Promise<number> {
  const { rows: [row] } = await db.raw(`
    select count(*)::int as n from merge_plan_clusters c
    where c.merge_run_id = ? and exists (select 1 from unnest(?::bigint[], ?::bigint[]) r(lo, hi) where c.cluster > r.lo and c.cluster <= r.hi)`,
  [runId, ranges.map((r) => r[0]), ranges.map((r) => r[1])]);
  return Number(row.n);
}

/**
 * The batches still to apply, read one after another (each while earlier ones are being
 * written): runs of clusters between the ranges already applied, at most `batchRecords`
 * records each.
 */
async function* pendingBatches(db: Db, runId: number, appliedRanges: ReadonlyArray<[number, number]>, batchRecords: number): AsyncGenerator<LoadedBatch> {
  let after = 0;
  for (;;) {
    // Skip what is applied already.
    for (let moved = true; moved;) {
      moved = false;
      for (const [a, b] of appliedRanges) if (a <= after && after < b) { after = b; moved = true; }
    }
    const limit = Math.min(...appliedRanges.filter(([a]) => a > after).map(([a]) => a));
    const batch = await loadBatch(db, runId, after, batchRecords, limit);
    if (!batch) {
      if (Number.isFinite(limit)) { after = limit; continue; }
      return;
    }
    yield batch;
    after = batch.lastCluster;
  }
}

interface PlanCluster { cluster: number; action: 'create' | 'extend' | 'merge' | 'hold'; accounts: string[] | null; records: number; reasons: unknown }

async function nextClusters(db: Db, runId: number, after: number, batchRecords: number): Promise<PlanCluster[]> {
  const rows: PlanCluster[] = await db('merge_plan_clusters').where({ merge_run_id: runId }).where('cluster', '>', after)
    .orderBy('cluster').limit(batchRecords).select('cluster', 'action', 'accounts', 'records', 'reasons');
  const out: PlanCluster[] = [];
  let records = 0;
  for (const r of rows) {
    if (out.length && records + r.records > batchRecords) break;
    out.push({ ...r, cluster: Number(r.cluster) });
    records += r.records;
  }
  return out;
}

interface NodeRow { cluster: number; record_id: number | null; account_id: string | null; linked_to: string | null; weak: boolean }
interface RecordRow {
  id: number; source: string; source_id: string; credentialed: boolean;
  normalised: { credential: LegacyHash | null; profile: LegacyProfile; devices: LegacyDevice[]; banned: boolean; points: number | null; level: string | null; createdAt: string | null; updatedAt: string | null };
}

/** A batch of the plan with the legacy records it applies: read before its transaction. */
interface LoadedBatch {
  clusters: PlanCluster[];
  /** The batch is the clusters in (after, lastCluster]. */
  after: number;
  lastCluster: number;
  nodes: NodeRow[];
  records: Map<number, RecordRow>;
  evidence: Map<number, Evidence[]>;
}

/** The batch of clusters after `after` (up to `upTo`) with its plan nodes, records and evidence; null when there is none. */
async function loadBatch(db: Db, runId: number, after: number, batchRecords: number, upTo = Infinity): Promise<LoadedBatch | null> {
  const clusters = (await nextClusters(db, runId, after, batchRecords)).filter((c) => c.cluster <= upTo);
  if (clusters.length === 0) return null;
  const lastCluster = clusters[clusters.length - 1]!.cluster;
  const ids = new Set(clusters.map((c) => c.cluster));
  // The batch's clusters are a range: one index range scan (runs stored before plans kept
  // only the clusters with work to do may hold nodes of other clusters in it).
  const nodes: NodeRow[] = (await db('merge_plan_nodes').where({ merge_run_id: runId }).where('cluster', '>', after).where('cluster', '<=', lastCluster)
    .select('cluster', 'record_id', 'account_id', 'linked_to', 'weak'))
    .map((n: NodeRow) => ({ ...n, cluster: Number(n.cluster), record_id: n.record_id === null ? null : Number(n.record_id) }))
    .filter((n: NodeRow) => ids.has(n.cluster));
  // One array parameter per query (`= any`): a list of thousands of bind parameters costs
  // PostgreSQL far more to parse and plan than the rows cost to read.
  const recordIds = nodes.filter((n) => n.record_id !== null).map((n) => n.record_id!);
  const records = new Map<number, RecordRow>();
  const evidence = new Map<number, Evidence[]>();
  for (const r of await db('legacy_records').whereRaw('id = any(?::bigint[])', [recordIds]).select('id', 'source', 'source_id', 'credentialed', 'normalised')) {
    records.set(Number(r.id), { ...r, id: Number(r.id) });
  }
  for (const e of await db('legacy_evidence').whereRaw('record_id = any(?::bigint[])', [recordIds]).select('record_id', 'kind', 'value', 'verified')) {
    const list = evidence.get(Number(e.record_id));
    if (list) list.push({ kind: e.kind, value: e.value, verified: e.verified });
    else evidence.set(Number(e.record_id), [{ kind: e.kind, value: e.value, verified: e.verified }]);
  }
  return { clusters, after, lastCluster, nodes, records, evidence };
}

async function applyBatch(trx: Knex.Transaction, runId: number, batch: LoadedBatch, overshared: ReadonlySet<string>, o: ApplyOptions, counts: RunCounts) {
  const { clusters, nodes, records, evidence } = batch;
  const accountIds = [...new Set(clusters.flatMap((c) => c.accounts ?? []))];
  const accountIdentifiers = new Map<string, Evidence[]>();
  const accountProfiles = new Map<string, Record<string, unknown>>();
  if (accountIds.length) {
    for (const i of await trx('identifiers').whereRaw('account_id = any(?::text[])', [accountIds]).select('account_id', 'kind', 'value', 'verified')) {
      accountIdentifiers.set(i.account_id, [...(accountIdentifiers.get(i.account_id) ?? []), { kind: i.kind, value: i.value, verified: i.verified }]);
    }
    for (const a of await trx('accounts').whereRaw('id = any(?::text[])', [accountIds]).select('id', 'profile')) accountProfiles.set(a.id, a.profile);
  }

  const byCluster = new Map<number, NodeRow[]>();
  for (const n of nodes) {
    const members = byCluster.get(n.cluster);
    if (members) members.push(n);
    else byCluster.set(n.cluster, [n]);
  }

  const newAccounts: Array<Record<string, unknown>> = [];
  const links: Array<Record<string, unknown>> = [];
  const identifiers = new Map<string, { account_id: string; kind: string; value: string; verified: boolean }>();
  const credentials: Array<Record<string, unknown>> = [];
  const devices = new Map<string, LegacyDevice>();
  const bindings: Array<{ mac: string; account_id: string; source: string }> = [];
  const conflicts: Array<{ merge_run_id: number; record_ids: number[]; reasons: unknown }> = [];
  const events: NewEvent[] = [];

  for (const c of clusters) {
    const members = byCluster.get(c.cluster) ?? [];
    const recs = members.filter((m) => m.record_id !== null);
    if (c.action === 'hold') {
      conflicts.push({ merge_run_id: runId, record_ids: recs.map((m) => m.record_id!), reasons: c.reasons });
      counts.held++;
      continue;
    }
    const survivorRecords: SurvivorRecord[] = recs.map((m) => {
      const r = records.get(m.record_id!)!;
      return {
        ref: `${r.source}:${r.source_id}`, source: r.source, verified: (evidence.get(r.id) ?? []).some((e) => e.verified),
        updatedAt: r.normalised.updatedAt, createdAt: r.normalised.createdAt, profile: r.normalised.profile,
        points: r.normalised.points, level: r.normalised.level, banned: r.normalised.banned,
      };
    });
    const { profile, banned } = survive(survivorRecords, o.sourcePriority);
    const newLegacyIds = recs.filter((m) => m.linked_to === null).map((m) => records.get(m.record_id!)!).map((r) => ({ source: r.source, source_id: r.source_id }));

    let accountId: string;
    if (c.action === 'create') {
      accountId = newAccountId();
      // A ban in any legacy center is kept: the account starts locked (an operator unlocks).
      newAccounts.push({ id: accountId, profile, status: banned ? 'locked' : 'active', merge_run_id: runId });
      events.push({ type: 'account.created', accountId, data: { via: 'merge', merge_run_id: runId, status: banned ? 'locked' : 'active', legacy_ids: newLegacyIds } });
      counts.accountsCreated++;
    } else {
      accountId = c.accounts![0]!;
      const before = accountProfiles.get(accountId) ?? {};
      const merged = mergeProfile(before, profile);
      await journalUpdate(trx, runId, 'accounts', { id: accountId }, ['profile', 'updated_at']);
      await trx('accounts').where({ id: accountId }).update({ profile: merged, updated_at: trx.fn.now() });
      if (c.action === 'merge') {
        for (const loser of c.accounts!.slice(1)) await mergeAccountInto(trx, runId, loser, accountId);
        counts.accountsMerged += c.accounts!.length - 1;
      } else {
        counts.accountsExtended++;
      }
      // Legacy records new to CHUCS joining an existing account: no account merged away.
      if (newLegacyIds.length) events.push({ type: 'account.merged', accountId, data: { survivor_id: accountId, merged_away_id: null, legacy_ids: newLegacyIds, merge_run_id: runId } });
    }

    // What each new record shares with the rest of its cluster: the evidence of its link.
    // A strong link is a verified value another record (or the account) holds verified; a
    // weak attachment is any of its values that a record of the cluster holds.
    const holders = { verified: new Map<string, number>(), any: new Map<string, number>() };
    const count = (map: Map<string, number>, e: Evidence) => {
      if (e.kind === 'mac' || e.kind === 'username') return;
      const k = `${e.kind}\u0000${e.value}`;
      map.set(k, (map.get(k) ?? 0) + 1);
    };
    for (const m of recs) {
      for (const e of evidence.get(m.record_id!) ?? []) {
        count(holders.any, e);
        if (e.verified && !m.weak) count(holders.verified, e);
      }
    }
    for (const a of c.accounts ?? []) for (const e of accountIdentifiers.get(a) ?? []) if (e.verified) { count(holders.verified, e); count(holders.any, e); }

    for (const m of recs.filter((x) => x.linked_to === null)) {
      const r = records.get(m.record_id!)!;
      const ev = evidence.get(r.id) ?? [];
      const shared = ev.filter((e) => (m.weak
        ? (holders.any.get(`${e.kind}\u0000${e.value}`) ?? 0) > 1
        : e.verified && (holders.verified.get(`${e.kind}\u0000${e.value}`) ?? 0) > 1))
        .map((e) => ({ kind: e.kind, value: e.value, verified: e.verified }));
      // seed: the record a new account starts from; operator: joined by an operator's decision.
      const rule = m.weak ? 'weak_attach' : shared.length ? 'strong' : c.action === 'create' ? 'seed' : 'operator';
      links.push({ record_id: r.id, account_id: accountId, merge_run_id: runId, rule, evidence: shared });
      for (const e of ev) {
        if (e.kind === 'mac' || overshared.has(`${e.kind}\u0000${e.value}`)) continue;
        const key = `${accountId}\u0000${e.kind}\u0000${e.value}`;
        const prev = identifiers.get(key);
        identifiers.set(key, { account_id: accountId, kind: e.kind, value: e.value, verified: (prev?.verified ?? false) || (e.verified && STRONG_KINDS.includes(e.kind as never)) });
      }
      if (r.normalised.credential) {
        const h = r.normalised.credential;
        credentials.push({ account_id: accountId, type: 'legacy_password', algorithm: h.algorithm, hash: h.hash, salt: h.salt ?? null, source: r.source, legacy_record_id: r.id, merge_run_id: runId });
      }
      for (const d of r.normalised.devices ?? []) {
        devices.set(d.mac, devices.get(d.mac) ?? d);
        bindings.push({ mac: d.mac, account_id: accountId, source: `legacy:${r.source}` });
      }
    }
  }

  await copyRows(trx, 'accounts', { id: 'text', profile: 'jsonb', status: 'text', merge_run_id: 'bigint' }, newAccounts);
  // One statement for the batch's events, in the batch's transaction (merged-away accounts wrote theirs).
  await emitEvents(trx, events);
  if (conflicts.length) await trx('merge_conflicts').insert(conflicts.map((c) => ({ ...c, reasons: JSON.stringify(c.reasons) })));
  await copyRows(trx, 'record_links', { record_id: 'bigint', account_id: 'text', merge_run_id: 'bigint', rule: 'text', evidence: 'jsonb' }, links);
  counts.links += links.length;

  // Verified identifiers are unique across accounts (the database enforces it); one that is
  // already someone else's verified identifier is kept on this account as unverified.
  await trx.raw('create temp table if not exists identifiers_stage (account_id text, kind text, value text, verified boolean) on commit delete rows');
  await copyRows(trx, 'identifiers_stage', { account_id: 'text', kind: 'text', value: 'text', verified: 'boolean' }, [...identifiers.values()]);
  const { rowCount: stored } = await trx.raw(`insert into identifiers (account_id, kind, value, verified, verified_at, source, merge_run_id)
    select account_id, kind, value, verified, case when verified then now() end, 'merge', ? from identifiers_stage
    on conflict do nothing`, [runId]) as { rowCount: number };
  if (stored < identifiers.size) await trx.raw(`insert into identifiers (account_id, kind, value, verified, verified_at, source, merge_run_id)
    select s.account_id, s.kind, s.value, false, null, 'merge', ? from identifiers_stage s
    where s.verified and not exists (select 1 from identifiers i where i.account_id = s.account_id and i.kind = s.kind and i.value = s.value)
    on conflict do nothing`, [runId]);
  counts.identifiers += identifiers.size;

  await copyRows(trx, 'credentials', {
    account_id: 'text', type: 'text', algorithm: 'text', hash: 'text', salt: 'text', source: 'text', legacy_record_id: 'bigint', merge_run_id: 'bigint',
  }, credentials);
  counts.credentials += credentials.length;

  if (devices.size) {
    // A household TV is in several clusters, so two batches written at once may insert the
    // same MAC: both insert in MAC order, so neither can wait for the other in a circle.
    await insertColumns(trx, 'devices', { mac: 'text', type: 'text', model: 'text', serial: 'text', merge_run_id: 'bigint' },
      [...devices.values()].sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0)).map((d) => ({ mac: d.mac, type: d.type, model: d.model, serial: d.serial, merge_run_id: runId })), 'on conflict (mac) do nothing');
    const { rows: known } = await trx.raw('select id, mac from devices where mac = any(?::text[])', [[...devices.keys()]]);
    const idByMac = new Map(known.map((d: { id: number; mac: string }) => [d.mac, d.id]));
    const bindingRows = bindings.map((b) => ({ device_id: idByMac.get(b.mac), account_id: b.account_id, source: b.source, merge_run_id: runId }));
    await insertColumns(trx, 'device_bindings', { device_id: 'bigint', account_id: 'text', source: 'text', merge_run_id: 'bigint' }, bindingRows,
      'on conflict (device_id, account_id) do nothing');
    counts.bindings += bindingRows.length;
  }
}

function mergeProfile(before: Record<string, unknown>, legacy: ReturnType<typeof survive>['profile']): Record<string, unknown> {
  // Values a person set themselves (no legacy provenance) win over legacy ones.
  const provenance = { ...(before.provenance as Record<string, unknown> | undefined ?? {}) };
  const out: Record<string, unknown> = { ...before };
  for (const [field, value] of Object.entries(legacy)) {
    if (field === 'provenance') continue;
    const own = before[field] !== undefined && provenance[field] === undefined;
    if (!own) {
      out[field] = value;
      provenance[field] = legacy.provenance[field];
    }
  }
  out.provenance = provenance;
  return out;
}

/**
 * Merges an existing account into the survivor: its identifiers, credentials, devices and
 * external identities move over, it becomes `merged` with `merged_into` set (so its `sub`
 * still resolves), and its sessions and tokens are revoked. Every change is journalled.
 */
async function mergeAccountInto(trx: Knex.Transaction, runId: number, loser: string, survivor: string) {
  await emitEvent(trx, { type: 'account.merged', accountId: survivor, data: { survivor_id: survivor, merged_away_id: loser, legacy_ids: await legacyIdsHeldBy(trx, loser), merge_run_id: runId } });
  const survivorIds = new Map((await trx('identifiers').where({ account_id: survivor })).map((i: { kind: string; value: string }) => [`${i.kind}\u0000${i.value}`, i]));
  for (const i of await trx('identifiers').where({ account_id: loser })) {
    const same = survivorIds.get(`${i.kind}\u0000${i.value}`) as { id: number; verified: boolean } | undefined;
    if (same) {
      if (i.verified && !same.verified) {
        // Deleted before the survivor's copy is verified, so undo (newest first) unverifies
        // that copy before it puts this one back: two verified copies would break the index.
        await journalDelete(trx, runId, 'identifiers', { id: i.id });
        await journalUpdate(trx, runId, 'identifiers', { id: same.id }, ['verified', 'verified_at']);
        await trx('identifiers').where({ id: same.id }).update({ verified: true, verified_at: i.verified_at });
      } else {
        await journalDelete(trx, runId, 'identifiers', { id: i.id });
      }
      continue;
    }
    await journalUpdate(trx, runId, 'identifiers', { id: i.id }, ['account_id', 'is_primary']);
    await trx('identifiers').where({ id: i.id }).update({ account_id: survivor, is_primary: false });
  }
  const survivorHasPassword = await trx('credentials').where({ account_id: survivor, type: 'password' }).first('id');
  for (const c of await trx('credentials').where({ account_id: loser })) {
    await journalUpdate(trx, runId, 'credentials', { id: c.id }, ['account_id', 'type', 'algorithm']);
    // One argon2id password per account: the merged-away one stays usable as a legacy hash.
    const demote = c.type === 'password' && survivorHasPassword;
    await trx('credentials').where({ id: c.id }).update({ account_id: survivor, ...(demote ? { type: 'legacy_password', algorithm: 'argon2' } : {}) });
  }
  for (const b of await trx('device_bindings').where({ account_id: loser })) {
    await journalDelete(trx, runId, 'device_bindings', { device_id: b.device_id, account_id: loser });
    await trx('device_bindings').insert({ ...b, account_id: survivor, merge_run_id: runId }).onConflict(['device_id', 'account_id']).ignore();
  }
  for (const x of await trx('external_identities').where({ account_id: loser })) {
    await journalUpdate(trx, runId, 'external_identities', { id: x.id }, ['account_id']);
    await trx('external_identities').where({ id: x.id }).update({ account_id: survivor });
  }
  for (const earlier of await trx('accounts').where({ merged_into: loser }).select('id')) {
    await journalUpdate(trx, runId, 'accounts', { id: earlier.id }, ['merged_into']);
    await trx('accounts').where({ id: earlier.id }).update({ merged_into: survivor });
  }
  await journalUpdate(trx, runId, 'accounts', { id: loser }, ['status', 'merged_into', 'updated_at']);
  await trx('accounts').where({ id: loser }).update({ status: 'merged', merged_into: survivor, updated_at: trx.fn.now() });
  await trx('oidc_models').where({ account_id: loser }).delete();
}

/**
 * Every legacy id that resolves to an account: its own records and those of accounts merged
 * into it before. What a downstream system re-keys when the account merges or unmerges.
 */
export async function legacyIdsHeldBy(trx: Knex.Transaction, accountId: string): Promise<Array<{ source: string; source_id: string }>> {
  return trx('record_links as l').join('legacy_records as r', 'r.id', 'l.record_id').join('accounts as a', 'a.id', 'l.account_id')
    .where((w) => w.where('a.id', accountId).orWhere('a.merged_into', accountId)).orderBy('r.id').select('r.source', 'r.source_id');
}
