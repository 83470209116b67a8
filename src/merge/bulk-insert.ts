import type { Knex } from 'knex';

/** PostgreSQL types of the columns a bulk insert carries. */
export type ColumnType = 'text' | 'bigint' | 'int' | 'boolean' | 'jsonb' | 'timestamptz';

/** Rows per statement: arrays of this many values are cheap to send and to unnest. */
const ROWS_PER_STATEMENT = 20_000;

/**
 * Inserts rows as one array per column (`insert ... select * from unnest(...)`): a few
 * parameters per statement however many rows, far faster than one parameter per value.
 * `tail` is appended (an `on conflict` clause, a `returning` list); returned rows come back.
 */
export async function insertColumns<R = unknown>(
  trx: Knex.Transaction, table: string, columns: Record<string, ColumnType>, rows: ReadonlyArray<Record<string, unknown>>, tail = '',
): Promise<R[]> {
  const names = Object.keys(columns);
  const out: R[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const part = rows.slice(i, i + ROWS_PER_STATEMENT);
    const arrays = names.map((n) => part.map((r) => {
      const v = r[n];
      return columns[n] === 'jsonb' && v !== null && v !== undefined ? JSON.stringify(v) : v ?? null;
    }));
    const { rows: returned } = await trx.raw(
      `insert into ?? (${names.map(() => '??').join(', ')}) select * from unnest(${names.map((n) => `?::${columns[n]}[]`).join(', ')}) ${tail}`,
      [table, ...names, ...arrays] as Knex.RawBinding[],
    );
    out.push(...(returned ?? []));
  }
  return out;
}
