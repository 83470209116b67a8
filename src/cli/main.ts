import { Command, CommanderError } from 'commander';
import { createOutput, type Output } from './output.ts';
import { registerMigrate } from './migrate.command.ts';
import { registerClients } from './clients.command.ts';
import { registerBrands } from './brands.command.ts';
import { registerUsers } from './users.command.ts';
import { registerKeys } from './keys.command.ts';
import { registerImport } from './import.command.ts';
import { registerMerge } from './merge.command.ts';
import { registerAccounts } from './accounts.command.ts';
import { registerMap } from './map.command.ts';
import { registerCodes } from './codes.command.ts';
import { registerDevices } from './devices.command.ts';
import { registerEvents } from './events.command.ts';
import { MappingError } from '../merge/sources/mapping.ts';
import { FingerprintMismatch, NotConfirmed } from '../merge/apply.ts';
import { WrongFile } from '../merge/sources/read-lines.ts';
import { UndoRefused } from '../merge/undo.ts';
import { ResolveRefused, BadResolution } from '../merge/conflicts.ts';
import { UsageError, RefusedError } from './usage-error.ts';
import { ConfigError } from '../config/load.ts';
import { isAppError } from '../errors.ts';

/**
 * Exit codes: 0 done; 1 failed (the message says why); 2 bad usage or configuration;
 * 3 refused, nothing changed (not confirmed, the plan changed since review, undo not allowed).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3 } as const;

// A reader that stops early (`chucs map export | head`) is not a failure: stop quietly, as
// Unix tools do, instead of a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
  throw err;
});

// Ctrl-C (or a TERM from a scheduler) in the middle of an import or a merge run: what was
// committed stays, and running the same command again goes on from there. Say so, then stop
// as a shell expects (128 + the signal's number).
let finished = false;
// Only imports and merges go on where they stopped; Ctrl-C ending `events tail --follow` is
// how one stops it, nothing to explain.
const resumable = ['import', 'merge'].includes(process.argv.slice(2).find((a) => !a.startsWith('-')) ?? '');
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    if (!finished && resumable) {
      process.stderr.write(`\nchucs: interrupted (${signal}). What was committed stays: run the same command again to go on `
        + '(merge apply resumes its run from the checkpoint; an import run again leaves the rows it already has unchanged).\n');
    }
    process.exit(code);
  });
}

const program = new Command('chucs')
  .description('CHUCS, the Changhong unified user center: operator commands')
  .option('--json', 'print results as JSON (for scripts)', false)
  .showHelpAfterError()
  .exitOverride();

const out = (): Output => createOutput(program.opts().json === true);
registerMigrate(program, out);
registerClients(program, out);
registerBrands(program, out);
registerUsers(program, out);
registerKeys(program, out);
registerImport(program, out);
registerMerge(program, out);
registerAccounts(program, out);
registerMap(program, out);
registerCodes(program, out);
registerDevices(program, out);
registerEvents(program, out);

try {
  await program.parseAsync(process.argv);
  finished = true; // what follows is closing the database: a signal now interrupts nothing
} catch (err) {
  finished = true;
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  const message = isAppError(err)
    ? `${err.publicMessage('en')} (${err.code}${err.detail ? `: ${err.detail}` : ''})`
    : (err as Error).message;
  const usage = [UsageError, ConfigError, MappingError, WrongFile, BadResolution].some((E) => err instanceof E);
  const refused = [RefusedError, FingerprintMismatch, NotConfirmed, UndoRefused, ResolveRefused].some((E) => err instanceof E);
  // A script reads the kind of failure from the JSON as it would from the exit code.
  const kind = refused ? 'refused' : usage ? 'usage' : 'failed';
  if (program.opts().json) process.stdout.write(`${JSON.stringify({ error: isAppError(err) ? err.code : kind, message })}\n`);
  process.stderr.write(`chucs: ${message}\n`);
  process.exit(EXIT[kind]);
}
