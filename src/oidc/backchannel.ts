import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';

/**
 * Tells apps that a person's sessions ended when CHUCS ends them itself ("sign out
 * everywhere", revoking an app), the way oidc-provider does on RP-initiated logout: a
 * back-channel logout token to each app of each session that registered a logout URI.
 * A failed delivery is logged; it does not stop the sign-out.
 */
export function createLogoutNotifier({ db, provider, logger }: { db: Db; provider: Provider; logger: Logger }) {
  /** Tells the apps of the account's sessions (only `onlyClientId`'s; all but the session `exceptSession`). */
  return async function notifyLogout(accountId: string, { onlyClientId, exceptSession }: { onlyClientId?: string; exceptSession?: string } = {}): Promise<number> {
    const sessions: Array<{ id: string; payload: { authorizations?: Record<string, { sid?: string }> } }> = await db('oidc_models')
      .where({ model: 'Session', account_id: accountId }).select('id', 'payload');
    const deliveries: Array<Promise<void>> = [];
    for (const { id, payload: session } of sessions) {
      if (id === exceptSession) continue;
      for (const [clientId, authorization] of Object.entries(session.authorizations ?? {})) {
        if (onlyClientId !== undefined && clientId !== onlyClientId) continue;
        const client = await provider.Client.find(clientId);
        if (!client?.backchannelLogoutUri || !authorization.sid) continue;
        deliveries.push((client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> })
          .backchannelLogout(accountId, authorization.sid)
          .catch((err: Error) => logger.warn({ err: err.message, client: clientId }, 'back-channel logout delivery failed')));
      }
    }
    await Promise.all(deliveries);
    return deliveries.length;
  };
}

export type LogoutNotifier = ReturnType<typeof createLogoutNotifier>;
