import type { Db, DbOrTx } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { Actor } from '../identity/account-settings.ts';
import { normaliseEmail, normaliseMac, normalisePhone, normaliseUsername } from '../identity/normalise.ts';
import { revokeAccountTokens } from '../oidc/adapter.ts';
import type { LogoutNotifier } from '../oidc/backchannel.ts';
import { emitEvent, forgetEventValues } from '../events/outbox.ts';

/** What an administrator may search accounts by; exactly one key per search. */
export type AccountQuery =
  | { phone: string } | { email: string } | { username: string }
  | { legacy: { source: string; sourceId: string } } | { mac: string };

const LIMIT = 50;

/** Accounts matching one key, verified or not (administrators look for people, not credentials). */
export async function searchAccounts(db: Db, query: AccountQuery): Promise<string[]> {
  if ('phone' in query || 'email' in query || 'username' in query) {
    const [kind, value] = 'phone' in query ? ['phone', normalisePhone(query.phone)]
      : 'email' in query ? ['email', normaliseEmail(query.email)] : ['username', normaliseUsername(query.username)];
    if (!value) throw new AppError('admin.bad_query', { detail: `not a ${kind}` });
    return db('identifiers').where({ kind, value }).distinct().limit(LIMIT).pluck('account_id');
  }
  if ('mac' in query) {
    const mac = normaliseMac(query.mac);
    if (!mac) throw new AppError('admin.bad_query', { detail: 'not a MAC address' });
    return db('device_bindings as b').join('devices as d', 'd.id', 'b.device_id').where('d.mac', mac).distinct().limit(LIMIT).pluck('b.account_id');
  }
  // A legacy id leads to the account its record is linked to, and on to the survivor of a merge.
  const rows = await db('record_links as l').join('legacy_records as r', 'r.id', 'l.record_id').join('accounts as a', 'a.id', 'l.account_id')
    .where({ 'r.source': query.legacy.source, 'r.source_id': query.legacy.sourceId })
    .select(db.raw('coalesce(a.merged_into, a.id) as account_id'));
  return [...new Set(rows.map((r: { account_id: string }) => r.account_id))];
}

/** Everything an administrator sees of one account: never a hash, a secret or a token. */
export async function accountDetails(db: Db, id: string) {
  const account = await db('accounts').where({ id }).first('id', 'status', 'merged_into', 'profile', 'created_at', 'updated_at');
  if (!account) throw new AppError('identity.account_not_found');
  const [identifiers, devices, legacy, mergedFrom, sessions, upstreams, hasPassword] = await Promise.all([
    db('identifiers').where({ account_id: id }).orderBy('id').select('id', 'kind', 'value', 'verified', 'is_primary', 'source', 'created_at'),
    db('device_bindings as b').join('devices as d', 'd.id', 'b.device_id').where('b.account_id', id)
      .select('d.id', 'd.mac', 'd.type', 'd.model', 'd.room', 'b.bound_at', 'b.source'),
    db('record_links as l').join('legacy_records as r', 'r.id', 'l.record_id').join('accounts as a', 'a.id', 'l.account_id')
      .where((w) => w.where('a.id', id).orWhere('a.merged_into', id))
      .orderBy('r.id').select('r.source', 'r.source_id', 'l.rule', 'l.merge_run_id', 'l.account_id as linked_account'),
    db('accounts').where({ merged_into: id }).pluck('id'),
    db('oidc_models').where({ model: 'Session', account_id: id }).count('* as n').first(),
    db('external_identities').where({ account_id: id }).select('provider', 'created_at', 'last_used_at'),
    db('credentials').where({ account_id: id, type: 'password' }).first('id'),
  ]);
  return {
    ...account, identifiers, devices, upstreams, hasPassword: hasPassword !== undefined,
    legacyRecords: legacy.map((r: Record<string, unknown>) => ({ source: r.source, sourceId: r.source_id, rule: r.rule, mergeRun: Number(r.merge_run_id), linkedAccount: r.linked_account })),
    mergedFrom, sessions: Number(sessions?.n ?? 0),
  };
}

async function setStatus(db: Db, id: string, from: 'active' | 'locked', to: 'active' | 'locked', by: Actor) {
  return db.transaction(async (trx) => {
    const n = await trx('accounts').where({ id, status: from }).update({ status: to, updated_at: trx.fn.now() });
    if (n === 0) {
      if (!await trx('accounts').where({ id }).first('id')) throw new AppError('identity.account_not_found');
      throw new AppError('admin.wrong_status', { detail: `account is not ${from}` });
    }
    await recordAudit(trx, { ...by, action: to === 'locked' ? 'account.locked' : 'account.unlocked', subject: id });
    await emitEvent(trx, { type: to === 'locked' ? 'account.locked' : 'account.unlocked', accountId: id, data: { account_id: id } });
  });
}

/** Locks an account: nobody signs in to it, and every session and token it has ends. */
export async function lockAccount(db: Db, notifyLogout: LogoutNotifier, id: string, by: Actor): Promise<void> {
  await setStatus(db, id, 'active', 'locked', by);
  await notifyLogout(id);
  await revokeAccountTokens(db, id);
}

export async function unlockAccount(db: Db, id: string, by: Actor): Promise<void> {
  await setStatus(db, id, 'locked', 'active', by);
}

/**
 * Erasure on request (PIPL): every piece of personal data of the account goes: identifiers,
 * credentials, linked upstream identities, device bindings, sessions and tokens, the profile,
 * the legacy rows' contents and the values that linked them, codes sent to its phones and
 * emails, addresses in its audit entries. What stays is a tombstone: the account id (an
 * `sub` is never reused) and the map from legacy ids to it, so downstream systems can still
 * resolve old ids. Accounts merged into it are erased with it.
 */
export async function eraseAccount(db: Db, notifyLogout: LogoutNotifier, id: string, by: Actor): Promise<void> {
  await notifyLogout(id).catch(() => undefined);
  await db.transaction(async (trx) => {
    const account = await trx('accounts').where({ id }).forUpdate().first('status');
    if (!account) throw new AppError('identity.account_not_found');
    if (account.status === 'merged') throw new AppError('admin.wrong_status', { detail: 'erase the account it was merged into' });
    const ids = [id, ...await trx('accounts').where({ merged_into: id }).pluck('id')];
    await scrub(trx, ids);
    await trx('accounts').where({ id }).update({ status: 'erased', profile: {}, updated_at: trx.fn.now() });
    await trx('accounts').whereIn('id', ids.slice(1)).update({ profile: {}, updated_at: trx.fn.now() });
    await recordAudit(trx, { actor: by.actor, action: 'account.erased', subject: id, detail: { merged_accounts: ids.length - 1 } });
    await emitEvent(trx, { type: 'account.erased', accountId: id, data: { account_id: id, merged_accounts: ids.slice(1) } });
  });
}

async function scrub(trx: DbOrTx, ids: string[]): Promise<void> {
  const values: string[] = await trx('identifiers').whereIn('account_id', ids).whereIn('kind', ['phone', 'email']).pluck('value');
  if (values.length > 0) await trx('one_time_codes').whereIn('target', values).delete();
  await trx('identifiers').whereIn('account_id', ids).delete();
  await trx('credentials').whereIn('account_id', ids).delete();
  await trx('external_identities').whereIn('account_id', ids).delete();
  await trx('upstream_logins').whereIn('account_id', ids).delete();
  await trx('device_bindings').whereIn('account_id', ids).delete();
  await trx('devices').whereIn('anonymous_account_id', ids).update({ anonymous_account_id: null });
  await trx('oidc_models').whereIn('account_id', ids).delete();
  const records = trx('record_links').whereIn('account_id', ids).select('record_id');
  await trx('legacy_records').whereIn('id', records).update({ payload: {}, normalised: {}, digest: '' });
  await trx('legacy_evidence').whereIn('record_id', records).delete();
  await trx('record_links').whereIn('account_id', ids).update({ evidence: '[]' });
  // What undo would restore of these accounts is personal data too: the runs can no longer bring it back.
  await trx('merge_run_journal')
    .whereRaw("before->'row'->>'account_id' = any(?)", [ids])
    .orWhere((w) => w.where({ table_name: 'accounts' }).whereRaw("key->>'id' = any(?)", [ids]))
    .delete();
  await trx('upstream_logins').whereIn('proven_account_id', ids).delete();
  await trx('audit_log').whereIn('subject', ids).update({ ip: null, user_agent: null });
  // Events about these accounts stay (downstream systems re-key by them); the phones and emails in them go.
  await forgetEventValues(trx, ids);
}
