import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { Db } from '../db/database.ts';
import type { Config } from '../config/schema.ts';
import { AppError, type Locale } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { Views } from '../http/views.ts';
import type { Csrf } from '../http/csrf.ts';
import { formBody } from '../http/form-body.ts';
import { pickLocale } from '../i18n/locale.ts';
import { t, type MessageKey } from '../i18n/messages.ts';
import type { IdentityService, Account } from '../identity/identity.service.ts';
import { canSignIn, type AccountSettings, type Actor } from '../identity/account-settings.ts';
import type { Federation } from '../federation/federation.service.ts';
import { upstreamBrowserKey } from '../federation/upstream.routes.ts';
import type { LogoutNotifier } from '../oidc/backchannel.ts';
import type { ClientsService } from '../clients/clients.service.ts';
import type { Codes } from '../codes/codes.service.ts';
import { maskTarget } from '../codes/codes.service.ts';
import { parseCodeTarget } from '../auth/code-login.ts';
import type { AccountClient } from './account-client.ts';
import { accountCookies, providerSessionAlive, recentlyAuthenticated, type AccountSession } from './account-session.ts';
import { listGrantedApps, revokeApp, signOutEverywhere, signOutOtherSessions } from './apps.ts';
import { listBoundDevices, unbindDevice } from './devices.ts';
import { createPlaceLookup, recentSecurityEvents } from './security-log.ts';

export interface AccountCenterDeps {
  db: Db;
  config: Pick<Config, 'issuer' | 'accountCenter' | 'ipPlaces'>;
  identity: IdentityService;
  settings: AccountSettings;
  clients: ClientsService;
  codes: Codes;
  federation: Federation;
  notifyLogout: LogoutNotifier;
  client: AccountClient;
  views: Views;
  csrf: Csrf;
  clock: () => Date;
}

interface Signed { session: AccountSession; account: Account }

const LANG_COOKIE = 'chucs.lang';
/** Pages a `next` parameter may point to: our own, never another site. */
const NEXT_PATH = /^\/account(\/[a-z-]+)*$/;

/** Messages for `?done=` after a change (post/redirect/get). */
const DONE_MESSAGES: Record<string, MessageKey> = {
  saved: 'account.saved', added: 'identifiers.added', removed: 'identifiers.removed', primary: 'identifiers.primary_changed',
  password: 'password.changed', revoked: 'apps.revoked', unbound: 'devices.unbound', linked: 'linked.linked', unlinked: 'linked.unlinked',
};

/**
 * 我的长虹, the account center: the person's own view of their Changhong ID, server-rendered
 * and usable without JavaScript on a small phone. It signs in through the provider like any
 * app (account-client.ts); changing the password or the phones and emails needs a sign-in
 * within `stepUpSeconds` or a fresh code (step-up).
 */
export function createAccountRoutes(deps: AccountCenterDeps): Router {
  const { db, config, identity, settings, clients, codes, federation, notifyLogout, client, views, csrf, clock } = deps;
  const router = new Router({ prefix: '/account' });
  const placeOf = createPlaceLookup(config.ipPlaces);
  router.use(formBody());

  function localeOf(ctx: Context): Locale {
    const asked = typeof ctx.query.lang === 'string' ? ctx.query.lang : undefined;
    if (asked === 'en' || asked === 'zh-CN') ctx.cookies.set(LANG_COOKIE, asked, { httpOnly: true, sameSite: 'lax', path: '/', maxAge: 365 * 86400_000 });
    return pickLocale(asked ?? ctx.cookies.get(LANG_COOKIE), ctx.get('accept-language'));
  }

  function page(ctx: Context, view: string, titleKey: MessageKey, data: Record<string, unknown> = {}) {
    const locale = localeOf(ctx);
    const signed = ctx.state.signed as Signed | undefined;
    // Own keys only: ?done=__proto__ must find nothing, not Object.prototype.
    const done = typeof ctx.query.done === 'string' && Object.hasOwn(DONE_MESSAGES, ctx.query.done) ? DONE_MESSAGES[ctx.query.done] : undefined;
    const dateFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Shanghai' });
    ctx.set('cache-control', 'no-store');
    ctx.type = 'html';
    ctx.body = views.render(view, locale, {
      title: t(locale, titleKey), wide: true,
      csrf: signed ? csrf.token(`account:${signed.session.sid}`) : '',
      account: signed?.account, notice: done ? t(locale, done) : undefined,
      when: (d: Date) => dateFormat.format(d), mask: maskTarget, otherLang: locale === 'en' ? 'zh-CN' : 'en',
      ...data,
    });
  }

  /** Shows the page again with the refusal's message and status. */
  function refused(ctx: Context, err: unknown): string {
    if (!(err instanceof AppError)) throw err;
    ctx.status = err.status;
    if (err.retryAfter) ctx.set('retry-after', String(err.retryAfter));
    return err.publicMessage(localeOf(ctx));
  }

  const actorOf = (ctx: Context): Actor => ({ actor: `account:${(ctx.state.signed as Signed).account.id}`, ip: ctx.ip, userAgent: ctx.get('user-agent') });
  const signedOf = (ctx: Context) => ctx.state.signed as Signed;
  const body = (ctx: Context) => (ctx.request.body ?? {}) as Record<string, unknown>;
  const field = (ctx: Context, name: string, max = 256) => { const v = body(ctx)[name]; return typeof v === 'string' ? v.slice(0, max) : ''; };
  /** A row id from the path; anything else is simply not found (never a 500 from the database). */
  const idParam = (ctx: Context) => (/^\d{1,15}$/.test(String(ctx.params.id)) ? Number(ctx.params.id) : -1);
  const nextOf = (value: unknown) => (typeof value === 'string' && NEXT_PATH.test(value) ? value : '/account');

  // --- signing in through the provider -------------------------------------------------------

  router.get('/login', async (ctx) => {
    const request = client.loginRequest({ next: nextOf(ctx.query.next), locale: localeOf(ctx), fresh: ctx.query.fresh === '1' });
    accountCookies.writePending(ctx, request.pending);
    ctx.redirect(request.url);
  });

  router.get('/callback', async (ctx) => {
    const pending = accountCookies.readPending(ctx);
    accountCookies.clearPending(ctx);
    const { code, state, error } = ctx.query;
    if (!pending || typeof state !== 'string' || state !== pending.state) throw new AppError('account.sign_in_failed', { detail: 'state missing or not ours' });
    if (typeof error === 'string' || typeof code !== 'string') {
      // The person cancelled on the login page (access_denied) or the provider refused.
      return page(ctx, 'message', 'account.title', { message: t(localeOf(ctx), 'account.sign_in_again'), link: '/account/login' });
    }
    const signedIn = await client.complete(code, pending);
    accountCookies.writeSession(ctx, signedIn);
    ctx.redirect(pending.next);
  });

  // --- everything else needs a live session --------------------------------------------------

  router.use(async (ctx: Context, next: Next) => {
    if (ctx.path === '/account/login' || ctx.path === '/account/callback') return next();
    const session = accountCookies.readSession(ctx);
    const account = session && await providerSessionAlive(db, session) ? await identity.getAccount(session.sub) : undefined;
    if (!session || account?.status !== 'active') {
      accountCookies.clearSession(ctx);
      ctx.redirect(`/account/login?next=${encodeURIComponent(ctx.method === 'GET' && NEXT_PATH.test(ctx.path) ? ctx.path : '/account')}`);
      return;
    }
    ctx.state.signed = { session, account } satisfies Signed;
    if (ctx.method === 'POST' && !csrf.verify(`account:${session.sid}`, body(ctx)._csrf)) throw new AppError('request.csrf');
    await next();
  });

  /** Step-up: true when recent enough; otherwise sends the person to confirm, and false. */
  function steppedUp(ctx: Context, returnTo: string): boolean {
    if (recentlyAuthenticated(signedOf(ctx).session, config.accountCenter.stepUpSeconds, clock())) return true;
    ctx.redirect(`/account/verify?next=${encodeURIComponent(returnTo)}`);
    return false;
  }

  router.get('/', async (ctx) => page(ctx, 'account/home', 'account.title'));

  // --- profile --------------------------------------------------------------------------------

  router.get('/profile', async (ctx) => page(ctx, 'account/profile', 'account.nav.profile', { values: signedOf(ctx).account.profile }));

  router.post('/profile', async (ctx) => {
    const input = Object.fromEntries(['name', 'nickname', 'gender', 'birthdate', 'picture', 'region'].map((k) => [k, field(ctx, k, 4096)]));
    try {
      await settings.updateProfile(signedOf(ctx).account.id, input, actorOf(ctx));
    } catch (err) {
      const message = refused(ctx, err);
      const fieldName = (err as AppError).detail;
      const label = fieldName && `profile.${fieldName}` as MessageKey;
      return page(ctx, 'account/profile', 'account.nav.profile', {
        values: input, error: label ? `${message} ${t(localeOf(ctx), 'profile.field_error', { field: t(localeOf(ctx), label) })}` : message,
      });
    }
    ctx.redirect('/account?done=saved');
  });

  // --- phones and emails ---------------------------------------------------------------------

  const identifiersPage = (ctx: Context, data: Record<string, unknown> = {}) => page(ctx, 'account/identifiers', 'account.nav.identifiers', { target: '', ...data });
  router.get('/identifiers', async (ctx) => identifiersPage(ctx));

  router.post('/identifiers/send', async (ctx) => {
    if (!steppedUp(ctx, '/account/identifiers')) return;
    const typed = field(ctx, 'target');
    const target = parseCodeTarget(typed);
    try {
      if (!target) throw new AppError('codes.invalid_target');
      const sent = await codes.send({ purpose: 'verify', channel: target.channel, target: target.value, binding: `account:${signedOf(ctx).account.id}`, ip: ctx.ip, locale: localeOf(ctx) });
      page(ctx, 'account/identifier-code', 'account.nav.identifiers', { target: typed, sentTo: sent.maskedTarget, minutes: sent.expiresInMinutes });
    } catch (err) {
      identifiersPage(ctx, { error: refused(ctx, err), target: typed });
    }
  });

  router.post('/identifiers/confirm', async (ctx) => {
    if (!steppedUp(ctx, '/account/identifiers')) return;
    const typed = field(ctx, 'target');
    const target = parseCodeTarget(typed);
    const accountId = signedOf(ctx).account.id;
    try {
      if (!target) throw new AppError('codes.invalid_target');
      await codes.verify({ purpose: 'verify', target: target.value, binding: `account:${accountId}`, code: field(ctx, 'code', 16) });
      await settings.addVerifiedIdentifier(accountId, { kind: target.kind, value: target.value }, actorOf(ctx));
    } catch (err) {
      const error = refused(ctx, err);
      if (err instanceof AppError && err.code.startsWith('codes.') && err.code !== 'codes.invalid_target') {
        return page(ctx, 'account/identifier-code', 'account.nav.identifiers', { target: typed, error });
      }
      return identifiersPage(ctx, { error });
    }
    ctx.redirect('/account/identifiers?done=added');
  });

  router.post('/identifiers/:id/remove', async (ctx) => {
    if (!steppedUp(ctx, '/account/identifiers')) return;
    try {
      await settings.removeIdentifier(signedOf(ctx).account.id, idParam(ctx), actorOf(ctx));
    } catch (err) {
      return identifiersPage(ctx, { error: refused(ctx, err), account: await identity.getAccount(signedOf(ctx).account.id) });
    }
    ctx.redirect('/account/identifiers?done=removed');
  });

  router.post('/identifiers/:id/primary', async (ctx) => {
    if (!steppedUp(ctx, '/account/identifiers')) return;
    try {
      await settings.setPrimary(signedOf(ctx).account.id, idParam(ctx), actorOf(ctx));
    } catch (err) {
      return identifiersPage(ctx, { error: refused(ctx, err) });
    }
    ctx.redirect('/account/identifiers?done=primary');
  });

  // --- password -------------------------------------------------------------------------------

  const passwordPage = async (ctx: Context, data: Record<string, unknown> = {}) =>
    page(ctx, 'account/password', 'account.nav.password', { hasPassword: await settings.hasPassword(signedOf(ctx).account.id), ...data });

  router.get('/password', async (ctx) => {
    if (!steppedUp(ctx, '/account/password')) return;
    await passwordPage(ctx);
  });

  router.post('/password', async (ctx) => {
    if (!steppedUp(ctx, '/account/password')) return;
    try {
      await settings.setPassword(signedOf(ctx).account.id, typeof body(ctx).password === 'string' ? body(ctx).password as string : '', actorOf(ctx));
    } catch (err) {
      return passwordPage(ctx, { error: refused(ctx, err) });
    }
    await signOutOtherSessions(db, notifyLogout, signedOf(ctx).account.id, signedOf(ctx).session.sid, actorOf(ctx));
    ctx.redirect('/account?done=password');
  });

  // --- apps, devices, linked sign-ins, security log ------------------------------------------

  router.get('/apps', async (ctx) => page(ctx, 'account/apps', 'account.nav.apps', { apps: await listGrantedApps(db, clients, signedOf(ctx).account.id) }));

  router.post('/apps/revoke', async (ctx) => {
    await revokeApp(db, notifyLogout, signedOf(ctx).account.id, field(ctx, 'client_id'), actorOf(ctx));
    ctx.redirect('/account/apps?done=revoked');
  });

  router.get('/devices', async (ctx) => page(ctx, 'account/devices', 'account.nav.devices', { devices: await listBoundDevices(db, signedOf(ctx).account.id) }));

  router.post('/devices/:id/unbind', async (ctx) => {
    await unbindDevice(db, signedOf(ctx).account.id, idParam(ctx), actorOf(ctx));
    ctx.redirect('/account/devices?done=unbound');
  });

  const linkedPage = async (ctx: Context, data: Record<string, unknown> = {}) => {
    const linked = await federation.linked(signedOf(ctx).account.id);
    const en = localeOf(ctx) === 'en';
    const upstreams = federation.available().filter((p) => !linked.some((l) => l.provider === p.id)).map((p) => ({ id: p.id, name: en ? p.name.en : p.name.zh }));
    page(ctx, 'account/linked', 'account.nav.linked', { linked, upstreams, ...data });
  };

  router.get('/linked', async (ctx) => linkedPage(ctx));

  router.post('/linked/:upstream/start', async (ctx) => {
    if (!steppedUp(ctx, '/account/linked')) return;
    const url = await federation.start(String(ctx.params.upstream), { purpose: 'link', accountId: signedOf(ctx).account.id }, upstreamBrowserKey(ctx));
    ctx.redirect(url.href);
  });

  router.get('/linked/done', async (ctx) => {
    const accountId = signedOf(ctx).account.id;
    try {
      const pending = await federation.pending({ purpose: 'link', accountId }, String(ctx.query.state ?? ''));
      if (!pending) throw new AppError('federation.state_invalid', { detail: 'no upstream identity for this account' });
      await federation.apply(pending, await federation.decide(pending, { provenAccount: accountId }), { ip: ctx.ip, userAgent: ctx.get('user-agent') });
    } catch (err) {
      return linkedPage(ctx, { error: refused(ctx, err) });
    }
    ctx.redirect('/account/linked?done=linked');
  });

  router.post('/linked/:id/unlink', async (ctx) => {
    if (!steppedUp(ctx, '/account/linked')) return;
    try {
      await federation.unlink(signedOf(ctx).account.id, idParam(ctx), actorOf(ctx), canSignIn);
    } catch (err) {
      return linkedPage(ctx, { error: refused(ctx, err) });
    }
    ctx.redirect('/account/linked?done=unlinked');
  });

  router.get('/security', async (ctx) => {
    const events = await recentSecurityEvents(db, signedOf(ctx).account.id, placeOf);
    const names = new Map<string, string>();
    for (const e of events) {
      if (e.client && !names.has(e.client)) names.set(e.client, await clients.show(e.client).then((c) => c.name, () => e.client!));
    }
    page(ctx, 'account/security', 'account.nav.security', { events: events.map((e) => ({ ...e, app: e.client ? names.get(e.client) : undefined })) });
  });

  // --- signing out ----------------------------------------------------------------------------

  router.post('/sign-out', async (ctx) => {
    accountCookies.clearSession(ctx);
    ctx.redirect(`/session/end?client_id=${encodeURIComponent('chucs-account')}&post_logout_redirect_uri=${encodeURIComponent(`${config.issuer}/account`)}`);
  });

  router.post('/sign-out-everywhere', async (ctx) => {
    await signOutEverywhere(db, notifyLogout, signedOf(ctx).account.id, actorOf(ctx));
    accountCookies.clearSession(ctx);
    ctx.state.signed = undefined;
    page(ctx, 'message', 'account.title', { message: t(localeOf(ctx), 'account.signed_out_everywhere'), link: '/account' });
  });

  // --- step-up --------------------------------------------------------------------------------

  const stepUpTargets = (account: Account) => account.identifiers.filter((i) => i.verified && (i.kind === 'phone' || i.kind === 'email'));

  router.get('/verify', async (ctx) => {
    page(ctx, 'account/verify', 'step_up.title', { targets: stepUpTargets(signedOf(ctx).account), next: nextOf(ctx.query.next) });
  });

  router.post('/verify/send', async (ctx) => {
    const { account } = signedOf(ctx);
    const next = nextOf(body(ctx).next);
    const target = stepUpTargets(account).find((i) => String(i.id) === field(ctx, 'identifier'));
    try {
      if (!target) throw new AppError('identity.identifier_not_found');
      const sent = await codes.send({ purpose: 'step_up', channel: target.kind === 'phone' ? 'sms' : 'email', target: target.value, binding: `account:${account.id}`, ip: ctx.ip, locale: localeOf(ctx) });
      page(ctx, 'account/verify', 'step_up.title', { targets: stepUpTargets(account), next, codeFor: target.id, sentTo: sent.maskedTarget, minutes: sent.expiresInMinutes });
    } catch (err) {
      page(ctx, 'account/verify', 'step_up.title', { targets: stepUpTargets(account), next, error: refused(ctx, err) });
    }
  });

  router.post('/verify/check', async (ctx) => {
    const { account, session } = signedOf(ctx);
    const next = nextOf(body(ctx).next);
    const target = stepUpTargets(account).find((i) => String(i.id) === field(ctx, 'identifier'));
    try {
      if (!target) throw new AppError('identity.identifier_not_found');
      await codes.verify({ purpose: 'step_up', target: target.value, binding: `account:${account.id}`, code: field(ctx, 'code', 16) });
    } catch (err) {
      return page(ctx, 'account/verify', 'step_up.title', { targets: stepUpTargets(account), next, codeFor: target?.id, error: refused(ctx, err) });
    }
    accountCookies.writeSession(ctx, { ...session, steppedUpAt: Math.floor(clock().getTime() / 1000) });
    await recordAudit(db, { ...actorOf(ctx), action: 'step_up.succeeded', subject: account.id, detail: { method: target.kind === 'phone' ? 'sms' : 'email_code' } });
    ctx.redirect(next);
  });

  return router;
}
