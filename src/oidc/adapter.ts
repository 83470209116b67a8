import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import type { ClientsService } from '../clients/clients.service.ts';
import { isStorable, unstorableIn } from '../storable-text.ts';

/**
 * oidc-provider's storage in one table (`oidc_models`), with the lookup fields as real
 * columns so that a logout or a merge can revoke everything of a grant or an account.
 * Clients are not stored here: they come from our own `clients` table.
 */
const TABLE = 'oidc_models';

const epoch = (d: Date | string) => Math.floor(new Date(d).getTime() / 1000);

/**
 * Ids, codes and client ids reach us from requests. PostgreSQL text cannot hold NUL: such a
 * value can match no row, and sending it would fail the query (a 500 instead of invalid_grant).
 */
const canBeStored = isStorable;

export function createAdapterFactory({ db, clients }: { db: Db; clients: ClientsService }) {
  return function adapterFor(model: string): Adapter {
    return whileDatabaseAway(model === 'Client' ? clientAdapter(clients) : modelAdapter(db, model));
  };
}

/**
 * oidc-provider's answer while the database is away: temporarily_unavailable with 503 (an
 * authorization request with a known client and redirect URI gets it at its redirect URI, as
 * RFC 6749 4.1.2.1 says), not server_error with 500. The cause stays private (error_detail).
 */
export function databaseUnavailable(cause: unknown): Error {
  const err = new errors.TemporarilyUnavailable('the service is temporarily unavailable, please retry shortly', { cause });
  return Object.assign(err, { status: 503, statusCode: 503 });
}

function whileDatabaseAway(adapter: Adapter): Adapter {
  const guarded: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(adapter) as Array<[string, (...args: unknown[]) => Promise<unknown>]>) {
    guarded[name] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (err) {
        throw isDatabaseUnavailable(err) ? databaseUnavailable(err) : err;
      }
    };
  }
  return guarded as unknown as Adapter;
}

function clientAdapter(clients: ClientsService): Adapter {
  const readOnly = async () => { throw new Error('clients are managed with "chucs clients"'); };
  return {
    find: async (id) => (canBeStored(id) ? (await clients.providerMetadata(id)) as AdapterPayload | undefined : undefined),
    upsert: readOnly, consume: readOnly, destroy: readOnly, revokeByGrantId: readOnly,
    findByUid: async () => undefined, findByUserCode: async () => undefined,
  };
}

function modelAdapter(db: Db, model: string): Adapter {
  const rows = () => db(TABLE).where({ model });
  const live = (q: ReturnType<typeof rows>) =>
    q.andWhere((w) => w.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()));

  async function findWhere(column: 'id' | 'uid' | 'user_code', value: string) {
    if (!canBeStored(value)) return undefined;
    const row = await live(rows().where(column, value)).first('payload', 'consumed_at');
    if (!row) return undefined;
    const payload = row.payload as AdapterPayload;
    return row.consumed_at ? { ...payload, consumed: epoch(row.consumed_at) } : payload;
  }

  return {
    async upsert(id, payload, expiresIn) {
      // Payloads carry request parameters as sent (state, nonce, login_hint, claims, what a
      // device says of itself): one jsonb cannot hold is the request's fault, a 400.
      const unstorable = unstorableIn(payload);
      if (unstorable) throw new errors.InvalidRequest(`the request holds ${unstorable}`);
      const row = {
        model,
        id,
        payload,
        grant_id: payload.grantId ?? null,
        uid: payload.uid ?? null,
        user_code: payload.userCode ?? null,
        account_id: payload.accountId ?? null,
        expires_at: expiresIn ? new Date(Date.now() + expiresIn * 1000) : null,
      };
      await db(TABLE).insert(row).onConflict(['model', 'id']).merge(['payload', 'grant_id', 'uid', 'user_code', 'account_id', 'expires_at']);
    },
    find: (id) => findWhere('id', id),
    findByUid: (uid) => findWhere('uid', uid),
    findByUserCode: (userCode) => findWhere('user_code', userCode),
    async consume(id) {
      await rows().where({ id }).update({ consumed_at: db.fn.now() });
    },
    async destroy(id) {
      await rows().where({ id }).delete();
    },
    async revokeByGrantId(grantId) {
      await rows().where({ grant_id: grantId }).delete();
    },
  };
}

/** Deletes expired rows; returns how many. Run on a schedule by every node (idempotent). */
export async function sweepExpired(db: Db): Promise<number> {
  return db(TABLE).where('expires_at', '<', db.fn.now()).delete();
}

/** Revokes everything oidc-provider holds for an account: sessions, grants, tokens. */
export async function revokeAccountTokens(db: Db, accountId: string): Promise<number> {
  return db(TABLE).where({ account_id: accountId }).delete();
}
