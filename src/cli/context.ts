import path from 'node:path';
import os from 'node:os';
import { loadConfig } from '../config/load.ts';
import { createLogger } from '../logger.ts';
import type { Chucs } from '../app.ts';
import { openConfiguredDatabase } from '../db/configured-database.ts';
import { migrateLatest } from '../db/migrate.ts';
import type { Db } from '../db/database.ts';
import type { Config } from '../config/schema.ts';

/** Runs a command against the configured database: same config and data as the server. */
export async function withChucs<T>(fn: (chucs: Chucs) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // The server's modules load only for the commands that need it.
  const { createChucs } = await import('../app.ts');
  const chucs = await createChucs(config, { logger: createLogger(process.env.CHUCS_CLI_LOG ?? 'warn', process.stderr as never) });
  try {
    return await fn(chucs);
  } finally {
    await chucs.close();
  }
}

/**
 * Runs a command that needs only the database (imports, merges): no OIDC provider, no
 * signing keys, so it starts fast and uses little memory.
 */
export async function withDatabase<T>(fn: (ctx: { db: Db; config: Readonly<Config> }) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { db, release } = await openConfiguredDatabase(config);
  try {
    await migrateLatest(db);
    return await fn({ db, config });
  } finally {
    await db.destroy();
    release();
  }
}

export function operator(): string {
  return `cli:${process.env.SUDO_USER ?? process.env.USER ?? process.env.LOGNAME ?? loginName() ?? 'unknown'}`;
}

function loginName(): string | undefined {
  try {
    return os.userInfo().username || undefined;
  } catch {
    return undefined; // a uid without a passwd entry (some containers)
  }
}

/**
 * A path the operator typed, taken from the folder they typed it in: `npm run chucs` starts
 * the CLI in the project folder and says where it was started in INIT_CWD. Only then: any
 * other process started under npm inherits INIT_CWD from it, whatever folder it is in.
 */
export function operatorPath(file: string): string {
  const viaNpmRun = process.env.npm_lifecycle_event === 'chucs' && process.env.INIT_CWD;
  return path.resolve(viaNpmRun || process.cwd(), file);
}
