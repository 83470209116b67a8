import type { DbOrTx } from '../db/database.ts';
import type { ThrottleState } from './throttle.ts';

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

export async function clearThrottle(db: DbOrTx, key: string): Promise<void> {
  await db('throttles').where({ key }).delete();
}

export async function sweepThrottles(db: DbOrTx, before: Date): Promise<number> {
  return db('throttles').where('last_failure_at', '<', before).delete();
}
