import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import type { Config, WebhookSettings } from '../config/schema.ts';
import type { PrivateJwks } from '../oidc/keys.ts';
import { claimDeliveries, fanOut, markDelivered, markFailed, type ClaimedDelivery, type EventRow } from './deliveries.repo.ts';
import { hmacSigner, jwsSigner, type BodySigner } from './signing.ts';

/**
 * An attempt's claim lasts this many request timeouts: the request, then as long again to
 * write its outcome. A node that dies mid-attempt (or loses the database before it writes
 * the outcome) leaves the event due again once the lease has run out.
 */
const LEASE_TIMEOUTS = 2;

export type DeliveryOutcome = 'delivered' | 'failed';
export type DeliveryListener = (outcome: DeliveryOutcome, subscriber: string) => void;

/** What a receiver gets as the request body (JSON). */
export interface EventPayload {
  /** The idempotency id: the same in every attempt and replay of this event. */
  id: string;
  type: string;
  occurred_at: string;
  account_id: string | null;
  data: Record<string, unknown>;
}

export function payloadOf(e: EventRow): EventPayload {
  return { id: e.event_id, type: e.type, occurred_at: e.created_at.toISOString(), account_id: e.account_id, data: e.data };
}

/** Exponential backoff with some jitter, so that a receiver coming back is not hit by every node at once. */
export function retryDelayMs(attempt: number, settings: { retryBaseMs: number; retryMaxMs: number }): number {
  const full = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(full * (0.8 + Math.random() * 0.2));
}

export type EventsWorker = ReturnType<typeof createEventsWorker>;

/**
 * Delivers the outbox to the configured webhooks: each round fans new events out to the
 * subscribers, claims due deliveries and POSTs them in parallel (one per account at a time),
 * then writes each outcome. A 2xx answer is delivered; anything else, a timeout or a
 * refused connection is retried with exponential backoff, forever (at least once). A round
 * that cannot reach the database is logged and tried again at the next one; what it had
 * claimed is due again when its lease ends. Safe on any number of nodes.
 */
export function createEventsWorker({ db, webhooks, settings, jwks, logger }: {
  db: Db;
  webhooks: readonly WebhookSettings[];
  settings: Config['events'];
  jwks: PrivateJwks;
  logger: Logger;
}) {
  const signers = new Map<string, BodySigner>();
  let jws: BodySigner | undefined;
  for (const w of webhooks) signers.set(w.id, w.signing === 'hmac' ? hmacSigner(w.secret) : (jws ??= jwsSigner(jwks)));
  const byId = new Map(webhooks.map((w) => [w.id, w]));
  const listeners = new Set<DeliveryListener>();
  const inFlight = new Set<AbortController>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopping = false;
  let failing = false;

  async function attempt(d: ClaimedDelivery): Promise<void> {
    const webhook = byId.get(d.subscriber)!;
    const body = JSON.stringify(payloadOf(d.event));
    const abort = new AbortController();
    inFlight.add(abort);
    let error: string | undefined;
    try {
      const response = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'CHUCS-Events/1',
          'x-chucs-event-id': d.event.event_id,
          'x-chucs-event-type': d.event.type,
          'x-chucs-delivery-attempt': String(d.attempt),
          'x-chucs-signature': await signers.get(d.subscriber)!(body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(settings.timeoutMs)]),
      });
      await response.body?.cancel().catch(() => {});
      if (response.status < 200 || response.status > 299) error = `HTTP ${response.status}`;
    } catch (err) {
      error = (err as Error).name === 'TimeoutError' ? `no answer in ${settings.timeoutMs} ms` : String((err as { cause?: Error }).cause?.message ?? (err as Error).message);
    } finally {
      inFlight.delete(abort);
    }
    for (const listener of listeners) {
      try {
        listener(error ? 'failed' : 'delivered', d.subscriber);
      } catch (err) {
        logger.error({ err }, 'an event delivery observer failed');
      }
    }
    try {
      if (!error) await markDelivered(db, d.subscriber, d.event.id);
      // Cut short by shutdown: due again at once (on another node, or at the next start).
      else await markFailed(db, d.subscriber, d.event.id, d.attempt, stopping ? 0 : retryDelayMs(d.attempt, settings), error);
      if (error) logger.info({ subscriber: d.subscriber, event: d.event.event_id, attempt: d.attempt, error }, 'event delivery failed; will retry');
    } catch (err) {
      logger.warn({ err, subscriber: d.subscriber, event: d.event.event_id }, 'could not record an event delivery; it is sent again when its lease ends');
    }
  }

  /** One round; returns how much work it found. */
  async function round(): Promise<number> {
    const fanned = await fanOut(db, webhooks);
    if (webhooks.length === 0) return fanned;
    const claimed = await claimDeliveries(db, [...byId.keys()], settings.batchSize, settings.timeoutMs * LEASE_TIMEOUTS);
    await Promise.all(claimed.map(attempt));
    return fanned + claimed.length;
  }

  async function loop(): Promise<void> {
    let work = 0;
    try {
      work = await round();
      if (failing) logger.info('event delivery resumed');
      failing = false;
    } catch (err) {
      // An outage is logged once at warn, not once per poll; anything else is a bug.
      if (!isDatabaseUnavailable(err)) logger.error({ err }, 'event delivery round failed; retrying every poll');
      else logger[failing ? 'debug' : 'warn']({ err }, 'event delivery paused: the database is unavailable; retrying every poll');
      failing = true;
    }
    if (!stopping) {
      // Back to back while there is work; otherwise a pause.
      timer = setTimeout(() => { running = loop(); }, work > 0 ? 0 : settings.pollMs);
      timer.unref();
    }
  }

  return {
    start(): void {
      if (running || stopping) return;
      running = loop();
    },
    /** Stops polling; requests in flight are cut short and due again at once. */
    async stop(): Promise<void> {
      stopping = true;
      clearTimeout(timer);
      for (const abort of inFlight) abort.abort();
      await running;
    },
    /** Observes every attempt's outcome (metrics). Returns a function that stops observing. */
    onDelivery(listener: DeliveryListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
