import { migrateRollback, migrateLatest, pendingMigrations } from '../../src/db/migrate.ts';
import { createTestDatabase } from '../support/database.ts';

test('every migration has an honest down: rollback removes all, latest brings it back', async () => {
  const { db, drop } = await createTestDatabase();
  try {
    expect(await pendingMigrations(db)).toEqual([]);
    await migrateRollback(db);
    expect(await db.schema.hasTable('accounts')).toBe(false);
    expect(await db.schema.hasTable('oidc_models')).toBe(false);
    expect((await pendingMigrations(db)).length).toBeGreaterThan(0);
    await migrateLatest(db);
    expect(await db.schema.hasTable('accounts')).toBe(true);
  } finally {
    await drop();
  }
});
