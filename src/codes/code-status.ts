import type { DbOrTx } from '../db/database.ts';
import type { Channel } from '../messaging/message.ts';
import { closeBreaker } from './codes.repo.ts';
import { recordAudit } from '../audit/audit-log.ts';

export interface ChannelStatus {
  channel: Channel;
  sentLastHour: number;
  hourlyCap: number;
  breaker: { openedAt: Date; openUntil: Date; reason: string } | null;
}

/** What an operator looks at when codes stop arriving: the hourly count and the breaker. */
export async function codeStatus(db: DbOrTx, caps: Record<Channel, number>, now: Date): Promise<ChannelStatus[]> {
  const hourAgo = new Date(now.getTime() - 3600_000);
  const counts: Array<{ channel: Channel; n: string }> = await db('one_time_codes').where('created_at', '>', hourAgo).groupBy('channel').select('channel', db.raw('count(*) as n'));
  const breakers: Array<{ name: string; opened_at: Date; open_until: Date; reason: string }> = await db('circuit_breakers').where('open_until', '>', now).select();
  return (['sms', 'email'] as const).map((channel) => {
    const b = breakers.find((row) => row.name === `codes:${channel}`);
    return {
      channel,
      sentLastHour: Number(counts.find((c) => c.channel === channel)?.n ?? 0),
      hourlyCap: caps[channel],
      breaker: b ? { openedAt: new Date(b.opened_at), openUntil: new Date(b.open_until), reason: b.reason } : null,
    };
  });
}

/**
 * Closes a channel's breaker before its time, once the pumping has been dealt with. While the
 * hourly count stays at the cap, the next request opens it again.
 */
export async function closeCodeBreaker(db: DbOrTx, channel: Channel, actor: string): Promise<boolean> {
  const closed = await closeBreaker(db, `codes:${channel}`);
  if (closed) await recordAudit(db, { actor, action: 'code.breaker_closed', detail: { channel } });
  return closed;
}
