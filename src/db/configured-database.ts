import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { openDatabase, type Db } from './database.ts';
import { lockDataDir } from './embedded-lock.ts';
import { migrateLatest } from './migrate.ts';

/**
 * Opens the configured database (PGlite under a lock, or PostgreSQL). `serving`: the server's
 * pool, under the query timeout of `config.database`, migrated first on a connection of its
 * own without that timeout (a migration, like the CLI's imports and merges, may run long).
 */
export async function openConfiguredDatabase(config: Config, { serving = false, logger }: { serving?: boolean; logger?: Logger } = {}): Promise<{ db: Db; release: () => void }> {
  if (config.databaseUrl) {
    const base = { url: config.databaseUrl, schema: config.databaseSchema, connectTimeoutMs: config.database.connectTimeoutMs, poolMax: config.database.poolMax, logger };
    if (serving) {
      const migrator = await openDatabase({ ...base, poolMax: 1 });
      try {
        await migrateLatest(migrator);
      } finally {
        await migrator.destroy();
      }
    }
    const db = await openDatabase({ ...base, queryTimeoutMs: serving ? config.database.queryTimeoutMs : undefined });
    return { db, release: () => {} };
  }
  const release = lockDataDir(config.dataDir);
  try {
    return { db: await openDatabase({ dataDir: path.join(config.dataDir, 'pgdata') }), release };
  } catch (err) {
    release();
    throw err;
  }
}
