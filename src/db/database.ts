import { mkdirSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import pg from 'pg';
import type { Logger } from 'pino';

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
  /** PostgreSQL: a connection not established by then has failed (pg's connectionTimeoutMillis). */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL: a query with no answer by then fails, and its connection is closed rather than
   * reused. Absent: no limit (migrations, imports and merges run long statements).
   */
  queryTimeoutMs?: number | undefined;
  /** Where knex's own warnings go (its console otherwise). */
  logger?: Logger | undefined;
}

/** knex's messages in our log; a connection lost or refused is the outage's, reported where it is noticed. */
function knexLog(logger: Logger): Knex.Config['log'] {
  return {
    warn: (m: string) => logger[/Acquire connection error|Connection Error/.test(String(m)) ? 'debug' : 'warn']({ knex: String(m) }, 'database pool'),
    error: (m: string) => logger.error({ knex: String(m) }, 'database pool'),
    deprecate: (m: string) => logger.warn({ knex: String(m) }, 'database pool'),
    debug: (m: string) => logger.debug({ knex: String(m) }, 'database pool'),
  };
}

/** Connect timeout when none is given: long enough for a busy server, short enough to fail. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** Opens the database: PostgreSQL when a URL is given, else PGlite in a data folder. */
export async function openDatabase(opts: DatabaseOptions): Promise<Db> {
  if (opts.url) {
    const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    // After a query timeout pg still waits for that query's answer, which a cut network never
    // brings: every later query on that connection would time out too. Such a connection is
    // closed instead (the pool drops it and opens a fresh one when needed): open ones by id.
    const connections = new Map<string, pg.Client>();
    const closing = new Set<string>();
    const db = knexFactory({
      client: 'pg',
      connection: {
        connectionString: opts.url, application_name: 'chucs', connectionTimeoutMillis: connectTimeoutMs,
        // Idle connections to a server that vanished (no RST) are found by TCP keepalive.
        keepAlive: true,
        ...(opts.queryTimeoutMs ? { query_timeout: opts.queryTimeoutMs } : {}),
      },
      searchPath: opts.schema ? [opts.schema] : undefined,
      ...(opts.logger ? { log: knexLog(opts.logger) } : {}),
      pool: {
        min: 0,
        max: opts.poolMax ?? 10,
        // Waiting for a free connection, or for one connection attempt and then a free one.
        acquireTimeoutMillis: 2 * connectTimeoutMs,
        afterCreate(connection: pg.Client & { __knexUid?: string }, done: (err: Error | null, c: unknown) => void) {
          const uid = connection.__knexUid!;
          connections.set(uid, connection);
          connection.once('end', () => { connections.delete(uid); closing.delete(uid); });
          done(null, connection);
        },
        // Closing takes a moment: never hand out a connection that is being closed.
        validate: (connection: { __knexUid?: string }) => !closing.has(connection.__knexUid ?? ''),
      },
    });
    db.on('query-error', (err: Error, obj: { __knexUid?: string }) => {
      const connection = /Query read timeout/.test(err.message) && obj.__knexUid ? connections.get(obj.__knexUid) : undefined;
      if (!connection) return;
      closing.add(obj.__knexUid!);
      connection.end().catch(() => {});
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


/** Whether the database is the embedded PGlite: one connection, in this process. */
export function isEmbedded(db: Db): boolean {
  return db.client instanceof PgLiteClient;
}
