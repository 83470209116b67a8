import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { AppError, isAppError } from '../errors.ts';
import { pickLocale } from '../i18n/locale.ts';
import { t } from '../i18n/messages.ts';
import type { Views } from './views.ts';
import { isDatabaseUnavailable, UNAVAILABLE_RETRY_AFTER_S } from '../db/unavailable.ts';

/** A request id on every request (kept from a trusted proxy's X-Request-Id), logged with it. */
export function requestLogging(logger: Logger, trustProxy: boolean): Middleware {
  return async (ctx, next) => {
    const incoming = trustProxy ? ctx.get('x-request-id') : '';
    const requestId = /^[\w-]{8,64}$/.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('x-request-id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // 503: the service refused while a dependency is away (logged where it is noticed), not a bug.
      const level = ctx.status === 503 ? 'warn' : ctx.status >= 500 ? 'error' : 'info';
      logger[level]({ requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10, ip: ctx.ip }, 'request');
    }
  };
}

function wantsJson(ctx: Parameters<Middleware>[0]): boolean {
  return ctx.path.startsWith('/admin/api') || (ctx.accepts('html', 'json') === 'json');
}

/**
 * Errors of our own routes: an AppError becomes its status and public message (a page or
 * JSON); anything else a 500 with the request id, the details in the log only.
 */
export function errorPages(logger: Logger, views: Views): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (thrown) {
      // The database went away: an outage to wait out (503, Retry-After), not a bug (500).
      const caught = !isAppError(thrown) && isDatabaseUnavailable(thrown)
        ? new AppError('service.unavailable', { retryAfter: UNAVAILABLE_RETRY_AFTER_S, detail: `database: ${(thrown as Error).message}` })
        : thrown;
      const requestId = ctx.state.requestId as string;
      const err = isAppError(caught) ? caught : new AppError('internal');
      const status = isAppError(caught) ? caught.status : ((caught as { status?: number }).status ?? 500);
      const clientError = status >= 400 && status < 500;
      if (!isAppError(caught) && !clientError) logger.error({ err: caught, requestId }, 'unhandled error');
      else if (err.code === 'service.unavailable') logger.warn({ requestId, path: ctx.path, detail: err.detail }, 'service unavailable');
      else logger.info({ requestId, code: err.code, detail: err.detail }, 'request refused');
      const locale = pickLocale(undefined, ctx.get('accept-language'));
      const message = clientError && !isAppError(caught) ? new AppError('request.invalid').publicMessage(locale) : err.publicMessage(locale);
      ctx.status = clientError ? status : err.status;
      if (err.retryAfter) ctx.set('retry-after', String(err.retryAfter));
      if (wantsJson(ctx)) {
        // Admin callers are services: they get the reason of a refused request (never for a 5xx).
        const reason = ctx.path.startsWith('/admin/api') && isAppError(caught) && err.status < 500 ? err.detail : undefined;
        ctx.body = { error: isAppError(caught) ? err.code : clientError ? 'request.invalid' : 'internal', message, ...(reason ? { reason } : {}), requestId };
      } else {
        ctx.type = 'html';
        ctx.body = views.render('error', locale, { title: t(locale, 'error.title'), message, requestId });
      }
    }
  };
}

/**
 * Answers 503 when a request is not done within `ms` (config `requestTimeoutMs`): while the
 * database is away nobody, person or proxy, waits longer than that. The work itself cannot
 * be cancelled: it ends by itself within the pool's connect and query timeouts, and what it
 * writes afterwards goes nowhere (the answer has been sent). Runs inside errorPages.
 */
export function requestDeadline(ms: number, logger: Logger): Middleware {
  return async (ctx, next) => {
    let timer: NodeJS.Timeout | undefined;
    const work = next();
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), ms); });
    try {
      if (await Promise.race([work, late]) === 'late') {
        work.catch((err) => logger.debug({ err, requestId: ctx.state.requestId }, 'request failed after its deadline'));
        // A body that never finished arriving is the client's doing (408), not an outage.
        if (!ctx.req.complete) {
          ctx.set('connection', 'close'); // RFC 9110: a 408 ends the connection
          throw new AppError('request.timeout', { detail: `the request body did not arrive within ${ms} ms` });
        }
        throw new AppError('service.unavailable', { retryAfter: UNAVAILABLE_RETRY_AFTER_S, detail: `no answer within ${ms} ms` });
      }
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The methods anything here answers; others get 405, not 501 (a malformed request is a 4xx). */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Health checks may come without a Host header (HTTP/1.0 probes); nothing else may. */
const HOSTLESS_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Refuses, with a 400 or 405, what would otherwise fail deep inside oidc-provider as a 500:
 * an unknown method, and a Host (or, behind a trusted proxy, X-Forwarded-Host or
 * X-Forwarded-Proto) no URL can be built from. Runs inside errorPages.
 */
export function wellFormedRequest(): Middleware {
  return (ctx, next) => {
    if (!KNOWN_METHODS.has(ctx.method)) {
      ctx.set('allow', [...KNOWN_METHODS].join(', '));
      throw new AppError('request.method_not_allowed', { detail: ctx.method });
    }
    if (ctx.protocol !== 'http' && ctx.protocol !== 'https') throw new AppError('request.invalid', { detail: 'malformed X-Forwarded-Proto' });
    if (ctx.host === '' ? !HOSTLESS_PATHS.has(ctx.path) : !URL.canParse(`${ctx.protocol}://${ctx.host}`)) {
      throw new AppError('request.invalid', { detail: 'missing or malformed Host (or X-Forwarded-Host)' });
    }
    return next();
  };
}
