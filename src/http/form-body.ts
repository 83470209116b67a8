import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { AppError } from '../errors.ts';

/** Form posts of our own pages: small and urlencoded only. oidc-provider parses its own. */
const FORM_LIMIT = '16kb';

const parse = bodyParser({ enableTypes: ['form'], formLimit: FORM_LIMIT, encoding: 'utf-8' }) as unknown as Middleware;

/** Whether any value of a parsed form or query holds a NUL, which PostgreSQL text cannot store. */
function holdsNul(fields: unknown): boolean {
  if (typeof fields === 'string') return fields.includes('\u0000');
  if (Array.isArray(fields)) return fields.some(holdsNul);
  if (fields && typeof fields === 'object') return Object.entries(fields).some(([k, v]) => k.includes('\u0000') || holdsNul(v));
  return false;
}

/**
 * Parses the form, and refuses one holding a NUL anywhere (in the query too) with a 400:
 * it would otherwise reach PostgreSQL and fail there as a server error.
 */
export function formBody(): Middleware {
  return (ctx, next) => parse(ctx, () => {
    if (holdsNul(ctx.query) || holdsNul((ctx.request as { body?: unknown }).body)) {
      throw new AppError('request.invalid', { detail: 'NUL characters are not accepted' });
    }
    return next();
  });
}
