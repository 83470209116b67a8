import type { Command } from 'commander';
import { withDatabase, operator } from './context.ts';
import { codeStatus, closeCodeBreaker } from '../codes/code-status.ts';
import { table, type Output } from './output.ts';
import { UsageError } from './usage-error.ts';

export function registerCodes(program: Command, out: () => Output) {
  const codes = program.command('codes').description('one-time codes by SMS and email: hourly counts and the circuit breaker');

  codes.command('status').description('codes sent in the last hour per channel, against the cap, and whether the breaker is open')
    .action(() => withDatabase(async ({ db, config }) => {
      const status = await codeStatus(db, config.codes.hourlyGlobal, new Date());
      out().result({ channels: status }, () => table(status.map((s) => ({
        channel: s.channel,
        'last hour': `${s.sentLastHour} / ${s.hourlyCap}`,
        breaker: s.breaker ? `OPEN until ${s.breaker.openUntil.toISOString()} (${s.breaker.reason})` : 'closed',
      })), ['channel', 'last hour', 'breaker']));
    }));

  codes.command('close-breaker').argument('<channel>', 'sms or email')
    .description('send codes again before the breaker closes by itself (it reopens while the hourly count is at the cap)')
    .action((channel: string) => withDatabase(async ({ db }) => {
      if (channel !== 'sms' && channel !== 'email') throw new UsageError(`channel must be sms or email, not "${channel}"`);
      const closed = await closeCodeBreaker(db, channel, operator());
      out().result({ channel, closed }, () => (closed ? `the ${channel} breaker is closed: codes are sent again` : `the ${channel} breaker was not open`));
    }));
}
