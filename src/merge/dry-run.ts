import type { Knex } from 'knex';

/** Thrown to roll a transaction back on purpose, carrying what it computed. */
class DryRun<T> extends Error {
  readonly value: T;
  constructor(value: T) {
    super('dry run');
    this.value = value;
  }
}

/** Runs `fn` in a transaction that is always rolled back: the database is left as it was. */
export async function inRolledBackTransaction<T>(db: Knex, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  try {
    await db.transaction(async (trx) => { throw new DryRun(await fn(trx)); });
  } catch (err) {
    if (err instanceof DryRun) return err.value as T;
    throw err;
  }
  throw new Error('unreachable');
}
