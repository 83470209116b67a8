import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db/database.ts';
import type { SignInMethod, SignInOutcome } from '../auth/sign-in-observer.ts';
import type { CodeSendOutcome } from '../codes/codes.service.ts';

/**
 * The numbers operators watch, in Prometheus' text format at /metrics. One registry per
 * CHUCS (never prom-client's global one), so a test can run several servers in one process.
 *
 * Labels are bounded sets only: route patterns (`/interaction/:uid/login`), methods,
 * outcomes, reasons, webhook ids from the config. Never a path, an address, an identifier
 * or anything a person typed: those belong in the audit log, not in a time series.
 */

/** What one applied batch of a merge run did (src/merge/apply.ts `onBatch`). */
export interface MergeBatch { runId: number; clusters: number; records: number; appliedClusters: number; totalClusters: number }

/** The throttling refusal each outcome is answered with (AppError codes). */
const THROTTLE_REASONS: Partial<Record<SignInOutcome | CodeSendOutcome, string>> = {
  throttled: 'auth.throttled',
  cooldown: 'codes.cooldown',
  target_limit: 'codes.limit',
  ip_limit: 'codes.limit',
  breaker: 'codes.unavailable',
};

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Request latency buckets, in seconds: argon2 sign-ins sit near 50 ms, the deadline at 10 s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A scrape never waits longer than this for the database (merge progress); stale values are kept. */
const SCRAPE_DB_TIMEOUT_MS = 1000;

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics({ db }: { db?: Db } = {}) {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'chucs_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status class',
    labelNames: ['method', 'route', 'status'] as const, registers,
  });
  const latency = new Histogram({
    name: 'chucs_http_request_duration_seconds', help: 'Time to answer HTTP requests, by method, route pattern and status class',
    labelNames: ['method', 'route', 'status'] as const, buckets: LATENCY_BUCKETS, registers,
  });
  const signIns = new Counter({
    name: 'chucs_sign_ins_total', help: 'Sign-in attempts by method and outcome (success, failure, throttled)',
    labelNames: ['method', 'outcome'] as const, registers,
  });
  const codeSends = new Counter({
    name: 'chucs_code_sends_total', help: 'One-time code requests by channel and outcome (sent, or the refusal reason)',
    labelNames: ['channel', 'outcome'] as const, registers,
  });
  const throttled = new Counter({
    name: 'chucs_throttled_requests_total', help: 'Requests refused by throttling or caps, by the error code answered',
    labelNames: ['reason'] as const, registers,
  });
  const webhookDeliveries = new Counter({
    name: 'chucs_webhook_deliveries_total', help: 'Webhook delivery attempts by subscriber id and outcome',
    labelNames: ['subscriber', 'outcome'] as const, registers,
  });
  const mergeBatches = new Counter({ name: 'chucs_merge_batches_total', help: 'Merge batches applied by this process', registers });
  const mergeRecords = new Counter({ name: 'chucs_merge_records_applied_total', help: 'Legacy records applied by merge runs in this process', registers });
  const mergeRunProgress = new Gauge({
    name: 'chucs_merge_run_clusters', help: 'Clusters of a merge run applied by this process, and its total (state applied|total)',
    labelNames: ['run', 'state'] as const, registers,
  });

  // Merge runs usually run in the CLI: the newest run's state is read from the database at
  // scrape time, so its progress shows here whichever process applies it.
  new Gauge({
    name: 'chucs_merge_latest_run', help: 'The newest merge run (stored plans aside): id, applying (1 while being applied), and accounts created/extended/merged so far',
    labelNames: ['field'] as const, registers,
    async collect() {
      if (!db) return;
      let timer: NodeJS.Timeout | undefined;
      try {
        const row = await Promise.race([
          db('merge_runs').whereNot({ status: 'planned' }).orderBy('id', 'desc').first('id', 'status', 'counts'),
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), SCRAPE_DB_TIMEOUT_MS); }),
        ]) as { id: number; status: string; counts: Record<string, number> | null } | undefined;
        if (!row) return;
        this.set({ field: 'id' }, Number(row.id));
        this.set({ field: 'applying' }, row.status === 'applying' ? 1 : 0);
        this.set({ field: 'accounts_created' }, Number(row.counts?.accountsCreated ?? 0));
        this.set({ field: 'accounts_extended' }, Number(row.counts?.accountsExtended ?? 0));
        this.set({ field: 'accounts_merged' }, Number(row.counts?.accountsMerged ?? 0));
        this.set({ field: 'clusters_held' }, Number(row.counts?.held ?? 0));
      } catch {
        // The database is away: keep the last values; /readyz and the request metrics tell.
      } finally {
        clearTimeout(timer);
      }
    },
  });

  const throttle = (outcome: SignInOutcome | CodeSendOutcome) => {
    const reason = THROTTLE_REASONS[outcome];
    if (reason) throttled.inc({ reason });
  };

  return {
    registry,
    contentType: registry.contentType,
    render: () => registry.metrics(),

    /** One answered request; `route` is the matched pattern, or "(unmatched)". */
    request(method: string, route: string, status: number, seconds: number) {
      const labels = { method: HTTP_METHODS.has(method) ? method : 'OTHER', route, status: `${Math.floor(status / 100)}xx` };
      requests.inc(labels);
      latency.observe(labels, seconds);
    },
    signIn(method: SignInMethod, outcome: SignInOutcome) {
      signIns.inc({ method, outcome });
      throttle(outcome);
    },
    codeSend(channel: string, outcome: CodeSendOutcome) {
      codeSends.inc({ channel, outcome });
      throttle(outcome);
    },
    /** A device code typed at /device refused: its address typed too many wrong ones. */
    userCodeThrottled() {
      throttled.inc({ reason: 'device.throttled' });
    },
    /** The events worker's observer: `subscriber` is the webhook's configured id, never its URL. */
    webhookDelivery(outcome: string, subscriber: string) {
      webhookDeliveries.inc({ subscriber, outcome });
    },
    mergeBatch(batch: MergeBatch) {
      mergeBatches.inc();
      mergeRecords.inc(batch.records);
      mergeRunProgress.set({ run: String(batch.runId), state: 'applied' }, batch.appliedClusters);
      mergeRunProgress.set({ run: String(batch.runId), state: 'total' }, batch.totalClusters);
    },
  };
}
