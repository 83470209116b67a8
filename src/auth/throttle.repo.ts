import type { Db, DbOrTx } from '../db/database.ts';
import { throttleDecision, strictest, type ThrottleDecision, type ThrottleRule, type ThrottleState } from './throttle.ts';

export async function readThrottle(db: DbOrTx, key: string): Promise<ThrottleState | undefined> {
  const row = await db('throttles').where({ key }).first('failures', 'last_failure_at');
  return row ? { failures: row.failures, lastFailureAt: new Date(row.last_failure_at) } : undefined;
}

/** Counts one failure; a key quiet for `forgetAfterSeconds` starts over at one. Returns the count now. */
export async function recordFailure(db: DbOrTx, key: string, now: Date, forgetAfterSeconds: number): Promise<number> {
  const forgetBefore = new Date(now.getTime() - forgetAfterSeconds * 1000);
  const [row] = await db('throttles')
    .insert({ key, failures: 1, last_failure_at: now })
    .onConflict('key')
    .merge({
      failures: db.raw('case when throttles.last_failure_at < ? then 1 else throttles.failures + 1 end', [forgetBefore]),
      last_failure_at: now,
    })
    .returning('failures');
  return Number(row.failures);
}

/**
 * What a reservation counted, so that a success can take it back exactly (forgiveFailure):
 * per key, the state before and the count it wrote.
 */
export interface Reservation { at: Date; before: ReadonlyMap<string, ThrottleState | undefined>; wrote: ReadonlyMap<string, number> }

/**
 * Decides whether an attempt may go ahead under every key's rule and, if it may, counts it as
 * a failure at once, all under a lock per key: of many attempts sent together, only as many
 * as the rules allow go ahead, whatever their checks cost. A success then takes its count
 * back (clearThrottle, or forgiveFailure with the reservation).
 */
export async function reserveAttempt(
  db: Db, keys: ReadonlyArray<{ key: string; rule: ThrottleRule }>, now: Date,
): Promise<ThrottleDecision & { reservation?: Reservation }> {
  const ordered = [...keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)); // one lock order: no deadlock
  return db.transaction(async (trx) => {
    for (const { key } of ordered) await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`throttle:${key}`]);
    const before = new Map<string, ThrottleState | undefined>();
    for (const { key } of ordered) before.set(key, await readThrottle(trx, key));
    const decision = strictest(ordered.map(({ key, rule }) => throttleDecision(before.get(key), rule, now)));
    if (!decision.allowed) return decision;
    const wrote = new Map<string, number>();
    for (const { key, rule } of ordered) wrote.set(key, await recordFailure(trx, key, now, rule.forgetAfterSeconds));
    return { ...decision, reservation: { at: now, before, wrote } };
  });
}

/**
 * Takes back what a reservation counted against `key` (the attempt succeeded). If nothing
 * has counted against the key since (the row is still what the reservation wrote: its time
 * and its count, so neither a later nor a same-millisecond attempt is mistaken for it), the
 * key is as it was before, its time of last failure too: a success must not restart the
 * key's quiet period. Otherwise the key loses one failure.
 */
export async function forgiveFailure(db: DbOrTx, key: string, reservation: Reservation): Promise<void> {
  const before = reservation.before.get(key);
  const untouched = db('throttles').where({ key, last_failure_at: reservation.at, failures: reservation.wrote.get(key) ?? -1 });
  const restored = before
    ? await untouched.clone().update({ failures: before.failures, last_failure_at: before.lastFailureAt })
    : await untouched.clone().delete();
  if (restored === 0) await db('throttles').where({ key }).where('failures', '>', 0).decrement('failures', 1);
}

export interface GuessLimiter {
  /** Counts a guess by `who` before it is checked; refused past the rule. */
  reserve(who: string): Promise<ThrottleDecision & { reservation?: Reservation }>;
  /** The guess was right: it does not count. */
  forgive(who: string, reservation: Reservation): Promise<void>;
}

/** reserveAttempt and forgiveFailure for one kind of guess, keyed `<prefix>:<who>`. */
export function createGuessLimiter({ db, prefix, rule, clock }: { db: Db; prefix: string; rule: ThrottleRule; clock: () => Date }): GuessLimiter {
  return {
    reserve: (who) => reserveAttempt(db, [{ key: `${prefix}:${who}`, rule }], clock()),
    forgive: (who, reservation) => forgiveFailure(db, `${prefix}:${who}`, reservation),
  };
}

export async function clearThrottle(db: DbOrTx, key: string): Promise<void> {
  await db('throttles').where({ key }).delete();
}

/** Old keys go; a key an attempt holds right now is left for the next sweep (no lock waits, no deadlock). */
export async function sweepThrottles(db: DbOrTx, before: Date): Promise<number> {
  const { rows } = await db.raw(`delete from throttles where key in (
      select key from throttles where last_failure_at < ? for update skip locked)
    returning 1`, [before]);
  return rows.length;
}
