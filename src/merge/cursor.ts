import type { Knex } from 'knex';

/** Rows fetched per round trip when streaming a query. */
export const CURSOR_FETCH_ROWS = 20_000;

let cursorSeq = 0;

/**
 * Streams a query through a server-side cursor, in constant memory, on PostgreSQL and
 * PGlite alike. Must run inside a transaction (cursors live as long as it).
 */
export async function* streamRows<T>(trx: Knex.Transaction, sql: string, bindings: readonly unknown[] = []): AsyncGenerator<T[]> {
  const name = `chucs_cursor_${++cursorSeq}`;
  await trx.raw(`declare ${name} no scroll cursor for ${sql}`, bindings as Knex.RawBinding[]);
  try {
    for (;;) {
      const result = await trx.raw(`fetch ${CURSOR_FETCH_ROWS} from ${name}`);
      const rows = result.rows as T[];
      if (rows.length === 0) return;
      yield rows;
    }
  } finally {
    await trx.raw(`close ${name}`);
  }
}
