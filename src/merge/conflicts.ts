import type { Db } from '../db/database.ts';
import { recordAudit } from '../audit/audit-log.ts';

export interface HeldConflict {
  id: number; run: number; records: string[]; reasons: unknown; status: string; createdAt: string;
  /** The operator's decision, once resolved: its groups of records, who, when and why. */
  decision?: { kind: 'split' | 'join'; groups: string[][]; actor: string; note: string | null; at: string } | undefined;
}

/** The conflict cannot be resolved now (none such, already resolved): nothing changed. */
export class ResolveRefused extends Error {
  override name = 'ResolveRefused';
}

/** The groups given do not fit the conflict (a record not in it, missing, or in two groups). */
export class BadResolution extends Error {
  override name = 'BadResolution';
}

async function refs(db: Db, ids: number[]): Promise<Map<number, string>> {
  const rows = await db('legacy_records').whereIn('id', ids).select('id', 'source', 'source_id');
  return new Map(rows.map((r: { id: number; source: string; source_id: string }) => [Number(r.id), `${r.source}:${r.source_id}`]));
}

/** Clusters held for an operator, oldest first. */
export async function listConflicts(db: Db, { all = false } = {}): Promise<HeldConflict[]> {
  const q = db('merge_conflicts').orderBy('id');
  if (!all) q.where({ status: 'open' });
  const rows = await q;
  const names = await refs(db, rows.flatMap((r: { record_ids: number[] }) => r.record_ids.map(Number)));
  const name = (id: number | string) => names.get(Number(id)) ?? String(id);
  type DecisionRow = { conflict_id: number; kind: 'split' | 'join'; groups: number[][]; actor: string; note: string | null; created_at: Date };
  const decisions = new Map<number, DecisionRow>((await db('merge_decisions').whereIn('conflict_id', rows.map((r: { id: number }) => r.id)).orderBy('id')
    .select('conflict_id', 'kind', 'groups', 'actor', 'note', 'created_at')).map((d: DecisionRow) => [Number(d.conflict_id), d]));
  return rows.map((r: { id: number; merge_run_id: number; record_ids: number[]; reasons: unknown; status: string; created_at: Date }) => {
    const d = decisions.get(Number(r.id));
    return {
      id: Number(r.id), run: Number(r.merge_run_id), records: r.record_ids.map(name),
      reasons: r.reasons, status: r.status, createdAt: new Date(r.created_at).toISOString(),
      ...(d ? { decision: { kind: d.kind, groups: d.groups.map((g) => g.map(name)), actor: d.actor, note: d.note, at: new Date(d.created_at).toISOString() } } : {}),
    };
  });
}

/**
 * An operator's decision on a held cluster: `split` into groups that must stay apart (every
 * record of the cluster in exactly one group), or `join` it as one person. Recorded in the
 * audit log; the next merge run follows it.
 */
export async function resolveConflict(db: Db, input: { conflictId: number; kind: 'split' | 'join'; groups: string[][]; actor: string; note?: string }) {
  return db.transaction(async (trx) => {
    const conflict = await trx('merge_conflicts').where({ id: input.conflictId }).forUpdate().first();
    if (!conflict) throw new ResolveRefused(`there is no conflict ${input.conflictId}`);
    if (conflict.status !== 'open') throw new ResolveRefused(`conflict ${input.conflictId} is already resolved`);
    const ids = conflict.record_ids.map(Number) as number[];
    const names = await refs(trx as unknown as Db, ids);
    const byName = new Map([...names].map(([id, name]) => [name, id]));
    const groups = input.kind === 'join' ? [[...names.values()]] : input.groups;
    const placed = groups.flat();
    const unknown = placed.filter((p) => !byName.has(p));
    if (unknown.length) throw new BadResolution(`not in conflict ${input.conflictId}: ${unknown.join(', ')}`);
    if (new Set(placed).size !== placed.length) throw new BadResolution(`a record is in two groups: ${[...new Set(placed.filter((p, i) => placed.indexOf(p) !== i))].join(', ')}`);
    const missing = [...names.values()].filter((n) => !placed.includes(n));
    if (missing.length) throw new BadResolution(`place every record of the conflict in a group; missing: ${missing.join(', ')}`);
    if (input.kind === 'split' && groups.length < 2) throw new BadResolution('a split needs at least two groups');
    const [decision] = await trx('merge_decisions').insert({
      kind: input.kind, groups: JSON.stringify(groups.map((g) => g.map((n) => byName.get(n)))), conflict_id: input.conflictId, actor: input.actor, note: input.note ?? null,
    }).returning('id');
    await trx('merge_conflicts').where({ id: input.conflictId }).update({ status: 'resolved' });
    await recordAudit(trx, { actor: input.actor, action: `merge.conflict_${input.kind}`, subject: `merge_conflict:${input.conflictId}`, detail: { groups, note: input.note } });
    return { decisionId: Number(decision.id), groups };
  });
}

export interface Decision { id: number; kind: 'split' | 'join'; groups: string[][]; conflict: number | null; actor: string; note: string | null; at: string }

/**
 * Every operator decision, oldest first. Each steers every later plan, also once the run
 * whose conflict it resolved was undone (the conflict then goes, the decision stays).
 */
export async function listDecisions(db: Db): Promise<Decision[]> {
  const rows: Array<{ id: number; kind: 'split' | 'join'; groups: number[][]; conflict_id: number | null; actor: string; note: string | null; created_at: Date }> =
    await db('merge_decisions').orderBy('id').select('id', 'kind', 'groups', 'conflict_id', 'actor', 'note', 'created_at');
  const names = await refs(db, rows.flatMap((r) => r.groups.flat().map(Number)));
  return rows.map((r) => ({
    id: Number(r.id), kind: r.kind, groups: r.groups.map((g) => g.map((id) => names.get(Number(id)) ?? String(id))),
    conflict: r.conflict_id === null ? null : Number(r.conflict_id), actor: r.actor, note: r.note, at: new Date(r.created_at).toISOString(),
  }));
}
