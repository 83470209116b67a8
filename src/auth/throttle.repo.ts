import type { Db, DbOrTx } from '../db/database.ts';
import { throttleDecision, strictest, type ThrottleDecision, type ThrottleRule, type ThrottleState } from './throttle.ts';

export async function readThrottle(db: DbOrTx, key: string): Promise<ThrottleState | undefined> {
  const row = await db('throttles').where({ key }).first('failures', 'last_failure_at');
  return row ? { failures: row.failures, lastFailureAt: new Date(row.last_failure_at) } : undefined;
}

/** Counts one failure; a key quiet for `forgetAfterSeconds` starts over at one. */
export async function recordFailure(db: DbOrTx, key: string, now: Date, forgetAfterSeconds: number): Promise<void> {
  const forgetBefore = new Date(now.getTime() - forgetAfterSeconds * 1000);
  await db('throttles')
    .insert({ key, failures: 1, last_failure_at: now })
    .onConflict('key')
    .merge({
      failures: db.raw('case when throttles.last_failure_at < ? then 1 else throttles.failures + 1 end', [forgetBefore]),
      last_failure_at: now,
    });
}

/**
 * Decides whether an attempt may go ahead under every key's rule and, if it may, counts it as
 * a failure at once, all under a lock per key: of many attempts sent together, only as many
 * as the rules allow go ahead, whatever their checks cost. A success then takes its count
 * back (clearThrottle, forgiveFailure).
 */
export async function reserveAttempt(db: Db, keys: ReadonlyArray<{ key: string; rule: ThrottleRule }>, now: Date): Promise<ThrottleDecision> {
  const ordered = [...keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)); // one lock order: no deadlock
  return db.transaction(async (trx) => {
    for (const { key } of ordered) await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`throttle:${key}`]);
    const decisions: ThrottleDecision[] = [];
    for (const { key, rule } of ordered) decisions.push(throttleDecision(await readThrottle(trx, key), rule, now));
    const decision = strictest(decisions);
    if (decision.allowed) {
      for (const { key, rule } of ordered) await recordFailure(trx, key, now, rule.forgetAfterSeconds);
    }
    return decision;
  });
}

export interface GuessLimiter {
  /** Counts a guess by `who` before it is checked; refused past the rule. */
  reserve(who: string): Promise<ThrottleDecision>;
  /** The guess was right: it does not count. */
  forgive(who: string): Promise<void>;
}

/** reserveAttempt and forgiveFailure for one kind of guess, keyed `<prefix>:<who>`. */
export function createGuessLimiter({ db, prefix, rule, clock }: { db: Db; prefix: string; rule: ThrottleRule; clock: () => Date }): GuessLimiter {
  return {
    reserve: (who) => reserveAttempt(db, [{ key: `${prefix}:${who}`, rule }], clock()),
    forgive: (who) => forgiveFailure(db, `${prefix}:${who}`),
  };
}

/** Takes back one counted failure (an attempt reserved by reserveAttempt that succeeded). */
export async function forgiveFailure(db: DbOrTx, key: string): Promise<void> {
  await db('throttles').where({ key }).where('failures', '>', 0).decrement('failures', 1);
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
