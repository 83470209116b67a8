import type { Db } from '../db/database.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { ClientsService } from '../clients/clients.service.ts';
import { revokeAccountTokens } from '../oidc/adapter.ts';
import type { Actor } from '../identity/account-settings.ts';
import { ACCOUNT_CLIENT_ID } from './account-client.ts';
import type { LogoutNotifier } from '../oidc/backchannel.ts';

export interface GrantedApp {
  clientId: string;
  name: string;
  scopes: string[];
  grantedAt: Date | undefined;
}

/** The apps this Changhong ID has let in (oidc-provider grants), the account center excepted. */
export async function listGrantedApps(db: Db, clients: ClientsService, accountId: string): Promise<GrantedApp[]> {
  const rows: Array<{ payload: { clientId: string; openid?: { scope?: string }; iat?: number } }> = await db('oidc_models')
    .where({ model: 'Grant', account_id: accountId })
    .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()))
    .select('payload');
  const byClient = new Map<string, GrantedApp>();
  for (const { payload } of rows) {
    if (payload.clientId === ACCOUNT_CLIENT_ID) continue;
    const seen = byClient.get(payload.clientId);
    const scopes = (payload.openid?.scope ?? '').split(' ').filter(Boolean);
    const grantedAt = payload.iat ? new Date(payload.iat * 1000) : undefined;
    if (seen) {
      seen.scopes = [...new Set([...seen.scopes, ...scopes])];
      continue;
    }
    const name = await clients.show(payload.clientId).then((c) => c.name, () => payload.clientId);
    byClient.set(payload.clientId, { clientId: payload.clientId, name, scopes, grantedAt });
  }
  return [...byClient.values()].sort((a, b) => a.name.localeCompare(b.name, 'zh-CN'));
}

/**
 * Takes back what one app was given: its grants and every token issued under them, telling
 * the app by back-channel logout. It must ask again (consent, for a third-party app).
 */
export async function revokeApp(db: Db, notifyLogout: LogoutNotifier, accountId: string, clientId: string, by: Actor): Promise<boolean> {
  await notifyLogout(accountId, { onlyClientId: clientId });
  return db.transaction(async (trx) => {
    const grants: string[] = await trx('oidc_models').where({ model: 'Grant', account_id: accountId }).whereRaw("payload->>'clientId' = ?", [clientId]).pluck('id');
    if (grants.length === 0) return false;
    await trx('oidc_models').whereIn('grant_id', grants).delete();
    await trx('oidc_models').where({ model: 'Grant' }).whereIn('id', grants).delete();
    await recordAudit(trx, { ...by, action: 'app.revoked', subject: accountId, detail: { client: clientId } });
    return true;
  });
}

/**
 * After a password change: ends every other session of the account and revokes what its apps
 * hold (back-channel logout first), as the big providers do: whoever knew the old password is
 * out. The session of the account center page `keepSid` belongs to, with its apps, stays.
 */
export async function signOutOtherSessions(db: Db, notifyLogout: LogoutNotifier, accountId: string, keepSid: string, by: Actor): Promise<number> {
  const kept = await db('oidc_models').where({ model: 'Session', account_id: accountId })
    .whereRaw(`payload #>> '{authorizations,${ACCOUNT_CLIENT_ID},sid}' = ?`, [keepSid]).first('id', 'payload') as
    { id: string; payload: { authorizations?: Record<string, { grantId?: string }> } } | undefined;
  const keptGrants = Object.values(kept?.payload.authorizations ?? {}).map((a) => a.grantId).filter((g): g is string => typeof g === 'string');
  await notifyLogout(accountId, kept ? { exceptSession: kept.id } : {});
  const revoked = await db('oidc_models').where({ account_id: accountId })
    .whereNot((q) => q.where({ model: 'Session', id: kept?.id ?? '' }))
    .whereNot((q) => q.where({ model: 'Grant' }).whereIn('id', keptGrants))
    .andWhere((q) => q.whereNull('grant_id').orWhereNotIn('grant_id', keptGrants))
    .delete();
  await recordAudit(db, { ...by, action: 'sessions.ended_elsewhere', subject: accountId, detail: { revoked } });
  return revoked;
}

/** Ends every session and revokes every token of the account, on every device and app (back-channel logout first). */
export async function signOutEverywhere(db: Db, notifyLogout: LogoutNotifier, accountId: string, by: Actor): Promise<number> {
  await notifyLogout(accountId);
  const revoked = await revokeAccountTokens(db, accountId);
  await recordAudit(db, { ...by, action: 'sessions.ended_everywhere', subject: accountId, detail: { revoked } });
  return revoked;
}
