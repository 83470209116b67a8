import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { AppError, isAppError } from '../errors.ts';
import { unstorableIn } from '../storable-text.ts';

/** Form posts of our own pages: small and urlencoded only. oidc-provider parses its own. */
const FORM_LIMIT = '16kb';

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
      // The parser's own message may quote the body (a password in a login form): only its kind.
      const kind = (err as { type?: string; code?: string }).type ?? (err as { code?: string }).code ?? (err as Error).name;
      throw new AppError('request.unreadable', { detail: `body could not be read (${kind})` });
    }
  };
}

const parseForm = readableBody(bodyParser({ enableTypes: ['form'], formLimit: FORM_LIMIT, encoding: 'utf-8' }) as unknown as Middleware);

/**
 * Parses the form, and refuses one holding what PostgreSQL cannot store (a NUL, anywhere,
 * the query too) with a 400: it would otherwise fail there as a server error.
 */
export function formBody(): Middleware {
  return (ctx, next) => parseForm(ctx, () => {
    const unstorable = unstorableIn(ctx.query) ?? unstorableIn((ctx.request as { body?: unknown }).body);
    if (unstorable) throw new AppError('request.invalid', { detail: `the form holds ${unstorable}` });
    return next();
  });
}
