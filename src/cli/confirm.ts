import { createInterface } from 'node:readline/promises';

/**
 * Asks before a change: on a terminal, the operator types "yes"; without a terminal
 * (scripts, cron) the command needs --yes, so nothing changes by accident.
 */
export async function confirm(question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(`${question} Type "yes" to go on: `)).trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}
