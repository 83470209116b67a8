import Provider, { errors, type Configuration, type KoaContextWithOIDC, type AdapterFactory } from 'oidc-provider';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { IdentityService } from '../identity/identity.service.ts';
import type { Views } from '../http/views.ts';
import { pickLocale } from '../i18n/locale.ts';
import { t } from '../i18n/messages.ts';
import { SCOPE_CLAIMS, accountClaims } from './claims.ts';
import { oauthErrorWords } from './oauth-errors.ts';
import type { PrivateJwks } from './keys.ts';
import type { Devices, DeviceFacts } from '../devices/devices.service.ts';
import { BadDeviceParams, DEVICE_PARAMS, deviceFactsOf } from '../devices/device-params.ts';
import { registerAnonymousDeviceGrant, anonymousSubjectClaims } from '../devices/anonymous-grant.ts';

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
}

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
export function createProvider({ config, jwks, cookieKeys, adapter, identity, views, logger, devices, legacyIdsOf }: ProviderDeps): Provider {
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
    extraClientMetadata: { properties: ['chucs_first_party', 'chucs_brand', 'chucs_legacy_source', 'chucs_upstreams', 'chucs_login_methods'] },

    async findAccount(ctx, sub) {
      const account = await identity.getAccount(sub);
      if (!account || account.status !== 'active') return undefined;
      // An app that replaces a legacy user center receives the person's ids there.
      const legacySource = ctx.oidc?.client?.metadata().chucs_legacy_source;
      const legacy = typeof legacySource === 'string' ? { [LEGACY_IDS_CLAIM]: await legacyIdsOf(account.id, legacySource) } : {};
      return { accountId: account.id, claims: async () => ({ ...accountClaims(account), ...legacy }) as { sub: string } };
    },

    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },

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
      ClientCredentials: config.ttl.accessTokenSeconds,
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
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
      deviceFlow: {
        enabled: true,
        // Digits: typed with a TV remote or a phone's number pad. 10^8 codes, tried at most
        // a few times each within their 10 minutes, behind the login throttle.
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
          return { ip: ctx.ip, ua: ctx.get('user-agent'), ...(device ? { device } : {}) };
        },
        async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
          const device = (deviceInfo as { device?: DeviceFacts }).device;
          page(ctx, 'device-confirm', t(localeOf(ctx), 'device.title'), {
            form, userCode, clientName: client.clientName ?? client.clientId, model: device?.model, room: device?.room,
          });
        },
        async successSource(ctx) {
          const locale = localeOf(ctx);
          const code = ctx.oidc.deviceCode as unknown as { accountId: string; clientId: string; deviceInfo?: { device?: DeviceFacts } } | undefined;
          if (code?.deviceInfo?.device) {
            await devices.bind(code.deviceInfo.device, code.accountId, {
              actor: `account:${code.accountId}`, ip: ctx.ip, userAgent: ctx.get('user-agent'), clientId: code.clientId,
            });
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
      if (status >= 500) logger.error({ err: error, requestId: ctx.state.requestId }, 'oidc-provider error');
      const words = oauthErrorWords(String(out.error), locale);
      page(ctx, 'error', t(locale, 'error.title'), { message: words, requestId: ctx.state.requestId });
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  // A POST of the device code form without a session cookie (cookies blocked, a forged or
  // scripted request) has no form to check against; oidc-provider 9 answers it with a 500
  // (its error page re-renders the form into a session it never saved). Show a fresh form.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/device' && !ctx.cookies.get(provider.cookieName('session'), { signed: true })) {
      ctx.status = 303;
      ctx.redirect(`${config.issuer}/device`);
      return;
    }
    await next();
  });
  registerAnonymousDeviceGrant(provider, devices);
  provider.on('server_error', (ctx, err) => logger.error({ err, requestId: ctx.state?.requestId }, 'oidc-provider server_error'));
  provider.on('backchannel.error', (_ctx, err, client) => logger.warn({ err: (err as Error).message, client: client.clientId }, 'back-channel logout delivery failed'));
  return provider;
}

/** Checks client metadata the way oidc-provider will read it (for the clients service). */
export function clientValidator(provider: Provider) {
  return async (metadata: Record<string, unknown>) => {
    await (provider.Client as unknown as { validate(m: unknown): Promise<void> }).validate(metadata);
  };
}
