import type { Knex } from 'knex';
import type { DbOrTx } from '../db/database.ts';
import type { EventType } from './event-types.ts';

export type { EventType } from './event-types.ts';

/**
 * An event for downstream systems. `accountId` is the ordering key: a subscriber receives
 * the events of one account in the order they were written. `data` is the payload's `data`.
 */
export interface NewEvent {
  type: EventType;
  accountId?: string | null | undefined;
  data: Record<string, unknown>;
}

/**
 * The transactional outbox: the event is a row written in the caller's transaction, so it
 * exists exactly when the change that caused it commits (none for a rolled-back one). The
 * delivery worker (webhooks.ts) sends it later; its `event_id` (a UUID the database makes)
 * is the idempotency id receivers see.
 */
export async function emitEvent(trx: DbOrTx, event: NewEvent): Promise<void> {
  await trx('events').insert({ type: event.type, account_id: event.accountId ?? null, data: JSON.stringify(event.data) });
}

/** Many events in one statement (a merge batch): one round trip however many rows. */
export async function emitEvents(trx: Knex | Knex.Transaction, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await trx.raw('insert into events (type, account_id, data) select * from unnest(?::text[], ?::text[], ?::jsonb[])', [
    events.map((e) => e.type), events.map((e) => e.accountId ?? null), events.map((e) => JSON.stringify(e.data)),
  ] as Knex.RawBinding[]);
}

/** Identifier kinds whose value an event carries. */
const VALUE_SHOWN = new Set(['phone', 'email']);

/**
 * How an identifier appears in an event. Phones and emails carry their value: the CRM and
 * the order system key customers by them and must re-key when one moves. Social ids (WeChat
 * unionid/openid, QQ openid, Weibo uid, an upstream subject) and usernames carry only their
 * kind (and provider): they were issued to CHUCS for sign-in, are correlation handles across
 * apps, and no downstream system needs them to find its rows (legacy ids serve that).
 */
export function identifierData(i: { kind: string; value?: string | undefined; verified?: boolean | undefined; provider?: string | undefined }): Record<string, unknown> {
  return {
    kind: i.kind,
    ...(i.provider ? { provider: i.provider } : {}),
    ...(VALUE_SHOWN.has(i.kind) && i.value !== undefined ? { value: i.value } : {}),
    ...(i.verified !== undefined ? { verified: i.verified } : {}),
  };
}

/** Who made a change, as downstream systems see it: the channel, never an operator's name. */
export function viaOf(actor: string): string {
  return actor.replace(/^(cli|admin|account):.*$/, '$1');
}

/**
 * Takes the phone and email values out of the events of erased accounts (PIPL): the events
 * stay, so the history of ids downstream systems re-keyed by is kept, and one not yet
 * delivered goes out without them. Call it in the erasure's transaction.
 */
export async function forgetEventValues(trx: DbOrTx, accountIds: readonly string[]): Promise<number> {
  if (accountIds.length === 0) return 0;
  const { rows } = await trx.raw(`update events set data = case
      when data->'identifiers' is not null then jsonb_set(data, '{identifiers}',
        coalesce((select jsonb_agg(i - 'value') from jsonb_array_elements(data->'identifiers') i), '[]'::jsonb))
      else data - 'value' end
    where account_id = any(?::text[]) and type in ('account.created', 'identifier.linked', 'identifier.unlinked')
    returning 1`, [[...accountIds]] as never);
  return rows.length;
}
