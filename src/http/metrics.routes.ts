import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4 } from 'node:net';
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Metrics } from '../ops/metrics.ts';
import type { Config } from '../config/schema.ts';
import { AppError } from '../errors.ts';

/** Counts and times every request under its route pattern (bounded labels: never the raw path). */
export function requestMetrics(metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      // Set by @koa/router and by oidc-provider's router: the pattern, e.g. /interaction/:uid/login.
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      metrics.request(ctx.method, typeof route === 'string' ? route : '(unmatched)', ctx.status, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}

const PRIVATE = new BlockList();
for (const [net, prefix] of [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['127.0.0.0', 8]] as const) PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::1', 128], ['fc00::', 7]] as const) PRIVATE.addSubnet(net, prefix, 'ipv6');

/** Loopback or a private range (RFC 1918, IPv6 unique local), IPv4-mapped IPv6 included. */
export function isPrivateAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return isIPv4(v4) ? PRIVATE.check(v4, 'ipv4') : PRIVATE.check(address, 'ipv6');
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Who may read /metrics. With `metrics.token`: whoever sends it as a bearer token. Without:
 * only a scraper connecting from loopback or a private address and not through a proxy
 * (a request that a proxy forwarded carries X-Forwarded-For or Forwarded, and its socket
 * address is the proxy's, which says nothing about the client). Counts of sign-ins and
 * routes are not secrets, but they are no one else's business either.
 */
function allowed(ctx: Context, token: string | undefined, behindProxy: boolean): 'yes' | 'token' | 'address' {
  if (token) {
    const [scheme, sent] = ctx.get('authorization').split(' ');
    return scheme?.toLowerCase() === 'bearer' && sent && timingSafeEqual(digest(sent), digest(token)) ? 'yes' : 'token';
  }
  // Behind a proxy (trustProxy), every request arrives from a private address, and a proxy
  // need not say it forwarded one: only a token decides there.
  if (behindProxy) return 'address';
  const proxied = ctx.get('x-forwarded-for') || ctx.get('forwarded') || ctx.get('x-real-ip');
  return !proxied && isPrivateAddress(ctx.req.socket.remoteAddress) ? 'yes' : 'address';
}

export function createMetricsRoutes({ metrics, settings, behindProxy = false }: { metrics: Metrics; settings: Config['metrics']; behindProxy?: boolean }): Router {
  const router = new Router();
  if (!settings.enabled) return router;
  router.get('/metrics', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const verdict = allowed(ctx, settings.token, behindProxy);
    if (verdict === 'token') {
      ctx.set('www-authenticate', 'Bearer realm="metrics"');
      throw new AppError('metrics.unauthorized');
    }
    if (verdict === 'address') throw new AppError('metrics.forbidden', { detail: `from ${ctx.req.socket.remoteAddress}` });
    ctx.type = metrics.contentType;
    ctx.body = await metrics.render();
  });
  return router;
}
