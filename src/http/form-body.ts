import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { AppError, isAppError } from '../errors.ts';

/** Form posts of our own pages: small and urlencoded only. oidc-provider parses its own. */
const FORM_LIMIT = '16kb';

/** Whether any value of a parsed form or query holds a NUL, which PostgreSQL text cannot store. */
function holdsNul(fields: unknown): boolean {
  if (typeof fields === 'string') return fields.includes('\u0000');
  if (Array.isArray(fields)) return fields.some(holdsNul);
  if (fields && typeof fields === 'object') return Object.entries(fields).some(([k, v]) => k.includes('\u0000') || holdsNul(v));
  return false;
}

/**
 * A body parser whose failures are the request's: a body that is not what its headers say
 * (gzip that is not gzip, a broken charset, JSON that does not parse) is a 400 with a reason,
 * never a 500. Errors of the routes after it pass through untouched.
 */
export function readableBody(parse: Middleware): Middleware {
  return async (ctx, next) => {
    let parsed = false;
    try {
      await parse(ctx, () => {
        parsed = true;
        return next();
      });
    } catch (err) {
      if (parsed || isAppError(err)) throw err;
      const status = (err as { status?: number }).status;
      // 413 (too large) and 415 (unsupported type) keep their status; anything else is unreadable.
      if (status === 413 || status === 415) throw err;
      throw new AppError('request.unreadable', { detail: (err as Error).message });
    }
  };
}

const parseForm = readableBody(bodyParser({ enableTypes: ['form'], formLimit: FORM_LIMIT, encoding: 'utf-8' }) as unknown as Middleware);

/**
 * Parses the form, and refuses one holding a NUL anywhere (in the query too) with a 400:
 * it would otherwise reach PostgreSQL and fail there as a server error.
 */
export function formBody(): Middleware {
  return (ctx, next) => parseForm(ctx, () => {
    if (holdsNul(ctx.query) || holdsNul((ctx.request as { body?: unknown }).body)) {
      throw new AppError('request.invalid', { detail: 'NUL characters are not accepted' });
    }
    return next();
  });
}
