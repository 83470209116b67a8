import type { Knex } from 'knex';
import { migrations, type SqlMigration } from '../../migrations/index.ts';

/**
 * knex's migration source over our explicit list: the names carry no file extension, so
 * the same database migrates the same way from .ts sources and from any build.
 */
const source: Knex.MigrationSource<readonly [string, SqlMigration]> = {
  getMigrations: async () => [...migrations],
  getMigrationName: ([name]) => name,
  getMigration: async ([, m]) => ({
    up: async (db: Knex) => { for (const sql of m.up) await db.raw(sql); },
    down: async (db: Knex) => { for (const sql of m.down) await db.raw(sql); },
  }),
};

const migrationConfig = { migrationSource: source, tableName: 'knex_migrations' };

/** Applies pending migrations; returns the names applied. */
export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = await db.migrate.latest(migrationConfig);
  return applied as string[];
}

export async function migrateRollback(db: Knex): Promise<string[]> {
  const [, undone] = await db.migrate.rollback(migrationConfig);
  return undone as string[];
}

export async function pendingMigrations(db: Knex): Promise<string[]> {
  const [, pending] = await db.migrate.list(migrationConfig);
  return (pending as Array<{ file: string } | string>).map((p) => (typeof p === 'string' ? p : p.file));
}
