import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';

/** Form posts of our own pages: small and urlencoded only. oidc-provider parses its own. */
const FORM_LIMIT = '16kb';

export function formBody(): Middleware {
  return bodyParser({ enableTypes: ['form'], formLimit: FORM_LIMIT, encoding: 'utf-8' }) as unknown as Middleware;
}
