import type { Command } from 'commander';
import { withDatabase } from './context.ts';
import { table, type Output } from './output.ts';
import { confirm } from './confirm.ts';
import { UsageError, RefusedError } from './usage-error.ts';
import { EVENT_TYPES } from '../events/event-types.ts';
import { countSince, deliveryBacklog, eventExists, recentEvents, requeueSince, type EventRow, type Since } from '../events/deliveries.repo.ts';
import { payloadOf } from '../events/webhooks.ts';

/**
 * How far back `tail --follow` looks again each time: an event whose transaction commits
 * after a later one's (ids are taken at insert, not at commit) still shows up.
 */
const FOLLOW_LOOKBACK_IDS = 1000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function sinceOf(input: string): Since {
  if (UUID.test(input)) return { eventId: input.toLowerCase() };
  const time = new Date(input);
  if (!/^\d{4}-\d{2}-\d{2}/.test(input) || Number.isNaN(time.getTime())) throw new UsageError(`--since: "${input}" is neither an ISO time (2026-11-25T10:00:00+08:00) nor an event id`);
  return { time };
}

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name}: "${v}" is not a positive whole number`);
    return n;
  };
}

const line = (e: EventRow) => `${e.created_at.toISOString()}  ${e.type.padEnd(24)} ${e.account_id ?? '-'}  ${JSON.stringify(e.data)}  (${e.event_id})`;

export function registerEvents(program: Command, out: () => Output) {
  const events = program.command('events').description('events for downstream systems: the outbox, delivery to webhooks, replay');

  events.command('tail').description('the newest events, oldest first; --follow keeps printing new ones until Ctrl-C')
    .option('--type <type>', `only this type (${EVENT_TYPES.join(', ')})`)
    .option('--account <id>', "only this account's events")
    .option('--limit <n>', 'how many of the newest to show', positiveInt('--limit'), 20)
    .option('--follow', 'keep printing events as they are written', false)
    .action((o: { type?: string; account?: string; limit: number; follow: boolean }) => withDatabase(async ({ db, config }) => {
      if (o.type && !(EVENT_TYPES as readonly string[]).includes(o.type)) throw new UsageError(`--type: unknown event type "${o.type}" (${EVENT_TYPES.join(', ')})`);
      const filter = { type: o.type, accountId: o.account };
      const first = await recentEvents(db, { ...filter, limit: o.limit });
      if (!o.follow) {
        out().result(first.map(payloadOf), () => (first.length ? first.map(line).join('\n') : '(no events)'));
        return;
      }
      // Following: one line (one JSON document with --json) per event, as they come.
      const print = (e: EventRow) => process.stdout.write(`${out().json ? JSON.stringify(payloadOf(e)) : line(e)}\n`);
      const seen = new Set<number>();
      let newest = 0;
      for (const e of first) { print(e); seen.add(e.id); newest = Math.max(newest, e.id); }
      let stopped = false;
      const stop = () => { stopped = true; };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      while (!stopped) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(config.events.pollMs, 200)));
        for (const e of await recentEvents(db, { ...filter, limit: 1000, afterId: Math.max(0, newest - FOLLOW_LOOKBACK_IDS) })) {
          if (seen.has(e.id)) continue;
          print(e);
          seen.add(e.id);
          newest = Math.max(newest, e.id);
        }
        for (const id of seen) if (id < newest - FOLLOW_LOOKBACK_IDS) seen.delete(id);
      }
    }));

  events.command('replay').description('send events again to webhooks (same event ids): those since a time or an event, to every subscriber or one')
    .requiredOption('--since <time-or-event-id>', 'an ISO time, or the id of the first event to send again')
    .option('--subscriber <id>', 'only this webhook')
    .option('--yes', 'do not ask for confirmation', false)
    .action((o: { since: string; subscriber?: string; yes: boolean }) => withDatabase(async ({ db, config }) => {
      const since = sinceOf(o.since);
      if (config.webhooks.length === 0) throw new UsageError('no webhooks are configured (webhooks in the config file)');
      const subscribers = o.subscriber ? config.webhooks.filter((w) => w.id === o.subscriber) : config.webhooks;
      if (subscribers.length === 0) throw new UsageError(`--subscriber: no webhook "${o.subscriber}" (configured: ${config.webhooks.map((w) => w.id).join(', ')})`);
      if ('eventId' in since && !await eventExists(db, since.eventId)) throw new UsageError(`--since: there is no event ${since.eventId}`);
      const planned = await countSince(db, since, subscribers);
      out().info(`This sends again, with their original event ids, the events since ${o.since}: ${planned.map((p) => `${p.events} to ${p.subscriber}`).join(', ')}.`);
      out().info('Receivers that drop event ids they have seen must be ready to take them again. Deliveries are made by the running server.');
      if (!await confirm('Replay these events?', o.yes)) throw new RefusedError('not confirmed; nothing queued');
      const queued = await requeueSince(db, since, subscribers);
      out().result({ since: o.since, subscribers: queued }, () => queued.map((q) => `${q.events} event(s) queued again for ${q.subscriber}`).join('\n'));
    }));

  events.command('status').description('what is still to be delivered, per webhook, and the last error')
    .action(() => withDatabase(async ({ db, config }) => {
      const backlog = await deliveryBacklog(db);
      // Configured webhooks, and any that were removed from the config with deliveries left.
      const rows = [
        ...config.webhooks.map((w) => backlog.subscribers.find((b) => b.subscriber === w.id) ?? { subscriber: w.id, pending: 0, retrying: 0, oldest: null, lastError: null }),
        ...backlog.subscribers.filter((b) => !config.webhooks.some((w) => w.id === b.subscriber)),
      ];
      out().result({ notFannedOut: backlog.notFannedOut, subscribers: rows }, () => [
        `events not yet handed to the webhooks: ${backlog.notFannedOut}`,
        rows.length ? table(rows.map((r) => ({
          webhook: r.subscriber, pending: r.pending, retrying: r.retrying, 'oldest pending': r.oldest?.toISOString() ?? '-', 'last error': r.lastError ?? '-',
        })), ['webhook', 'pending', 'retrying', 'oldest pending', 'last error']) : 'no webhooks configured',
      ].join('\n'));
    }));
}
