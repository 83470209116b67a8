import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { Clustering, type StrongGroup, type WeakGroup } from './cluster.ts';
import { streamRows } from './cursor.ts';
import { copyRows } from './bulk-insert.ts';

/**
 * Planning a merge: which legacy records and existing accounts form one person, and what
 * applying that means (accounts to create, extend or merge; clusters held for an operator).
 * Runs inside a transaction and leaves its result in temporary tables (plan_nodes,
 * plan_clusters), which apply.ts stores with a run (planned or applying); it changes nothing.
 *
 * Cluster actions:
 *
 * | action | when                                                         |
 * |--------|--------------------------------------------------------------|
 * | hold   | contradicting strong evidence (two unionids, QQ openids or   |
 * |        | Weibo uids; two records of one source verifying one phone)   |
 * | create | no existing account in the cluster                           |
 * | extend | one existing account, and records not linked to it yet       |
 * | merge  | two or more existing accounts: the oldest survives            |
 * | none   | one account, nothing new                                      |
 */

export const STRONG_KINDS = ['phone', 'email', 'wechat_unionid', 'qq_openid', 'weibo_uid'] as const;
export const SOCIAL_KINDS = ['wechat_unionid', 'qq_openid', 'weibo_uid'] as const;
const SAMPLES = 5;

export interface PlanOptions {
  /** A value carried by more records than this is not one person's. */
  maxRecordsPerValue: number;
  onProgress?: (step: string) => void;
}

export interface ConflictReason { rule: string; kind: string; values: string[]; records?: string[] }

export interface PlanReport {
  fingerprint: string;
  records: number;
  accounts: { create: number; extend: number; merge: number; mergedAway: number; hold: number; unchanged: number };
  /** New links, by the rule that made them and, for strong joins, the kind of evidence. */
  links: { seed: number; strong: number; weakAttach: number; byKind: Record<string, number> };
  held: { clusters: number; records: number };
  conflicts: Array<{ cluster: number; records: string[]; reasons: ConflictReason[] }>;
  rejectedValues: { overshared: Array<{ kind: string; value: string; records: number }>; ambiguousWeakGroups: number };
  samples: Record<'create' | 'extend' | 'merge', Array<{ records: string[]; accounts: string[] }>>;
}

const sqlList = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');

async function scalar<T>(trx: Knex.Transaction, sql: string, bindings: readonly unknown[] = []): Promise<T> {
  const { rows } = await trx.raw(sql, bindings as Knex.RawBinding[]);
  return Object.values(rows[0] ?? {})[0] as T;
}

/** Reads operators' split decisions: record id -> a label per group. */
async function splitLabels(trx: Knex.Transaction): Promise<Map<number, number>> {
  const labels = new Map<number, number>();
  const rows = await trx('merge_decisions').where({ kind: 'split' }).orderBy('id');
  for (const d of rows as Array<{ id: number; groups: number[][] }>) {
    d.groups.forEach((group, i) => { for (const r of group) labels.set(Number(r), d.id * 1000 + i); });
  }
  return labels;
}

/**
 * A digest of everything a plan reads: the legacy records and their evidence, the links,
 * the accounts and their verified identifiers, operators' decisions, and the options. A
 * stored plan is applied only while this is unchanged (see apply.ts). One pass over each
 * table, no sort: each row's hash, xor-ed, with the row count.
 */
export async function planInputsDigest(db: Knex | Knex.Transaction, o: Pick<PlanOptions, 'maxRecordsPerValue'>): Promise<string> {
  const part = (table: string, row: string, where = 'true') =>
    `(select count(*) || '/' || coalesce(bit_xor(hashtextextended(row(${row})::text, 0)), 0) from ${table} where ${where})`;
  const { rows: [row] } = await db.raw(`select concat_ws(' ', ${[
    part('legacy_records', 'id, credentialed'),
    part('legacy_evidence', 'record_id, kind, value, verified'),
    part('record_links', 'record_id, account_id'),
    part('accounts', 'id, status, merged_into, created_at'),
    part('identifiers', 'account_id, kind, value', 'verified'),
    part('merge_decisions', 'id, kind, groups'),
  ].join(', ')}) as d`);
  return createHash('sha256').update(`${o.maxRecordsPerValue} ${row.d}`).digest('hex');
}

export async function computePlan(trx: Knex.Transaction, o: PlanOptions): Promise<PlanReport> {
  const step = o.onProgress ?? (() => {});
  // The plan sorts and hashes millions of rows, once: in memory rather than in temporary files.
  await trx.raw("set local work_mem = '128MB'");
  // Its cursors are read to the end: plan them for the whole result, not the first rows.
  await trx.raw('set local cursor_tuple_fraction = 1');

  step('values shared by too many records');
  await trx.raw(`create temp table plan_overshared on commit drop as
    select kind, value, count(*)::int as records from legacy_evidence
    where kind in (${sqlList(STRONG_KINDS)}) group by kind, value having count(*) > ?`, [o.maxRecordsPerValue]);
  await trx.raw('create index on plan_overshared (kind, value)');
  await trx.raw('analyze plan_overshared');

  const maxRecord = Number(await scalar(trx, 'select coalesce(max(id), 0) from legacy_records'));
  step('existing accounts');
  // Accounts the legacy data can reach: those records were linked to, and those holding a
  // verified identifier some record carries. Numbered after the records, oldest first.
  await trx.raw(`create temp table plan_accounts on commit drop as
    select id as account_id, (? + row_number() over (order by created_at, id))::bigint as node
    from accounts a
    where a.status in ('active', 'locked') and (
      exists (select 1 from record_links l join accounts la on la.id = l.account_id
              where coalesce(la.merged_into, la.id) = a.id)
      or exists (select 1 from identifiers i join legacy_evidence e on e.kind = i.kind and e.value = i.value
                 where i.account_id = a.id and i.verified))`, [maxRecord]);
  await trx.raw('create unique index on plan_accounts (account_id)');
  await trx.raw('analyze plan_accounts');
  const accountCount = Number(await scalar(trx, 'select count(*) from plan_accounts'));
  const maxNode = maxRecord + accountCount;

  const labels = await splitLabels(trx);
  const clustering = new Clustering(maxNode, { label: (n) => labels.get(n) });

  step('joining records by strong evidence');
  // Grouped by value in the database (hashed, in no order: the result does not depend on it):
  // only values two or more nodes carry come over, as arrays.
  await clustering.strongPass(streamRows<StrongGroup>(trx, `
    select nodes from (
      select kind, value, array_agg(node) as nodes from (
        select e.kind, e.value, e.record_id::int as node from legacy_evidence e
        where e.verified and e.kind in (${sqlList(STRONG_KINDS)})
        union all
        select i.kind, i.value, pa.node::int from identifiers i join plan_accounts pa on pa.account_id = i.account_id
        where i.verified and i.kind in (${sqlList(STRONG_KINDS)})
      ) s group by kind, value having count(*) > 1
    ) g
    where not exists (select 1 from plan_overshared x where x.kind = g.kind and x.value = g.value)`));

  // Records already linked stay with their account (or its survivor).
  for await (const rows of streamRows<{ record: number; account: number }>(trx, `
    select l.record_id::int as record, pa.node::int as account from record_links l
    join accounts a on a.id = l.account_id
    join plan_accounts pa on pa.account_id = coalesce(a.merged_into, a.id)`)) {
    for (const r of rows) clustering.link(r.record, r.account);
  }
  // Operators' joins are evidence too.
  for (const d of await trx('merge_decisions').where({ kind: 'join' }) as Array<{ groups: number[][] }>) {
    for (const group of d.groups) for (const r of group.slice(1)) clustering.link(Number(group[0]), Number(r));
  }

  step('attaching records without credentials by weak evidence');
  // The phones and emails some free record carries (in no order: the result does not depend on it).
  await clustering.weakPass(streamRows<WeakGroup>(trx, `
    select free, holders from (
      select kind, value, coalesce(array_agg(node) filter (where free), '{}') as free,
             coalesce(array_agg(node) filter (where verified and not free), '{}') as holders
      from (
        select e.kind, e.value, e.record_id::int as node, e.verified,
               (not r.credentialed and l.record_id is null) as free
        from legacy_evidence e join legacy_records r on r.id = e.record_id
        left join record_links l on l.record_id = e.record_id
        where e.kind in ('phone', 'email')
        union all
        select i.kind, i.value, pa.node::int, true, false from identifiers i join plan_accounts pa on pa.account_id = i.account_id
        where i.verified and i.kind in ('phone', 'email')
      ) s group by kind, value having bool_or(free)
    ) g
    where not exists (select 1 from plan_overshared x where x.kind = g.kind and x.value = g.value)`));

  step('writing clusters');
  await trx.raw('create temp table plan_roots (node bigint primary key, cluster bigint not null, weak boolean not null) on commit drop');
  const CHUNK = 50_000;
  // Only the nodes that joined another (or were attached by weak evidence) are written.
  let rows: Array<{ node: number; cluster: number; weak: boolean }> = [];
  const flush = async () => {
    await copyRows(trx, 'plan_roots', { node: 'bigint', cluster: 'bigint', weak: 'boolean' }, rows);
    rows = [];
  };
  for (let n = 1; n <= maxNode; n++) {
    const root = clustering.uf.find(n);
    const isWeak = clustering.weakRule.has(n);
    if (root !== n || isWeak) {
      rows.push({ node: n, cluster: root, weak: isWeak });
      if (rows.length >= CHUNK) await flush();
    }
  }
  await flush();
  await trx.raw('analyze plan_roots');

  await trx.raw(`create temp table plan_nodes on commit drop as
    select r.id as node, coalesce(pr.cluster, r.id) as cluster, r.id as record_id, null::text as account_id,
           l.account_id as linked_to, coalesce(pr.weak, false) as weak
    from legacy_records r left join plan_roots pr on pr.node = r.id left join record_links l on l.record_id = r.id
    union all
    select pa.node, coalesce(pr.cluster, pa.node), null::bigint, pa.account_id, null::text, false
    from plan_accounts pa left join plan_roots pr on pr.node = pa.node`);
  await trx.raw('create index on plan_nodes (cluster)');
  await trx.raw('create index on plan_nodes (record_id)');
  await trx.raw('analyze plan_nodes');

  step('finding contradictions');
  await trx.raw(`create temp table plan_clusters on commit drop as
    select cluster,
      count(record_id)::int as records,
      count(record_id) filter (where linked_to is null)::int as new_records,
      count(record_id) filter (where linked_to is null and weak)::int as new_weak,
      array_agg(account_id order by node) filter (where account_id is not null) as accounts,
      null::jsonb as reasons,
      null::text as action
    from plan_nodes group by cluster`);
  await trx.raw('create unique index on plan_clusters (cluster)');

  const reasons = new Map<number, ConflictReason[]>();
  const addReason = (cluster: number, reason: ConflictReason) => reasons.set(cluster, [...(reasons.get(cluster) ?? []), reason]);
  const { rows: contradictions } = await trx.raw(`
    select cluster::int as cluster, kind, array_agg(distinct value order by value) as vals from (
      select p.cluster, e.kind, e.value from plan_nodes p join legacy_evidence e on e.record_id = p.record_id
      where e.kind in (${sqlList(SOCIAL_KINDS)})
      union all
      select p.cluster, i.kind, i.value from plan_nodes p join identifiers i on i.account_id = p.account_id
      where i.verified and i.kind in (${sqlList(SOCIAL_KINDS)})
    ) s group by cluster, kind having count(distinct value) > 1`);
  for (const c of contradictions) addReason(c.cluster, { rule: `two different ${c.kind} in one cluster`, kind: c.kind, values: c.vals });
  const { rows: recycled } = await trx.raw(`
    select p.cluster::int as cluster, r.source, e.value, array_agg(r.source || ':' || r.source_id order by r.id) as recs
    from plan_nodes p join legacy_records r on r.id = p.record_id
    join legacy_evidence e on e.record_id = r.id and e.kind = 'phone' and e.verified
    where not exists (select 1 from plan_overshared x where x.kind = 'phone' and x.value = e.value)
    group by p.cluster, r.source, e.value having count(*) > 1`);
  for (const c of recycled) {
    addReason(c.cluster, { rule: `one ${c.source} phone verified by two ${c.source} records (a recycled number?)`, kind: 'phone', values: [c.value], records: c.recs });
  }
  // An operator's join settles a contradiction among exactly the records it names.
  const joins = (await trx('merge_decisions').where({ kind: 'join' }) as Array<{ groups: number[][] }>)
    .flatMap((d) => d.groups.map((g) => new Set(g.map(Number))));
  for (const cluster of [...reasons.keys()]) {
    if (!joins.length) break;
    const ids = (await trx('plan_nodes').where({ cluster }).whereNotNull('record_id').pluck('record_id')).map(Number);
    if (joins.some((j) => ids.every((id) => j.has(id)))) reasons.delete(cluster);
  }
  const held = [...reasons.keys()];
  for (let i = 0; i < held.length; i += CHUNK) {
    const part = held.slice(i, i + CHUNK);
    await trx.raw(`update plan_clusters c set reasons = x.reasons::jsonb
      from unnest(?::bigint[], ?::text[]) as x(cluster, reasons) where c.cluster = x.cluster`,
    [part, part.map((c) => JSON.stringify(reasons.get(c)))]);
  }
  await trx.raw(`update plan_clusters set action = case
      when reasons is not null then 'hold'
      when accounts is null then 'create'
      when cardinality(accounts) > 1 then 'merge'
      when new_records > 0 then 'extend'
      else 'none' end`);
  // Temporary tables are never analysed by autovacuum: without statistics (taken once the
  // actions are set) the report's joins run as nested loops over a million rows.
  await trx.raw('analyze plan_clusters');

  step('writing the report');
  return report(trx, clustering.ambiguous.length);
}

async function report(trx: Knex.Transaction, ambiguous: number): Promise<PlanReport> {
  const actionCounts = Object.fromEntries((await trx.raw(`
    select action, count(*)::int as n, coalesce(sum(cardinality(accounts)), 0)::int as accounts, sum(records)::int as records
    from plan_clusters group by action`)).rows.map((r: { action: string }) => [r.action, r]));
  const n = (a: string, f = 'n') => Number(actionCounts[a]?.[f] ?? 0);

  // New links by rule: attached by weak evidence; joined to others (strong); alone (seed).
  const { rows: [rules] } = await trx.raw(`
    select coalesce(sum(new_weak), 0)::int as "weakAttach",
           coalesce(sum(new_records - new_weak) filter (where records + coalesce(cardinality(accounts), 0) > 1), 0)::int as strong,
           coalesce(sum(new_records - new_weak) filter (where records + coalesce(cardinality(accounts), 0) <= 1), 0)::int as seed
    from plan_clusters where action <> 'hold'`);

  // Records joined by a verified value that another record of their cluster holds too.
  const { rows: kindRows } = await trx.raw(`
    select kind, count(distinct record_id)::int as n from (
      select e.kind, e.record_id, e.verified, p.linked_to is null and not p.weak as fresh,
             count(*) over (partition by p.cluster, e.kind, e.value) as holders
      from plan_nodes p join plan_clusters c on c.cluster = p.cluster and c.action <> 'hold'
      join legacy_evidence e on e.record_id = p.record_id and e.kind in (${sqlList(STRONG_KINDS)})
    ) x
    where verified and fresh and holders > 1
    group by kind order by kind`);

  const refs = async (clusters: number[]) => {
    type Refs = { records: string[]; accounts: string[] };
    if (!clusters.length) return new Map<number, Refs>();
    const { rows } = await trx.raw(`
      select p.cluster::int as cluster,
        coalesce(array_agg(r.source || ':' || r.source_id order by r.id) filter (where r.id is not null), '{}') as records,
        coalesce(array_agg(p.account_id order by p.node) filter (where p.account_id is not null), '{}') as accounts
      from plan_nodes p left join legacy_records r on r.id = p.record_id
      where p.cluster = any(?::bigint[]) group by p.cluster`, [clusters]);
    return new Map<number, Refs>(rows.map((r: Refs & { cluster: number }) => [r.cluster, r]));
  };
  const sample = async (action: string) => {
    const ids = (await trx('plan_clusters').where({ action }).orderBy('records', 'desc').orderBy('cluster').limit(SAMPLES).pluck('cluster')).map(Number);
    const byId = await refs(ids);
    return ids.map((id) => ({ records: byId.get(id)!.records, accounts: byId.get(id)!.accounts }));
  };

  const heldRows = await trx('plan_clusters').where({ action: 'hold' }).orderBy('cluster').select('cluster', 'reasons', 'records');
  const heldRefs = await refs(heldRows.slice(0, 100).map((r: { cluster: number }) => Number(r.cluster)));
  const overshared = await trx('plan_overshared').orderBy('records', 'desc').limit(50).select('kind', 'value', 'records');

  const { rows: [fp] } = await trx.raw(`
    select md5(string_agg(p.node || ':' || p.cluster || ':' || c.action, ',' order by p.node)) as f
    from plan_nodes p join plan_clusters c on c.cluster = p.cluster`);

  return {
    fingerprint: createHash('sha256').update(String(fp?.f ?? '')).digest('hex').slice(0, 16),
    records: Number(await scalar(trx, 'select count(*) from legacy_records')),
    accounts: {
      create: n('create'), extend: n('extend'), merge: n('merge'),
      mergedAway: n('merge', 'accounts') - n('merge'), hold: n('hold'), unchanged: n('none'),
    },
    links: { seed: rules.seed, strong: rules.strong, weakAttach: rules.weakAttach, byKind: Object.fromEntries(kindRows.map((r: { kind: string; n: number }) => [r.kind, r.n])) },
    held: { clusters: heldRows.length, records: heldRows.reduce((s: number, r: { records: number }) => s + Number(r.records), 0) },
    conflicts: heldRows.slice(0, 100).map((r: { cluster: number; reasons: ConflictReason[] }) => ({
      cluster: Number(r.cluster), records: heldRefs.get(Number(r.cluster))?.records ?? [], reasons: r.reasons,
    })),
    rejectedValues: { overshared: overshared.map((o: { kind: string; value: string; records: number }) => ({ ...o, records: Number(o.records) })), ambiguousWeakGroups: ambiguous },
    samples: { create: await sample('create'), extend: await sample('extend'), merge: await sample('merge') },
  };
}
