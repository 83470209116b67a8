import type { DbOrTx } from '../db/database.ts';
import type { Channel, CodePurpose } from '../messaging/message.ts';
import type { SendHistory } from './send-rules.ts';

export interface CodeRow {
  id: number;
  code_hash: string;
  attempts: number;
  expires_at: Date;
  consumed_at: Date | null;
}

const DAY_MS = 86400_000;
const HOUR_MS = 3600_000;

/** What the send rules need to know, in one round trip. */
export async function readSendHistory(db: DbOrTx, q: { channel: Channel; target: string; ip: string; breaker: string; now: Date }): Promise<SendHistory> {
  const dayAgo = new Date(q.now.getTime() - DAY_MS);
  const hourAgo = new Date(q.now.getTime() - HOUR_MS);
  const { rows } = await db.raw(`
    select
      (select max(created_at) from one_time_codes where target = :target and created_at > :dayAgo) as last_sent_at,
      (select count(*) from one_time_codes where target = :target and created_at > :dayAgo)::int as target_last_day,
      (select count(*) from one_time_codes where ip = :ip and created_at > :dayAgo)::int as ip_last_day,
      (select count(*) from one_time_codes where channel = :channel and created_at > :hourAgo)::int as channel_last_hour,
      (select open_until from circuit_breakers where name = :breaker) as breaker_open_until`,
  { target: q.target, ip: q.ip, channel: q.channel, breaker: q.breaker, dayAgo, hourAgo });
  const r = rows[0];
  return {
    lastSentAt: r.last_sent_at ? new Date(r.last_sent_at) : undefined,
    targetLastDay: r.target_last_day,
    ipLastDay: r.ip_last_day,
    channelLastHour: r.channel_last_hour,
    breakerOpenUntil: r.breaker_open_until ? new Date(r.breaker_open_until) : undefined,
  };
}

export async function insertCode(db: DbOrTx, row: {
  purpose: CodePurpose; channel: Channel; target: string; binding: string; codeHash: string; ip: string; createdAt: Date; expiresAt: Date;
}): Promise<number> {
  const [inserted] = await db('one_time_codes').insert({
    purpose: row.purpose, channel: row.channel, target: row.target, binding: row.binding,
    code_hash: row.codeHash, ip: row.ip, created_at: row.createdAt, expires_at: row.expiresAt,
  }).returning('id');
  return Number(inserted.id);
}

export async function deleteCode(db: DbOrTx, id: number): Promise<void> {
  await db('one_time_codes').where({ id }).delete();
}

/** The newest code for this purpose, target and binding: a resend supersedes older codes. */
export async function latestCode(db: DbOrTx, q: { purpose: CodePurpose; target: string; binding: string }): Promise<CodeRow | undefined> {
  const row = await db('one_time_codes').where({ purpose: q.purpose, target: q.target, binding: q.binding }).orderBy('id', 'desc').first('id', 'code_hash', 'attempts', 'expires_at', 'consumed_at');
  return row ? { ...row, id: Number(row.id), expires_at: new Date(row.expires_at) } : undefined;
}

/**
 * Spends one attempt before the code is compared, so that parallel guesses cannot outrun
 * the limit. Returns false when the code has no attempts left (or was used meanwhile).
 */
export async function spendAttempt(db: DbOrTx, id: number, maxAttempts: number): Promise<boolean> {
  const n = await db('one_time_codes').where({ id }).whereNull('consumed_at').andWhere('attempts', '<', maxAttempts)
    .increment('attempts', 1);
  return n === 1;
}

/** Marks the code used; false when another request used it first. */
export async function consumeCode(db: DbOrTx, id: number, now: Date): Promise<boolean> {
  return (await db('one_time_codes').where({ id }).whereNull('consumed_at').update({ consumed_at: now })) === 1;
}

export async function openBreaker(db: DbOrTx, name: string, now: Date, until: Date, reason: string): Promise<void> {
  await db('circuit_breakers').insert({ name, opened_at: now, open_until: until, reason })
    .onConflict('name').merge(['opened_at', 'open_until', 'reason']);
}

export async function closeBreaker(db: DbOrTx, name: string): Promise<boolean> {
  return (await db('circuit_breakers').where({ name }).delete()) > 0;
}

/** Codes are kept a day after they expire: the daily caps count them. */
export async function sweepCodes(db: DbOrTx, now: Date): Promise<number> {
  return db('one_time_codes').where('expires_at', '<', new Date(now.getTime() - DAY_MS)).delete();
}
