import Router from '@koa/router';
import type { Context } from 'koa';
import QRCode from 'qrcode';
import { AppError } from '../errors.ts';
import type { Views } from '../http/views.ts';
import { pickLocale } from '../i18n/locale.ts';
import { t } from '../i18n/messages.ts';

/** The device flow's user codes: eight digits, shown as 1234-5678 (provider.ts deviceFlow). */
const USER_CODE = /^\d{4}-?\d{4}$/;

/**
 * What a TV shows while someone signs in on their phone: the QR code of
 * verification_uri_complete, as SVG or PNG, and a page for the TV's web view with the code
 * in large type and the QR beside it. Only user codes in the device flow's format are
 * accepted: this is not a QR service for any text.
 */
export function createDeviceRoutes({ issuer, views }: { issuer: string; views: Views }): Router {
  const router = new Router({ prefix: '/device' });

  function userCodeOf(ctx: Context): string {
    const code = typeof ctx.query.user_code === 'string' ? ctx.query.user_code.trim() : '';
    if (!USER_CODE.test(code)) throw new AppError('request.invalid', { detail: 'user_code must be 8 digits' });
    const digits = code.replace('-', '');
    return `${digits.slice(0, 4)}-${digits.slice(4)}`;
  }

  const verificationUri = (userCode: string) => `${issuer}/device?user_code=${userCode}`;

  router.get('/qr.svg', async (ctx) => {
    ctx.type = 'image/svg+xml';
    ctx.set('cache-control', 'private, max-age=600');
    ctx.body = await QRCode.toString(verificationUri(userCodeOf(ctx)), { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  });

  router.get('/qr.png', async (ctx) => {
    ctx.type = 'image/png';
    ctx.set('cache-control', 'private, max-age=600');
    ctx.body = await QRCode.toBuffer(verificationUri(userCodeOf(ctx)), { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 480 });
  });

  router.get('/tv', async (ctx) => {
    const userCode = userCodeOf(ctx);
    const locale = pickLocale(typeof ctx.query.ui_locales === 'string' ? ctx.query.ui_locales : undefined, ctx.get('accept-language'));
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = views.render('device-tv', locale, {
      title: t(locale, 'device.title'), tv: true, userCode, verificationUri: `${issuer}/device`, qr: `/device/qr.svg?user_code=${userCode}`,
    });
  });

  return router;
}
