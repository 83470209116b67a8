import { loadConfig } from '../config/load.ts';
import { createLogger } from '../logger.ts';
import { createChucs, type Chucs } from '../app.ts';

/** Runs a command against the configured database: same config and data as the server. */
export async function withChucs<T>(fn: (chucs: Chucs) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const chucs = await createChucs(config, { logger: createLogger(process.env.CHUCS_CLI_LOG ?? 'warn', process.stderr as never) });
  try {
    return await fn(chucs);
  } finally {
    await chucs.close();
  }
}

export function operator(): string {
  return `cli:${process.env.SUDO_USER ?? process.env.USER ?? 'unknown'}`;
}
