import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { errors as oidcErrors } from 'oidc-provider';
import { AppError } from '../errors.ts';
import type { PasswordLogin } from '../auth/password-login.ts';
import { parseCodeTarget, type CodeLogin } from '../auth/code-login.ts';
import type { Config } from '../config/schema.ts';
import type { Views } from '../http/views.ts';
import type { Csrf } from '../http/csrf.ts';
import { formBody } from '../http/form-body.ts';
import { pickLocale } from '../i18n/locale.ts';
import { t, type MessageKey } from '../i18n/messages.ts';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export interface InteractionDeps {
  provider: Provider;
  passwordLogin: PasswordLogin;
  codeLogin: CodeLogin;
  legal: Config['legal'];
  views: Views;
  csrf: Csrf;
}

/**
 * The login and consent steps oidc-provider hands over to us (interaction states):
 *
 * | prompt  | GET shows     | POST                         | then                        |
 * |---------|---------------|------------------------------|-----------------------------|
 * | login   | login page    | /code/send: text a code      | the code page               |
 * |         |               | /code/verify: check the code | back to oidc-provider       |
 * |         |               | /login: verify the password  | back to oidc-provider       |
 * | consent | consent page  | /confirm: grant the scopes   | back to oidc-provider       |
 * | any     |               | /abort                       | access_denied to the client |
 *
 * First-party clients reach consent only when the app itself asks for it with prompt=consent
 * (see loadExistingGrant).
 */
export function createInteractionRoutes({ provider, passwordLogin, codeLogin, legal, views, csrf }: InteractionDeps): Router {
  const router = new Router({ prefix: '/interaction/:uid' });
  router.use(formBody());

  const localeOf = (ctx: Context, details?: Details) =>
    pickLocale(details?.params.ui_locales as string | undefined, ctx.get('accept-language'));

  async function loadInteraction(ctx: Context): Promise<Details> {
    try {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.uid !== ctx.params.uid) throw new AppError('interaction.expired', { detail: 'uid does not match the cookie' });
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

  async function clientName(details: Details): Promise<string> {
    const client = await provider.Client.find(String(details.params.client_id));
    return client?.clientName ?? String(details.params.client_id);
  }

  function render(ctx: Context, details: Details, view: string, titleKey: MessageKey, data: Record<string, unknown>, titleVars: Record<string, string> = {}) {
    const locale = localeOf(ctx, details);
    ctx.type = 'html';
    ctx.body = views.render(view, locale, { title: t(locale, titleKey, titleVars), uid: details.uid, csrf: csrf.token(details.uid), legal, ...data });
  }

  async function showLogin(ctx: Context, details: Details, extra: { error?: string; identifier?: string; target?: string; passwordOpen?: boolean } = {}) {
    render(ctx, details, 'login', 'login.title', { clientName: await clientName(details), identifier: '', target: '', passwordOpen: false, ...extra });
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

  async function atLoginPrompt(ctx: Context): Promise<{ details: Details; body: Record<string, unknown> }> {
    const details = await loadInteraction(ctx);
    assertCsrf(ctx, details);
    if (details.prompt.name !== 'login') throw new AppError('request.invalid', { detail: 'not at the login prompt' });
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
      const name = await clientName(details);
      return render(ctx, details, 'consent', 'consent.title', { clientName: name, scopes }, { app: name });
    }
    throw new AppError('request.invalid', { detail: `unknown prompt ${details.prompt.name}` });
  });

  router.post('/code/send', async (ctx) => {
    const { details, body } = await atLoginPrompt(ctx);
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
    const { details, body } = await atLoginPrompt(ctx);
    const target = field(body, 'target');
    let signedIn;
    try {
      signedIn = await codeLogin.signIn(target, field(body, 'code', 16), codeContext(ctx, details));
    } catch (err) {
      const error = refuse(ctx, err, details);
      if ((err as AppError).code === 'codes.invalid_target') return showLogin(ctx, details, { error, target });
      return showCodeEntry(ctx, details, { target, resendAfter: 0, error });
    }
    await provider.interactionFinished(ctx.req, ctx.res, {
      login: { accountId: signedIn.accountId, amr: [signedIn.amr], remember: true },
    }, { mergeWithLastSubmission: false });
  });

  router.post('/login', async (ctx) => {
    const { details, body } = await atLoginPrompt(ctx);
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
    await provider.interactionFinished(ctx.req, ctx.res, {
      login: { accountId, amr: ['pwd'], remember: true },
    }, { mergeWithLastSubmission: false });
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
