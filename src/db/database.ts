import { mkdirSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import pg from 'pg';

// int8 (counts, ids) as JS numbers, as PGlite does: our int8 values stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));

/**
 * knex-pglite names a delete's command "DEL" (from knex's method name), so knex's postgres
 * dialect returns the raw result instead of the row count. Deletes count rows here as on pg.
 */
type QueryObject = { method?: string; returning?: unknown; response?: { affectedRows?: number } };
const PgLiteBase = ClientPgLite as unknown as new (config: Knex.Config) => { processResponse(obj: QueryObject, runner: unknown): unknown };

class PgLiteClient extends PgLiteBase {
  override processResponse(obj: QueryObject, runner: unknown) {
    if (obj.method === 'del' && !obj.returning) return obj.response?.affectedRows ?? 0;
    return super.processResponse(obj, runner);
  }
}

export type Db = Knex;
export type DbOrTx = Knex | Knex.Transaction;

export interface DatabaseOptions {
  /** PostgreSQL URL; absent means embedded PGlite. */
  url?: string | undefined;
  /** PostgreSQL schema to work in (created if missing). */
  schema?: string | undefined;
  /** PGlite data folder; absent means in memory. */
  dataDir?: string | undefined;
  /** A PGlite instance to use as is (tests start one from a migrated dump). */
  pglite?: unknown;
  poolMax?: number;
}

/** Opens the database: PostgreSQL when a URL is given, else PGlite in a data folder. */
export async function openDatabase(opts: DatabaseOptions): Promise<Db> {
  if (opts.url) {
    const db = knexFactory({
      client: 'pg',
      connection: { connectionString: opts.url, application_name: 'chucs', connectionTimeoutMillis: 5000 },
      searchPath: opts.schema ? [opts.schema] : undefined,
      pool: { min: 0, max: opts.poolMax ?? 10, acquireTimeoutMillis: 5000 },
    });
    if (opts.schema) await db.raw('create schema if not exists ??', [opts.schema]);
    return db;
  }
  if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
  const connection = opts.pglite
    ? () => ({ pglite: opts.pglite })
    : opts.dataDir ? { filename: opts.dataDir } : {};
  return knexFactory({ client: PgLiteClient as unknown as typeof Knex.Client, dialect: 'postgres', connection } as Knex.Config);
}

