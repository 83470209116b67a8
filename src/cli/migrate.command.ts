import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { openConfiguredDatabase } from '../db/configured-database.ts';
import { migrateLatest } from '../db/migrate.ts';
import type { Output } from './output.ts';

export function registerMigrate(program: Command, out: () => Output) {
  program.command('migrate')
    .description('apply pending database migrations (the server also does this at start)')
    .action(async () => {
      const { db, release } = await openConfiguredDatabase(loadConfig());
      try {
        const applied = await migrateLatest(db);
        out().result({ applied }, () => (applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date'));
      } finally {
        await db.destroy();
        release();
      }
    });
}
