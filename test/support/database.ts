import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { openDatabase, type Db } from '../../src/db/database.ts';
import { migrateLatest } from '../../src/db/migrate.ts';
import { migrations } from '../../migrations/index.ts';

/**
 * A fresh, migrated database for one test file. With TEST_DATABASE_URL (CI): a schema of
 * its own on that PostgreSQL server, dropped afterwards. Without: an in-memory PGlite
 * started from a migrated template (migrating takes seconds, loading the dump under one).
 */
export interface TestDatabase {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Set on PostgreSQL: what a second connection (a CLI process) needs. */
  url?: string;
  schema?: string;
  drop(): Promise<void>;
}

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

function templateFile(): string {
  const digest = createHash('sha256').update(JSON.stringify(migrations)).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `chucs-pglite-template-${digest}.tar.gz`);
}

async function pgliteTemplate(): Promise<Blob> {
  const file = templateFile();
  if (!existsSync(file)) {
    const pglite = await PGlite.create();
    const db = await openDatabase({ pglite });
    await migrateLatest(db);
    const dump = await pglite.dumpDataDir('gzip');
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
    renameSync(tmp, file); // atomic: parallel workers never read half a template
    await db.destroy();
  }
  return new Blob([readFileSync(file)]);
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (TEST_DATABASE_URL) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const db = await openDatabase({ url: TEST_DATABASE_URL, schema, poolMax: 5 });
    await migrateLatest(db);
    return {
      db, kind: 'postgres', url: TEST_DATABASE_URL, schema,
      async drop() {
        await db.raw('drop schema ?? cascade', [schema]);
        await db.destroy();
      },
    };
  }
  const pglite = await PGlite.create({ loadDataDir: await pgliteTemplate() });
  const db = await openDatabase({ pglite });
  return {
    db, kind: 'pglite',
    async drop() {
      await db.destroy();
      // Closed here when no query ever opened a connection (knex-pglite closes it with its
      // last one): a PGlite that never ran a query keeps a timer armed, and the test file
      // then never exits when run alone (test/codes/codes.test.ts did not).
      if (!pglite.closed) await pglite.close();
    },
  };
}
