import Router from '@koa/router';
import type { Db } from '../db/database.ts';

/** Readiness waits at most this long for the database before answering "not ready". */
const READY_TIMEOUT_MS = 2000;

export function createHealthRoutes({ db }: { db: Db }): Router {
  const router = new Router();
  // Probes that come faster than an unreachable database answers share one check, rather
  // than queueing a connection attempt each.
  let checking: Promise<unknown> | undefined;
  const check = () => (checking ??= Promise.resolve(db.raw('select 1')).finally(() => { checking = undefined; }));
  router.get('/healthz', (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check(),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), READY_TIMEOUT_MS); }),
      ]);
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', reason: 'database' };
    } finally {
      clearTimeout(timer);
    }
  });
  return router;
}
