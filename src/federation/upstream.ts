import type { IdentifierKind } from '../identity/identifiers.repo.ts';
import { AppError } from '../errors.ts';

/**
 * An upstream identity provider (WeChat, QQ, Weibo, any OpenID Connect or OAuth 2.0 server)
 * seen from CHUCS: where to send the person, and what the answer proves.
 */
export interface UpstreamProvider {
  /** The configured id, e.g. `wechat`; part of the callback URL. */
  readonly id: string;
  readonly kind: UpstreamKind;
  /** Names on the login button, zh-CN and English. */
  readonly name: { zh: string; en: string };
  /** Where the browser goes to sign in upstream. */
  authorizationUrl(request: AuthorizationRequest): Promise<URL>;
  /**
   * Redeems the code of the callback and reads who signed in. Throws AppError
   * ('federation.upstream_failed', detail for the log) for anything the upstream did wrong:
   * an error answer, a bad code, a timeout, a malformed or unverifiable response.
   */
  complete(callback: CallbackParams, request: AuthorizationRequest): Promise<UpstreamIdentity>;
}

export type UpstreamKind = 'wechat' | 'qq' | 'weibo' | 'oidc' | 'oauth2';

/** What CHUCS keeps between the redirect and the callback (server side, by `state`). */
export interface AuthorizationRequest {
  redirectUri: string;
  state: string;
  nonce: string;
  /** PKCE code verifier (S256), for upstreams that support PKCE. */
  codeVerifier: string;
}

/** The query of the callback, as received (the caller has checked `state`). */
export type CallbackParams = URLSearchParams;

export interface UpstreamIdentity {
  /** The configured provider id. */
  provider: string;
  /**
   * Stable id of the person at this provider, as one string: WeChat `<appid>:<openid>`,
   * QQ the openid, Weibo the uid, OIDC the `sub`, OAuth 2.0 the configured subject field.
   */
  subject: string;
  /**
   * Identifiers the upstream proves, in CHUCS's kinds, verified by nature: WeChat unionid and
   * `<appid>:<openid>`, QQ openid and unionid, Weibo uid. The merge engine stores legacy
   * social ids in the same kinds, so a migrated user lands in their merged account.
   */
  identifiers: Array<{ kind: Extract<IdentifierKind, 'wechat_unionid' | 'wechat_openid' | 'qq_openid' | 'qq_unionid' | 'weibo_uid'>; value: string }>;
  /** An email or phone the upstream asserts, and whether it says it verified them. */
  email?: { value: string; verified: boolean } | undefined;
  phone?: { value: string; verified: boolean } | undefined;
  /** Profile hints for a new account (never overwrite an existing profile). */
  profile: { nickname?: string; name?: string; picture?: string; gender?: 'male' | 'female' };
  /** The upstream's tokens, to be stored encrypted; never logged. */
  tokens: { accessToken: string; refreshToken?: string | undefined; expiresAt?: number | undefined; idToken?: string | undefined };
  /** The raw profile claims worth keeping (no tokens). */
  claims: Record<string, unknown>;
}

/** A copy with every NUL taken out of strings and keys, at any depth. */
function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return value.replaceAll('\u0000', '') as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replaceAll('\u0000', ''), withoutNul(v)])) as T;
  }
  return value;
}

/**
 * What an upstream said, made storable: PostgreSQL text and jsonb hold no NUL. In a nickname
 * or a claim a NUL is dropped. Where dropping it could make one person's value another's, it
 * is not dropped: a subject or an id with a NUL is refused, an email or phone with one is
 * ignored (as if the upstream had not said it).
 */
export function storableIdentity(identity: UpstreamIdentity): UpstreamIdentity {
  if ([identity.subject, ...identity.identifiers.map((i) => i.value)].some((v) => v.includes('\u0000'))) {
    throw new AppError('federation.upstream_failed', { detail: `${identity.provider}: NUL in the subject or an id` });
  }
  const { email, phone, ...rest } = identity;
  return withoutNul({
    ...rest,
    ...(email && !email.value.includes('\u0000') ? { email } : {}),
    ...(phone && !phone.value.includes('\u0000') ? { phone } : {}),
  });
}
