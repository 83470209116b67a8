import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import type { Context } from 'koa';
import { AppError } from '../errors.ts';
import type { Logger } from 'pino';
import type { Views } from '../http/views.ts';
import { pickLocale } from '../i18n/locale.ts';
import { t } from '../i18n/messages.ts';
import type { Federation, Purpose } from './federation.service.ts';

const BROWSER_COOKIE = 'chucs.upstream';

/**
 * The secret that ties an upstream trip to the browser that started it (a signed cookie sent
 * only to /upstream): created when missing, kept for half an hour.
 */
export function upstreamBrowserKey(ctx: Context): string {
  const existing = ctx.cookies.get(BROWSER_COOKIE, { signed: true });
  const key = existing && /^[\w-]{43}$/.test(existing) ? existing : randomBytes(32).toString('base64url');
  ctx.cookies.set(BROWSER_COOKIE, key, { httpOnly: true, sameSite: 'lax', signed: true, path: '/upstream', secure: ctx.secure, maxAge: 30 * 60_000, overwrite: true });
  return key;
}

/**
 * Where upstream providers send the browser back: `/upstream/callback/<provider>`, one fixed
 * address per provider (what is registered with WeChat, QQ, Weibo or the OIDC provider).
 * The code is redeemed here, only in the browser that started the trip (its cookie); the
 * browser then continues where it started (its login page or the account center), which
 * checks the binding again. An upstream that failed or
 * was cancelled gets a clear page with the way back, never a 500.
 */
export function createUpstreamRoutes({ federation, views, logger }: { federation: Federation; views: Views; logger: Logger }): Router {
  const router = new Router({ prefix: '/upstream' });

  const backTo = (binding: Purpose | undefined) =>
    binding?.purpose === 'login' ? `/interaction/${binding.interactionUid}` : binding?.purpose === 'link' ? '/account/linked' : undefined;

  router.get('/callback/:provider', async (ctx: Context) => {
    let received;
    try {
      received = await federation.receive(String(ctx.params.provider), new URLSearchParams(ctx.querystring), ctx.cookies.get(BROWSER_COOKIE, { signed: true }));
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      logger.info({ requestId: ctx.state.requestId, provider: ctx.params.provider, code: err.code, detail: err.detail }, 'upstream sign-in refused');
      const locale = pickLocale(undefined, ctx.get('accept-language'));
      ctx.status = err.status;
      ctx.type = 'html';
      ctx.body = views.render('error', locale, {
        title: t(locale, 'error.title'), message: err.publicMessage(locale), requestId: ctx.state.requestId,
        back: backTo((err as { binding?: Purpose }).binding),
      });
      return;
    }
    const { state, binding } = received;
    ctx.redirect(binding.purpose === 'login'
      ? `/interaction/${binding.interactionUid}/upstream/${state}`
      : `/account/linked/done?state=${encodeURIComponent(state)}`);
  });

  return router;
}
