import type { Db } from '../db/database.ts';
import { parseLoginIdentifier } from '../identity/normalise.ts';

export interface Explanation {
  account: { id: string; status: string; profile: Record<string, unknown>; createdAt: string };
  /** Accounts merged into this one: their `sub` resolves here. */
  mergedAway: string[];
  identifiers: Array<{ kind: string; value: string; verified: boolean; source: string; run: number | null }>;
  records: Array<{
    ref: string; viaAccount: string; rule: string; evidence: Array<{ kind: string; value: string; verified: boolean }>; run: number; line: number | null;
    /** Values the import could not normalise (a phone of 10 digits, a broken email): kept here, never evidence. */
    unparsed: string[];
  }>;
  devices: Array<{ mac: string; model: string | null; source: string }>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The accounts a query (account id, phone or email in any shape) names, survivors resolved:
 * those holding it verified if any does, else those holding it at all; with `everyHolder`,
 * also those holding it unverified (a stranger's account carrying someone's phone).
 */
export async function findAccounts(db: Db, query: string, { everyHolder = false } = {}): Promise<string[]> {
  let ids: string[];
  if (UUID.test(query.trim())) {
    ids = [query.trim().toLowerCase()];
  } else {
    const parsed = parseLoginIdentifier(query);
    if (!parsed) return [];
    const rows = await db('identifiers').where({ kind: parsed.kind, value: parsed.value }).orderBy('verified', 'desc').select('account_id', 'verified');
    const verified = rows.filter((r: { verified: boolean }) => r.verified);
    ids = (verified.length && !everyHolder ? verified : rows).map((r: { account_id: string }) => r.account_id);
  }
  const accounts = await db('accounts').whereIn('id', ids).select('id', 'merged_into');
  return [...new Set(accounts.map((a: { id: string; merged_into: string | null }) => a.merged_into ?? a.id))];
}

/** An account's legacy records and, for each, the evidence, rule and run that joined it. */
export async function explainAccount(db: Db, accountId: string): Promise<Explanation | undefined> {
  const account = await db('accounts').where({ id: accountId }).first();
  if (!account) return undefined;
  const mergedAway = (await db('accounts').where({ merged_into: accountId }).orderBy('id').pluck('id')) as string[];
  const records = await db('record_links as l').join('legacy_records as r', 'r.id', 'l.record_id')
    .whereIn('l.account_id', [accountId, ...mergedAway]).orderBy(['r.source', 'r.source_id'])
    .select('r.source', 'r.source_id', 'r.line', db.raw("r.normalised->'profile' as profile"), 'l.account_id', 'l.rule', 'l.evidence', 'l.merge_run_id');
  const identifiers = await db('identifiers').where({ account_id: accountId }).orderBy(['kind', 'value']).select('kind', 'value', 'verified', 'source', 'merge_run_id');
  const devices = await db('device_bindings as b').join('devices as d', 'd.id', 'b.device_id').where('b.account_id', accountId).orderBy('d.mac').select('d.mac', 'd.model', 'b.source');
  return {
    account: { id: account.id, status: account.status, profile: account.profile, createdAt: new Date(account.created_at).toISOString() },
    mergedAway,
    identifiers: identifiers.map((i: { kind: string; value: string; verified: boolean; source: string; merge_run_id: number | null }) => ({ kind: i.kind, value: i.value, verified: i.verified, source: i.source, run: i.merge_run_id === null ? null : Number(i.merge_run_id) })),
    records: records.map((r: { source: string; source_id: string; line: number | null; profile: { unparsed?: string[] } | null; account_id: string; rule: string; evidence: Explanation['records'][0]['evidence']; merge_run_id: number }) => ({
      ref: `${r.source}:${r.source_id}`, viaAccount: r.account_id, rule: r.rule, evidence: r.evidence, run: Number(r.merge_run_id), line: r.line,
      unparsed: r.profile?.unparsed ?? [],
    })),
    devices,
  };
}
