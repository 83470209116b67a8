import type { Knex } from 'knex';
import type { Db, DbOrTx } from '../db/database.ts';

/**
 * Delivery state per subscriber (a configured webhook) and event. A row is due when
 * undelivered, its `next_attempt_at` has passed, and no earlier event of the same account
 * is still undelivered to that subscriber: an account's events arrive in order, and an
 * account whose receiver keeps failing holds back only its own later events.
 *
 * | state     | row                                             | next                          |
 * |-----------|-------------------------------------------------|-------------------------------|
 * | written   | events.fanned_out = false (no delivery rows)    | fanned out                    |
 * | pending   | delivered_at null, next_attempt_at <= now()     | in flight (claimed)           |
 * | in flight | attempts + 1, next_attempt_at = now() + lease   | delivered, or waiting         |
 * | waiting   | next_attempt_at = now() + backoff, last_error   | pending when the time comes   |
 * | delivered | delivered_at set                                | pending again only by replay  |
 *
 * An attempt whose outcome is never written (the node died, the database went away) is
 * pending again when its lease runs out: nothing is lost, it is sent once more.
 */

/** One node fans out at a time, oldest first, so no subscriber sees an account's later event first. */
const FANOUT_LOCK = 7_402_301;

/** Events given delivery rows per transaction: a merge run may write hundreds of thousands. */
const FANOUT_BATCH = 2000;

export interface Subscription { id: string; events?: readonly string[] | undefined }

export interface EventRow { id: number; event_id: string; type: string; account_id: string | null; data: Record<string, unknown>; created_at: Date }

export interface ClaimedDelivery { subscriber: string; attempt: number; event: EventRow }

const wants = (s: Subscription, type: string) => !s.events || s.events.includes(type);

/**
 * Gives the oldest events not yet fanned out a delivery row for each subscriber that wants
 * them. Returns how many events it took (0: nothing to do, or another node is at it).
 */
export async function fanOut(db: Db, subscribers: readonly Subscription[]): Promise<number> {
  return db.transaction(async (trx) => {
    const { rows: [lock] } = await trx.raw('select pg_try_advisory_xact_lock(?) as locked', [FANOUT_LOCK]);
    if (!lock.locked) return 0;
    const events: Array<{ id: number; type: string; account_id: string | null }> = await trx('events').whereRaw('not fanned_out')
      .orderBy('id').limit(FANOUT_BATCH).select('id', 'type', 'account_id');
    if (events.length === 0) return 0;
    const rows = subscribers.flatMap((s) => events.filter((e) => wants(s, e.type)).map((e) => [s.id, e.id, e.account_id] as const));
    if (rows.length) {
      await trx.raw(`insert into event_deliveries (subscriber, event_id, account_id)
        select * from unnest(?::text[], ?::bigint[], ?::text[]) on conflict do nothing`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])] as Knex.RawBinding[]);
    }
    await trx.raw('update events set fanned_out = true where id = any(?::bigint[])', [events.map((e) => e.id)] as Knex.RawBinding[]);
    return events.length;
  });
}

/** Events deleted per statement by the retention sweep: short transactions on a big table. */
const SWEEP_BATCH = 2000;

/**
 * Retention: deletes events written before `before` that every subscriber has received
 * (their delivery rows go with them), oldest first, at most `maxBatches` statements of
 * SWEEP_BATCH rows. An event still waiting for any subscriber is kept however old it is.
 */
export async function sweepDeliveredEvents(db: Db, before: Date, maxBatches = 50): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const { rows } = await db.raw(`delete from events where id in (
        select e.id from events e
        where e.created_at < ? and e.fanned_out
          and not exists (select 1 from event_deliveries d where d.event_id = e.id and d.delivered_at is null)
        order by e.id limit ?)
      returning 1`, [before, SWEEP_BATCH]);
    deleted += rows.length;
    if (rows.length < SWEEP_BATCH) break;
  }
  return deleted;
}

/**
 * Claims due deliveries (at most one per subscriber and account) for `leaseMs`: the attempt
 * is counted and the row is not due again until the lease ends, so other nodes leave it
 * alone while this one sends. One statement, committed before anything is sent: no lock is
 * held during HTTP, and (PostgreSQL flushes the log in order) the event's own transaction
 * is on disk before any receiver hears of it, even one of a merge batch committed without
 * waiting for the disk.
 */
export async function claimDeliveries(db: Db, subscribers: readonly string[], limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  if (subscribers.length === 0) return [];
  const { rows } = await db.raw(`with due as (
      select d.subscriber, d.event_id from event_deliveries d
      where d.subscriber = any(?::text[]) and d.delivered_at is null and d.next_attempt_at <= now()
        and not exists (select 1 from event_deliveries p
          where p.subscriber = d.subscriber and p.account_id = d.account_id and p.delivered_at is null and p.event_id < d.event_id)
      order by d.event_id
      limit ?
      for update of d skip locked)
    update event_deliveries d set attempts = d.attempts + 1, next_attempt_at = now() + ? * interval '1 millisecond'
    from due, events e
    where d.subscriber = due.subscriber and d.event_id = due.event_id and e.id = d.event_id
    returning d.subscriber, d.attempts, e.id, e.event_id, e.type, e.account_id, e.data, e.created_at`,
  [subscribers, limit, leaseMs] as Knex.RawBinding[]);
  return (rows as Array<EventRow & { subscriber: string; attempts: number }>)
    .sort((a, b) => Number(a.id) - Number(b.id))
    .map((r) => ({
      subscriber: r.subscriber, attempt: r.attempts,
      event: { id: Number(r.id), event_id: r.event_id, type: r.type, account_id: r.account_id, data: r.data, created_at: new Date(r.created_at) },
    }));
}

export async function markDelivered(db: Db, subscriber: string, eventId: number): Promise<void> {
  await db('event_deliveries').where({ subscriber, event_id: eventId }).whereNull('delivered_at')
    .update({ delivered_at: db.fn.now(), last_error: null });
}

/**
 * Schedules the next attempt. Only while the row is still this attempt's: when the lease
 * ran out and another node sent it again, that attempt's lease stands.
 */
export async function markFailed(db: Db, subscriber: string, eventId: number, attempt: number, retryInMs: number, error: string): Promise<void> {
  await db('event_deliveries').where({ subscriber, event_id: eventId, attempts: attempt }).whereNull('delivered_at')
    .update({ next_attempt_at: db.raw("now() + ? * interval '1 millisecond'", [retryInMs]), last_error: error.slice(0, 500) });
}

export interface Backlog { subscriber: string; pending: number; retrying: number; oldest: Date | null; lastError: string | null }

/** What is still to be delivered, per subscriber (for `chucs events status` and metrics). */
export async function deliveryBacklog(db: DbOrTx): Promise<{ notFannedOut: number; subscribers: Backlog[] }> {
  const n = (await db('events').whereRaw('not fanned_out').count({ n: '*' }).first())?.n ?? 0;
  const rows = await db('event_deliveries as d').join('events as e', 'e.id', 'd.event_id').whereNull('d.delivered_at')
    .groupBy('d.subscriber').orderBy('d.subscriber')
    .select('d.subscriber', db.raw('count(*)::int as pending'), db.raw('(count(*) filter (where d.attempts > 0))::int as retrying'),
      db.raw('min(e.created_at) as oldest'), db.raw('(array_agg(d.last_error order by d.event_id) filter (where d.last_error is not null))[1] as last_error'));
  return {
    notFannedOut: Number(n),
    subscribers: rows.map((r: { subscriber: string; pending: number; retrying: number; oldest: Date | null; last_error: string | null }) => ({
      subscriber: r.subscriber, pending: Number(r.pending), retrying: Number(r.retrying), oldest: r.oldest ? new Date(r.oldest) : null, lastError: r.last_error,
    })),
  };
}

/** Events from an event (by its idempotency id, inclusive) or from a moment on. */
export type Since = { eventId: string } | { time: Date };

function sinceQuery(db: DbOrTx, since: Since) {
  const q = db('events');
  return 'eventId' in since
    ? q.where('id', '>=', db('events').where({ event_id: since.eventId }).select('id'))
    : q.where('created_at', '>=', since.time);
}

export async function eventExists(db: DbOrTx, eventId: string): Promise<boolean> {
  return (await db('events').where({ event_id: eventId }).first('id')) !== undefined;
}

/** How many events a replay would send again to each subscriber. */
export async function countSince(db: DbOrTx, since: Since, subscribers: readonly Subscription[]): Promise<Array<{ subscriber: string; events: number }>> {
  const out = [];
  for (const s of subscribers) {
    const q = sinceQuery(db, since);
    if (s.events) q.whereIn('type', [...s.events]);
    const n = (await q.count({ n: '*' }).first())?.n ?? 0;
    out.push({ subscriber: s.id, events: Number(n) });
  }
  return out;
}

/**
 * Queues events again for delivery (same idempotency ids, attempts from 1). An event not yet
 * fanned out gets its row now; the fan-out later leaves that row as it is.
 */
export async function requeueSince(db: Db, since: Since, subscribers: readonly Subscription[]): Promise<Array<{ subscriber: string; events: number }>> {
  return db.transaction(async (trx) => {
    const out = [];
    for (const s of subscribers) {
      const source = sinceQuery(trx, since).select(trx.raw('?::text', [s.id]), 'id', 'account_id');
      if (s.events) source.whereIn('type', [...s.events]);
      const { rows } = await trx.raw(`insert into event_deliveries (subscriber, event_id, account_id) ?
        on conflict (subscriber, event_id) do update set delivered_at = null, attempts = 0, next_attempt_at = now(), last_error = null
        returning 1`, [source]);
      out.push({ subscriber: s.id, events: rows.length });
    }
    return out;
  });
}

/** The newest events (oldest first), or those after `afterId`, for `chucs events tail`. */
export async function recentEvents(db: DbOrTx, o: { type?: string | undefined; accountId?: string | undefined; limit: number; afterId?: number | undefined }): Promise<EventRow[]> {
  const q = db('events').select('id', 'event_id', 'type', 'account_id', 'data', 'created_at');
  if (o.type) q.where({ type: o.type });
  if (o.accountId) q.where({ account_id: o.accountId });
  if (o.afterId !== undefined) q.where('id', '>', o.afterId).orderBy('id').limit(o.limit);
  else q.orderBy('id', 'desc').limit(o.limit);
  const rows: EventRow[] = await q;
  return rows.map((r) => ({ ...r, id: Number(r.id), created_at: new Date(r.created_at) })).sort((a, b) => a.id - b.id);
}
