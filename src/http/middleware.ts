import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { AppError, isAppError } from '../errors.ts';
import { pickLocale } from '../i18n/locale.ts';
import { t } from '../i18n/messages.ts';
import type { Views } from './views.ts';

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
      const level = ctx.status >= 500 ? 'error' : 'info';
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
    } catch (caught) {
      const requestId = ctx.state.requestId as string;
      const err = isAppError(caught) ? caught : new AppError('internal');
      const status = isAppError(caught) ? caught.status : ((caught as { status?: number }).status ?? 500);
      const clientError = status >= 400 && status < 500;
      if (!isAppError(caught) && !clientError) logger.error({ err: caught, requestId }, 'unhandled error');
      else logger.info({ requestId, code: err.code, detail: err.detail }, 'request refused');
      const locale = pickLocale(undefined, ctx.get('accept-language'));
      const message = clientError && !isAppError(caught) ? new AppError('request.invalid').publicMessage(locale) : err.publicMessage(locale);
      ctx.status = clientError ? status : err.status;
      if (err.retryAfter) ctx.set('retry-after', String(err.retryAfter));
      if (wantsJson(ctx)) {
        ctx.body = { error: isAppError(caught) ? err.code : clientError ? 'request.invalid' : 'internal', message, requestId };
      } else {
        ctx.type = 'html';
        ctx.body = views.render('error', locale, { title: t(locale, 'error.title'), message, requestId });
      }
    }
  };
}
