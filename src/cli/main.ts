import { Command, CommanderError } from 'commander';
import { createOutput, type Output } from './output.ts';
import { registerMigrate } from './migrate.command.ts';
import { registerClients } from './clients.command.ts';
import { registerUsers } from './users.command.ts';
import { registerKeys } from './keys.command.ts';
import { UsageError } from './usage-error.ts';
import { ConfigError } from '../config/load.ts';
import { isAppError } from '../errors.ts';

/**
 * Exit codes: 0 done; 1 failed (the message says why); 2 bad usage or configuration.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const program = new Command('chucs')
  .description('CHUCS, the Changhong unified user center: operator commands')
  .option('--json', 'print results as JSON (for scripts)', false)
  .showHelpAfterError()
  .exitOverride();

const out = (): Output => createOutput(program.opts().json === true);
registerMigrate(program, out);
registerClients(program, out);
registerUsers(program, out);
registerKeys(program, out);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  const message = isAppError(err)
    ? `${err.publicMessage('en')} (${err.code}${err.detail ? `: ${err.detail}` : ''})`
    : (err as Error).message;
  if (program.opts().json) process.stdout.write(`${JSON.stringify({ error: isAppError(err) ? err.code : 'failed', message })}\n`);
  process.stderr.write(`chucs: ${message}\n`);
  process.exit(err instanceof UsageError || err instanceof ConfigError ? EXIT.usage : EXIT.failed);
}
