import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC, type AdapterFactory } from 'oidc-provider';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { IdentityService } from '../identity/identity.service.ts';
import type { Views } from '../http/views.ts';
import { pickLocale } from '../i18n/locale.ts';
import { t } from '../i18n/messages.ts';
import { SCOPE_CLAIMS, accountClaims } from './claims.ts';
import { oauthErrorWords } from './oauth-errors.ts';
import { databaseUnavailable } from './adapter.ts';
import { isDatabaseUnavailable, UNAVAILABLE_RETRY_AFTER_S } from '../db/unavailable.ts';
import type { PrivateJwks } from './keys.ts';
import type { GuessLimiter } from '../auth/throttle.repo.ts';
import { throttleAddress } from '../auth/throttle.ts';
import { adminResource } from '../admin/admin-scopes.ts';
import { LOGIN_METHODS, loginMethodsOf, type LoginMethod } from '../clients/clients.service.ts';
import { deviceProofOf, proofMatches, type Devices, type DeviceFacts } from '../devices/devices.service.ts';
import { BadDeviceParams, DEVICE_PARAMS, deviceFactsOf, deviceSecretOf } from '../devices/device-params.ts';

/** What oidc-provider keeps with a device code about the device (deviceInfo below). */
interface DeviceInfo { ip: string; ua: string; device?: DeviceFacts; proof?: string }
import { registerAnonymousDeviceGrant, anonymousSubjectClaims } from './anonymous-device-grant.ts';

export interface ProviderDeps {
  config: Config;
  jwks: PrivateJwks;
  cookieKeys: string[];
  adapter: AdapterFactory;
  identity: IdentityService;
  views: Views;
  logger: Logger;
  devices: Devices;
  /** An account's ids in a legacy source (for apps replacing that source). */
  legacyIdsOf: (accountId: string, source: string) => Promise<string[]>;
  /** Device codes typed at /device, counted per client address. */
  userCodeGuesses: GuessLimiter;
  /** Told of each device code refused by that throttle (metrics); must not throw. */
  onUserCodeThrottled?: (() => void) | undefined;
}

/** The device code form's path as oidc-provider's router matches it: any case, a trailing slash or not. */
const isDeviceForm = (path: string) => /^\/device\/?$/i.test(path);

/** The claim carrying a person's ids in the legacy source a client replaces (an array of strings). */
export const LEGACY_IDS_CLAIM = 'legacy_user_ids';

/**
 * Claims by scope. amr (RFC 8176: pwd, sms, otp, fed) tells apps how the person signed in,
 * e.g. before a payment; oidc-provider releases it only as a claim of a scope the grant holds.
 */
const CLAIMS = { ...SCOPE_CLAIMS, openid: [...SCOPE_CLAIMS.openid, LEGACY_IDS_CLAIM, 'amr'] } as const;

/** Claims about the sign-in itself, which any app may ask for by the claims parameter. */
const AUTHENTICATION_CLAIMS = ['sub', 'auth_time', 'sid', 'amr', 'acr'];

function localeOf(ctx: KoaContextWithOIDC) {
  const params = ctx.oidc?.params as { ui_locales?: string } | undefined;
  return pickLocale(params?.ui_locales, ctx.get('accept-language'));
}

/** How a session signed in (its amr) in terms of the sign-in methods an app may allow. */
const METHOD_OF_AMR: Record<string, LoginMethod> = { sms: 'code', otp: 'code', pwd: 'password', fed: 'upstream' };

/**
 * oidc-provider's prompts, with one more reason to show the login page: an app that allows
 * only some sign-in methods (a TV app: codes only) does not take a session signed in another
 * way; the person signs in again with a method it allows.
 */
function interactionPolicyFor() {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(new interactionPolicy.Check('login_method_not_allowed', 'the app does not accept how this session signed in', async (ctx) => {
    const { client, session } = ctx.oidc;
    if (!client || !session?.accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    const allowed = loginMethodsOf(client.metadata());
    if (allowed.length === LOGIN_METHODS.length) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    const used = (session.amr ?? []).map((a: string) => METHOD_OF_AMR[a]);
    return used.some((m: LoginMethod | undefined) => m && allowed.includes(m)) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
  }));
  return policy;
}

/** Whether a host is on the configured list of private-network hosts CHUCS may call. */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase();
  return patterns.some((p) => (p.startsWith('*.') ? h.endsWith(p.slice(1).toLowerCase()) : h === p.toLowerCase()));
}

function isFirstParty(client: { metadata(): Record<string, unknown> } | undefined): boolean {
  return client?.metadata().chucs_first_party === true;
}

/**
 * oidc-provider configured for CHUCS. Protocol work stays in oidc-provider: this only
 * says where data lives, which features are on, and how pages look.
 */
export function createProvider({ config, jwks, cookieKeys, adapter, identity, views, logger, devices, legacyIdsOf, userCodeGuesses, onUserCodeThrottled = () => {} }: ProviderDeps): Provider {
  // Themed by the app's brand when the page belongs to one (not the device code input page).
  // oidc-provider does not wait for these pages, so the brand comes from memory.
  const page = (ctx: KoaContextWithOIDC, name: string, title: string, data: Record<string, unknown>) => {
    ctx.type = 'html';
    const brand = views.brandOf(ctx.oidc?.client?.metadata().chucs_brand);
    ctx.body = views.render(name, localeOf(ctx), { title, ...data, ...(brand ? { brand } : {}) });
  };

  const configuration: Configuration = {
    adapter,
    jwks: jwks as Configuration['jwks'],
    cookies: {
      keys: cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    claims: CLAIMS as unknown as Configuration['claims'],
    scopes: ['openid', 'offline_access', 'profile', 'email', 'phone'],
    responseTypes: ['code', 'none'], // no implicit or hybrid flows: tokens never travel in the URL
    clientDefaults: { grant_types: ['authorization_code', 'refresh_token'], id_token_signed_response_alg: 'RS256', token_endpoint_auth_method: 'client_secret_basic' },
    extraClientMetadata: { properties: ['chucs_first_party', 'chucs_brand', 'chucs_legacy_source', 'chucs_upstreams', 'chucs_admin_scopes', 'chucs_login_methods'] },

    async findAccount(ctx, sub) {
      const account = await identity.getAccount(sub);
      if (!account || account.status !== 'active') return undefined;
      // An app that replaces a legacy user center receives the person's ids there.
      const legacySource = ctx.oidc?.client?.metadata().chucs_legacy_source;
      const legacy = typeof legacySource === 'string' ? { [LEGACY_IDS_CLAIM]: await legacyIdsOf(account.id, legacySource) } : {};
      return { accountId: account.id, claims: async () => ({ ...accountClaims(account), ...legacy }) as { sub: string } };
    },

    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}`, policy: interactionPolicyFor() },

    // Changhong's own apps skip the consent page: their grant is given on the person's behalf.
    async loadExistingGrant(ctx) {
      const { client, session, params } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId = (ctx.oidc.result?.consent as { grantId?: string } | undefined)?.grantId ?? session.grantIdFor(client.clientId);
      const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (!isFirstParty(client)) return existing;
      const grant = existing ?? new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(String(params?.scope ?? 'openid'));
      if (params?.claims) {
        const claims = JSON.parse(String(params.claims)) as { id_token?: object; userinfo?: object };
        grant.addOIDCClaims([...Object.keys(claims.id_token ?? {}), ...Object.keys(claims.userinfo ?? {})]);
      }
      await grant.save();
      return grant;
    },

    // oidc-provider guards its outgoing calls against private addresses (SSRF); hosts the
    // operator lists are called without that guard.
    fetch(url, options) {
      if (hostAllowed(new URL(String(url)).hostname, config.privateNetworkHosts)) delete (options as { dispatcher?: unknown }).dispatcher;
      return globalThis.fetch(url, options);
    },

    async extraTokenClaims(ctx, token) {
      return anonymousSubjectClaims(ctx as unknown as { state?: Record<string, unknown> }, token);
    },

    // A device client names the device it runs on (device-params.ts) with its device authorization request.
    extraParams: [...DEVICE_PARAMS],

    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    rotateRefreshToken: true,
    clientBasedCORS(_ctx, origin, client) {
      return client.redirectUris?.some((uri) => URL.canParse(uri) && new URL(uri).origin === origin) ?? false;
    },

    ttl: {
      AccessToken: config.ttl.accessTokenSeconds,
      // Admin API tokens (for a resource) live ten minutes; other service tokens the configured time.
      ClientCredentials: (_ctx, token) => ((token as { resourceServer?: unknown }).resourceServer ? 600 : config.ttl.accessTokenSeconds),
      AuthorizationCode: config.ttl.authorizationCodeSeconds,
      IdToken: config.ttl.accessTokenSeconds,
      RefreshToken: config.ttl.refreshTokenSeconds,
      DeviceCode: 600,
      Interaction: 3600,
      Session: config.ttl.sessionSeconds,
      Grant: config.ttl.refreshTokenSeconds,
    },

    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // The admin API is a resource (RFC 8707): a client registered with admin scopes gets, by
      // client credentials and resource=<issuer>/admin/api, a short JWT access token for it
      // holding those of its scopes it asked for. Any other client, or resource, is refused.
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? undefined as unknown as string,
        useGrantedResource: () => false,
        async getResourceServerInfo(_ctx, resourceIndicator, client) {
          const allowed = client.metadata().chucs_admin_scopes as string[] | undefined;
          if (resourceIndicator !== adminResource(config.issuer) || !allowed?.length) throw new errors.InvalidTarget();
          return {
            scope: allowed.join(' '), audience: resourceIndicator, accessTokenTTL: 600,
            accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
      // The claims request parameter (OIDC Core 5.5): apps ask for auth_time, sid or amr
      // explicitly. Never for more than their scopes give: the consent page lists scopes.
      claimsParameter: {
        enabled: true,
        async assertClaimsParameter(ctx, claims) {
          const scopes = String(ctx.oidc.params?.scope ?? '').split(' ');
          const allowed = new Set([...AUTHENTICATION_CLAIMS, ...scopes.flatMap((s) => (CLAIMS as Record<string, readonly string[]>)[s] ?? [])]);
          for (const container of ['userinfo', 'id_token'] as const) {
            for (const [name, value] of Object.entries(claims[container] ?? {})) {
              if (value !== null && (typeof value !== 'object' || Array.isArray(value))) throw new errors.InvalidRequest(`claims.${container} members must be null or objects`);
              if (!allowed.has(name)) throw new errors.InvalidRequest(`claims.${container}.${name} needs a scope that was not requested`);
            }
          }
        },
      },
      introspection: {
        enabled: true,
        // An app may look into its own tokens only: never another app's users.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      // An app may revoke its own tokens only, like introspection.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      backchannelLogout: { enabled: true },
      deviceFlow: {
        enabled: true,
        // Digits: typed with a TV remote or a phone's number pad. 10^8 codes; a wrong code counts
        // against the address it came from (the /device throttle below, throttle.userCode).
        charset: 'digits',
        mask: '****-****',
        async userCodeInputSource(ctx, form, _out, err) {
          const locale = localeOf(ctx);
          // oidc-provider shows this page again after a cancel, too: that is not a bad code.
          const error = !err ? undefined : (err as Error).name === 'AbortedError' ? t(locale, 'device.cancelled') : t(locale, 'device.invalid_code');
          page(ctx, 'device-input', t(locale, 'device.title'), { form, error });
        },
        // What the device said about itself with its request (MAC, model, room), kept with the
        // device code: shown when the person confirms, and bound to them once they approve.
        deviceInfo(ctx) {
          let device: DeviceFacts | undefined;
          try {
            device = deviceFactsOf(ctx.oidc.params as Record<string, unknown>);
          } catch (err) {
            if (err instanceof BadDeviceParams) throw new errors.InvalidRequest(err.message);
            throw err;
          }
          // The device secret itself is not kept with the code, only what it proves.
          const proof = deviceProofOf(deviceSecretOf(ctx.oidc.params as Record<string, unknown>));
          return { ip: ctx.ip, ua: ctx.get('user-agent'), ...(device ? { device, ...(proof ? { proof } : {}) } : {}) };
        },
        async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
          const locale = localeOf(ctx);
          const { device, proof } = deviceInfo as unknown as DeviceInfo;
          // A device registered with CHUCS must prove it is that device; a request merely naming
          // its MAC goes no further (it would bind the person to someone else's TV).
          if (device && proofMatches(await devices.find(device.mac), proof) === 'wrong') {
            ctx.status = 400;
            page(ctx, 'message', t(locale, 'device.title'), { message: t(locale, 'device.unproven') });
            return;
          }
          page(ctx, 'device-confirm', t(locale, 'device.title'), {
            form, userCode, clientName: client.clientName ?? client.clientId,
            model: device?.model, room: device?.room, macTail: device ? device.mac.slice(-4).toUpperCase() : undefined,
          });
        },
        async successSource(ctx) {
          const locale = localeOf(ctx);
          const code = ctx.oidc.deviceCode as unknown as { accountId: string; clientId: string; grantId?: string; deviceInfo?: DeviceInfo } | undefined;
          const device = code?.deviceInfo?.device;
          if (code && device) {
            const proof = proofMatches(await devices.find(device.mac), code.deviceInfo?.proof);
            if (proof !== 'wrong') {
              await devices.bind(device, proof === 'proven', code.accountId, code.grantId, {
                actor: `account:${code.accountId}`, ip: ctx.ip, userAgent: ctx.get('user-agent'), clientId: code.clientId,
              });
            }
          }
          page(ctx, 'message', t(locale, 'device.title'), { message: t(locale, 'device.done') });
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          page(ctx, 'logout', t(localeOf(ctx), 'logout.title'), { form });
        },
        async postLogoutSuccessSource(ctx) {
          const locale = localeOf(ctx);
          page(ctx, 'message', t(locale, 'logout.title'), { message: t(locale, 'logout.done') });
        },
      },
    },

    async renderError(ctx, out, error) {
      const locale = localeOf(ctx);
      const status = (error as { statusCode?: number }).statusCode ?? 500;
      // An unreachable database is logged once per request as a warning (below), not as a bug.
      if (status >= 500 && status !== 503 && !isDatabaseUnavailable(error)) logger.error({ err: error, requestId: ctx.state.requestId }, 'oidc-provider error');
      const words = oauthErrorWords(String(out.error), locale);
      page(ctx, 'error', t(locale, 'error.title'), { message: words, requestId: ctx.state.requestId });
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  // The adapter answers 503 temporarily_unavailable while the database is away; our own hooks
  // (findAccount, claims, device binding) reach it too, and their errors would be a 500
  // server_error: those become the same 503 here.
  provider.use(async (koaCtx, next) => {
    await next();
    const ctx = koaCtx as KoaContextWithOIDC;
    const cause = ctx.state.databaseUnavailable as Error | undefined;
    if (ctx.status === 500 && cause) {
      ctx.status = 503;
      const locale = localeOf(ctx);
      if (ctx.response.is('html')) page(ctx, 'error', t(locale, 'error.title'), { message: oauthErrorWords('temporarily_unavailable', locale), requestId: ctx.state.requestId });
      else ctx.body = { error: 'temporarily_unavailable', error_description: (databaseUnavailable(cause) as { error_description?: string }).error_description };
    }
    if (ctx.status === 503) {
      ctx.set('retry-after', String(UNAVAILABLE_RETRY_AFTER_S));
      logger.warn({ requestId: ctx.state.requestId, route: ctx.oidc?.route, err: cause?.message }, 'service unavailable (database)');
    }
  });
  // A POST of the device code form without a session cookie (cookies blocked, a forged or
  // scripted request) has no form to check against; oidc-provider 9 answers it with a 500
  // (its error page re-renders the form into a session it never saved). So does a GET of
  // /device/<anything> (its resume route) without one. Show a fresh form.
  provider.use(async (ctx, next) => {
    const sessionless = !ctx.cookies.get(provider.cookieName('session'), { signed: true });
    if (sessionless && ((ctx.method === 'POST' && isDeviceForm(ctx.path)) || ((ctx.method === 'GET' || ctx.method === 'HEAD') && /^\/device\/[^/]+\/?$/i.test(ctx.path)))) {
      ctx.status = 303;
      ctx.redirect(`${config.issuer}/device`);
      return;
    }
    await next();
  });
  // Each code typed at /device counts against the client's address before it is looked up,
  // and is forgiven when it names a live device code: a stranger guessing codes to confirm
  // someone else's TV gets the throttle's handful of tries, the person with the TV no wait.
  provider.use(async (koaCtx, next) => {
    if (koaCtx.method !== 'POST' || !isDeviceForm(koaCtx.path)) return next();
    const ctx = koaCtx as KoaContextWithOIDC;
    const address = throttleAddress(ctx.ip);
    const decision = await userCodeGuesses.reserve(address);
    if (!decision.allowed) {
      onUserCodeThrottled();
      const locale = localeOf(ctx);
      ctx.status = 429;
      ctx.set('retry-after', String(decision.retryAfterSeconds));
      page(ctx, 'message', t(locale, 'device.title'), { message: t(locale, 'device.throttled', { seconds: String(decision.retryAfterSeconds) }) });
      return;
    }
    await next();
    if (ctx.oidc?.entities.DeviceCode && decision.reservation) await userCodeGuesses.forgive(address, decision.reservation);
  });
  registerAnonymousDeviceGrant(provider, devices);
  provider.on('server_error', (ctx, err) => {
    if (isDatabaseUnavailable(err)) ctx.state.databaseUnavailable = err;
    else logger.error({ err, requestId: ctx.state?.requestId }, 'oidc-provider server_error');
  });
  provider.on('backchannel.error', (_ctx, err, client) => logger.warn({ err: (err as Error).message, client: client.clientId }, 'back-channel logout delivery failed'));
  return provider;
}

/** Checks client metadata the way oidc-provider will read it (for the clients service). */
export function clientValidator(provider: Provider) {
  return async (metadata: Record<string, unknown>) => {
    await (provider.Client as unknown as { validate(m: unknown): Promise<void> }).validate(metadata);
  };
}
