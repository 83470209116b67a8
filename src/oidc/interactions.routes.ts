import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors as oidcErrors } from 'oidc-provider';
import { AppError } from '../errors.ts';
import type { PasswordLogin } from '../auth/password-login.ts';
import type { SignInObserver } from '../auth/sign-in-observer.ts';
import { parseCodeTarget, type CodeLogin } from '../auth/code-login.ts';
import type { Config } from '../config/schema.ts';
import type { Federation, Pending } from '../federation/federation.service.ts';
import { upstreamBrowserKey } from '../federation/upstream.routes.ts';
import type { IdentityService } from '../identity/identity.service.ts';
import { maskTarget } from '../codes/codes.service.ts';
import type { Brand, BrandsService } from '../brands/brands.service.ts';
import { loginMethodsOf, type LoginMethod } from '../clients/clients.service.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { Db } from '../db/database.ts';
import type { Views } from '../http/views.ts';
import type { Csrf } from '../http/csrf.ts';
import { formBody } from '../http/form-body.ts';
import { pickLocale } from '../i18n/locale.ts';
import { t, type MessageKey } from '../i18n/messages.ts';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** The app an interaction is for, as its pages need it. */
interface App {
  name: string;
  brand: Brand;
  methods: LoginMethod[];
  upstreams: string[] | undefined;
}

export interface InteractionDeps {
  provider: Provider;
  passwordLogin: PasswordLogin;
  codeLogin: CodeLogin;
  federation: Federation;
  identity: IdentityService;
  brands: BrandsService;
  db: Db;
  legal: Config['legal'];
  views: Views;
  csrf: Csrf;
  /** Told of upstream sign-ins (the password and code strategies report their own). */
  onSignIn?: SignInObserver | undefined;
}

/**
 * The login and consent steps oidc-provider hands over to us (interaction states):
 *
 * | prompt  | GET shows     | POST                         | then                        |
 * |---------|---------------|------------------------------|-----------------------------|
 * | login   | login page    | /code/send: text a code      | the code page               |
 * |         |               | /code/verify: check the code | back to oidc-provider       |
 * |         |               | /login: verify the password  | back to oidc-provider       |
 * |         |               | /upstream/:p/start           | the upstream (WeChat, ...)  |
 * |         | /upstream/:state (back from upstream/callback) | signed in, or asked:   |
 * |         |               | /upstream/create, or a sign-in above that links it         |
 * | consent | consent page  | /confirm: grant the scopes   | back to oidc-provider       |
 * | any     |               | /abort                       | access_denied to the client |
 *
 * First-party clients reach consent only when the app itself asks for it with prompt=consent
 * (see loadExistingGrant). The pages wear the app's brand; an app may allow only some ways
 * of signing in (a TV app: codes only), and the POSTs of the others are refused.
 */
export function createInteractionRoutes({ provider, passwordLogin, codeLogin, federation, identity, brands, db, legal, views, csrf, onSignIn = () => {} }: InteractionDeps): Router {
  const router = new Router({ prefix: '/interaction/:uid' });
  router.use(formBody());

  /** Set by loadInteraction, which every route starts with. */
  const appOf = (ctx: Context) => ctx.state.app as App;

  const localeOf = (ctx: Context, details?: Details) =>
    pickLocale(details?.params.ui_locales as string | undefined, ctx.get('accept-language'), (ctx.state.app as App | undefined)?.brand.defaultLocale);

  async function loadApp(details: Details): Promise<App> {
    const client = await provider.Client.find(String(details.params.client_id));
    const metadata = client?.metadata();
    return {
      name: client?.clientName ?? String(details.params.client_id),
      brand: await brands.brandFor(metadata?.chucs_brand),
      methods: loginMethodsOf(metadata),
      upstreams: metadata?.chucs_upstreams as string[] | undefined,
    };
  }

  async function loadInteraction(ctx: Context): Promise<Details> {
    try {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== ctx.params.uid) throw new AppError('interaction.expired', { detail: 'uid does not match the cookie' });
      ctx.state.app = await loadApp(details);
      return details;
    } catch (err) {
      if (err instanceof oidcErrors.SessionNotFound) throw new AppError('interaction.expired', { detail: err.message });
      throw err;
    }
  }

  function assertCsrf(ctx: Context, details: Details) {
    if (!csrf.verify(details.uid, (ctx.request.body as Record<string, unknown> | undefined)?._csrf)) {
      throw new AppError('request.csrf');
    }
  }

  function render(ctx: Context, details: Details, view: string, titleKey: MessageKey, data: Record<string, unknown>, titleVars: Record<string, string> = {}) {
    const locale = localeOf(ctx, details);
    const { brand } = appOf(ctx);
    ctx.type = 'html';
    ctx.body = views.render(view, locale, {
      title: t(locale, titleKey, titleVars), uid: details.uid, csrf: csrf.token(details.uid), brand, legal: { ...legal, ...brand.legal }, ...data,
    });
  }

  /** The upstreams this app lets people sign in with (all configured ones unless it names some). */
  async function upstreamsFor(ctx: Context) {
    const app = appOf(ctx);
    return app.methods.includes('upstream') ? federation.available(app.upstreams) : [];
  }

  function assertMethod(ctx: Context, method: LoginMethod) {
    if (!appOf(ctx).methods.includes(method)) throw new AppError('auth.method_not_allowed', { detail: `${method} not allowed for this app` });
  }

  async function showLogin(ctx: Context, details: Details, extra: { error?: string; identifier?: string; target?: string; passwordOpen?: boolean } = {}) {
    const pending = await federation.pending({ purpose: 'login', interactionUid: details.uid });
    const locale = localeOf(ctx, details);
    render(ctx, details, 'login', 'login.title', {
      clientName: appOf(ctx).name, methods: appOf(ctx).methods, identifier: '', target: '', passwordOpen: false,
      upstreams: pending ? [] : (await upstreamsFor(ctx)).map((u) => ({ id: u.id, name: u.name[locale === 'en' ? 'en' : 'zh'] })),
      pendingUpstream: pending ? pending.provider.name[locale === 'en' ? 'en' : 'zh'] : undefined,
      pendingNickname: pending?.identity.profile.nickname ?? '',
      ...extra,
    });
  }

  /**
   * Signs in to the account an upstream identity leads to, or refuses on the login page.
   * `choice`: the person chose a new Changhong ID, or proved (and confirmed) an existing one
   * that the identity joins.
   */
  async function finishWithUpstream(ctx: Context, details: Details, pending: Pending, choice?: { create: true } | { provenAccount: string }) {
    const by = { ip: ctx.ip, userAgent: ctx.get('user-agent') };
    let accountId: string;
    try {
      ({ accountId } = await federation.apply(pending, await federation.decide(pending, choice), by));
    } catch (err) {
      if (!choice || 'create' in choice) onSignIn('upstream', 'failure');
      return showLogin(ctx, details, { error: refuse(ctx, err, details) });
    }
    if (!choice || 'create' in choice) {
      await recordAudit(db, {
        actor: `account:${accountId}`, action: 'login.succeeded', subject: accountId, ...by,
        detail: { method: 'upstream', provider: pending.identity.provider, client: String(details.params.client_id) },
      });
      onSignIn('upstream', 'success');
    }
    const amr = choice && 'provenAccount' in choice && pending.proven ? ['fed', pending.proven.amr] : ['fed'];
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId, amr, remember: true } }, { mergeWithLastSubmission: false });
  }

  /**
   * After a password or code sign-in. With an upstream identity waiting in this login, the
   * person is asked first whether to link it to the account they just proved: on a shared
   * browser, the identity may be someone else's who left the page half-way.
   */
  async function signedIn(ctx: Context, details: Details, accountId: string, amr: string) {
    const pending = await federation.pending({ purpose: 'login', interactionUid: details.uid });
    if (pending) {
      await federation.prove(pending, accountId, amr);
      const account = await identity.getAccount(accountId);
      const shown = account?.identifiers.find((i) => i.is_primary && i.verified) ?? account?.identifiers[0];
      const locale = localeOf(ctx, details);
      return render(ctx, details, 'upstream-confirm', 'login.link_title', {
        provider: pending.provider.name[locale === 'en' ? 'en' : 'zh'], nickname: pending.identity.profile.nickname ?? '',
        account: shown ? maskTarget(shown.value) : '',
      });
    }
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId, amr: [amr], remember: true } }, { mergeWithLastSubmission: false });
  }

  function showCodeEntry(ctx: Context, details: Details, page: { target: string; sentTo?: string; minutes?: number; resendAfter: number; error?: string }) {
    render(ctx, details, 'login-code', 'login.enter_code', page);
  }

  /** Shows a refused step again with its message (and Retry-After when it is about waiting). */
  function refuse(ctx: Context, err: unknown, details: Details): string {
    if (!(err instanceof AppError)) throw err;
    ctx.status = err.status;
    if (err.retryAfter) ctx.set('retry-after', String(err.retryAfter));
    return err.publicMessage(localeOf(ctx, details));
  }

  async function atLoginPrompt(ctx: Context, method: LoginMethod): Promise<{ details: Details; body: Record<string, unknown> }> {
    const details = await loadInteraction(ctx);
    assertCsrf(ctx, details);
    if (details.prompt.name !== 'login') throw new AppError('request.invalid', { detail: 'not at the login prompt' });
    assertMethod(ctx, method);
    return { details, body: ctx.request.body as Record<string, unknown> };
  }

  const field = (body: Record<string, unknown>, name: string, max = 256) =>
    (typeof body[name] === 'string' ? body[name] : '').slice(0, max);

  const codeContext = (ctx: Context, details: Details) => ({
    interactionUid: details.uid, ip: ctx.ip, userAgent: ctx.get('user-agent'),
    clientId: String(details.params.client_id), locale: localeOf(ctx, details),
  });

  router.get('/', async (ctx) => {
    const details = await loadInteraction(ctx);
    ctx.set('cache-control', 'no-store');
    if (details.prompt.name === 'login') return showLogin(ctx, details);
    if (details.prompt.name === 'consent') {
      const locale = localeOf(ctx, details);
      const scopes = String(details.params.scope ?? 'openid').split(' ')
        .filter((s) => ['openid', 'profile', 'email', 'phone', 'offline_access'].includes(s))
        .map((s) => t(locale, `scope.${s}` as MessageKey));
      const { name } = appOf(ctx);
      return render(ctx, details, 'consent', 'consent.title', { clientName: name, scopes }, { app: name });
    }
    throw new AppError('request.invalid', { detail: `unknown prompt ${details.prompt.name}` });
  });

  router.post('/code/send', async (ctx) => {
    const { details, body } = await atLoginPrompt(ctx, 'code');
    const target = field(body, 'target');
    let sent;
    try {
      sent = await codeLogin.sendCode(target, codeContext(ctx, details));
    } catch (err) {
      const error = refuse(ctx, err, details);
      // A refused resend stays on the code page: the code sent before may still arrive.
      if (body.resend === '1' && parseCodeTarget(target)) return showCodeEntry(ctx, details, { target, resendAfter: (err as AppError).retryAfter ?? 60, error });
      return showLogin(ctx, details, { error, target });
    }
    showCodeEntry(ctx, details, { target, sentTo: sent.maskedTarget, minutes: sent.expiresInMinutes, resendAfter: sent.resendAfterSeconds });
  });

  router.post('/code/verify', async (ctx) => {
    const { details, body } = await atLoginPrompt(ctx, 'code');
    const target = field(body, 'target');
    let result;
    try {
      result = await codeLogin.signIn(target, field(body, 'code', 16), codeContext(ctx, details));
    } catch (err) {
      const error = refuse(ctx, err, details);
      if ((err as AppError).code === 'codes.invalid_target') return showLogin(ctx, details, { error, target });
      return showCodeEntry(ctx, details, { target, resendAfter: 0, error });
    }
    await signedIn(ctx, details, result.accountId, result.amr);
  });

  router.post('/upstream/:upstream/start', async (ctx) => {
    const { details } = await atLoginPrompt(ctx, 'upstream');
    const upstream = String(ctx.params.upstream);
    if (!(await upstreamsFor(ctx)).some((u) => u.id === upstream)) throw new AppError('federation.unknown_provider', { detail: `${upstream} not allowed for this app` });
    ctx.redirect((await federation.start(upstream, { purpose: 'login', interactionUid: details.uid }, upstreamBrowserKey(ctx))).href);
  });

  router.get('/upstream/:state', async (ctx) => {
    const details = await loadInteraction(ctx);
    if (details.prompt.name !== 'login') throw new AppError('request.invalid', { detail: 'not at the login prompt' });
    assertMethod(ctx, 'upstream');
    const pending = await federation.pending({ purpose: 'login', interactionUid: details.uid }, String(ctx.params.state));
    if (!pending) throw new AppError('federation.state_invalid', { detail: 'no upstream identity for this login' });
    const decision = await federation.decide(pending);
    if (decision.kind === 'choose') return showLogin(ctx, details);
    await finishWithUpstream(ctx, details, pending);
  });

  /** The person confirms linking the upstream identity to the account they just proved. */
  router.post('/upstream/link', async (ctx) => {
    const { details } = await atLoginPrompt(ctx, 'upstream');
    const pending = await federation.pending({ purpose: 'login', interactionUid: details.uid });
    if (!pending?.proven) throw new AppError('federation.state_invalid', { detail: 'nothing proven to link' });
    await finishWithUpstream(ctx, details, pending, { provenAccount: pending.proven.accountId });
  });

  /** Or declines: signed in to the account they proved, the upstream identity dropped. */
  router.post('/upstream/skip', async (ctx) => {
    const { details } = await atLoginPrompt(ctx, 'upstream');
    const pending = await federation.pending({ purpose: 'login', interactionUid: details.uid });
    if (!pending?.proven) throw new AppError('federation.state_invalid', { detail: 'nothing proven to skip' });
    await federation.cancel(pending);
    await provider.interactionFinished(ctx.req, ctx.res, {
      login: { accountId: pending.proven.accountId, amr: [pending.proven.amr], remember: true },
    }, { mergeWithLastSubmission: false });
  });

  router.post('/upstream/create', async (ctx) => {
    const { details } = await atLoginPrompt(ctx, 'upstream');
    const pending = await federation.pending({ purpose: 'login', interactionUid: details.uid });
    if (!pending) throw new AppError('federation.state_invalid', { detail: 'no upstream identity for this login' });
    await finishWithUpstream(ctx, details, pending, { create: true });
  });

  router.post('/login', async (ctx) => {
    const { details, body } = await atLoginPrompt(ctx, 'password');
    const identifier = field(body, 'identifier');
    const password = typeof body.password === 'string' ? body.password : '';
    let accountId: string;
    try {
      accountId = await passwordLogin({
        identifier, password, ip: ctx.ip, userAgent: ctx.get('user-agent'), clientId: String(details.params.client_id),
      });
    } catch (err) {
      return showLogin(ctx, details, { error: refuse(ctx, err, details), identifier, passwordOpen: true });
    }
    await signedIn(ctx, details, accountId, 'pwd');
  });

  router.post('/confirm', async (ctx) => {
    const details = await loadInteraction(ctx);
    assertCsrf(ctx, details);
    if (details.prompt.name !== 'consent') throw new AppError('request.invalid', { detail: 'not at the consent prompt' });
    const { prompt: { details: missing }, params, session, grantId } = details;
    const grant = grantId
      ? (await provider.Grant.find(grantId))!
      : new provider.Grant({ accountId: session!.accountId, clientId: String(params.client_id) });
    const m = missing as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (m.missingOIDCScope) grant.addOIDCScope(m.missingOIDCScope.join(' '));
    if (m.missingOIDCClaims) grant.addOIDCClaims(m.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(m.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const savedGrantId = await grant.save();
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId: savedGrantId } }, { mergeWithLastSubmission: true });
  });

  router.post('/abort', async (ctx) => {
    const details = await loadInteraction(ctx);
    assertCsrf(ctx, details);
    await provider.interactionFinished(ctx.req, ctx.res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  });

  return router;
}
