import * as client from 'openid-client';
import { AppError } from '../../errors.ts';
import type { CallbackParams, UpstreamIdentity, UpstreamProvider } from '../upstream.ts';
import { compact, expiresAt, isLoopback, refusedAt, upstreamHttp, type ProviderDeps, type SettingsOf, type UpstreamHttp } from './http.ts';

/** Claims about the token rather than the person: not worth keeping with the link. */
const PROTOCOL_CLAIMS = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 's_hash', 'auth_time', 'azp', 'sid', 'jti', 'acr', 'amr']);

/**
 * Any OpenID Connect provider, found by discovery on first use (and again after a failed
 * discovery, so an upstream that was down at start is picked up later). openid-client does the
 * protocol: PKCE S256, state, nonce, `iss` of the response, and the ID token's claims and signature.
 * client_secret_basic because OIDC makes it the default a provider must accept.
 */
export function createOidcProvider(settings: SettingsOf<'oidc'>, deps: ProviderDeps, name: { zh: string; en: string }): UpstreamProvider {
  const http = upstreamHttp(settings, deps);
  let discovered: Promise<client.Configuration> | undefined;

  function configuration(): Promise<client.Configuration> {
    const options = openidClientOptions(http, settings, [settings.issuer]);
    // The ID token's signature too, against the upstream's JWKS, not only TLS to its token endpoint.
    options.execute.push(client.enableNonRepudiationChecks);
    discovered ??= client.discovery(
      new URL(settings.issuer), settings.clientId, settings.clientSecret, client.ClientSecretBasic(settings.clientSecret), options,
    ).catch((err: unknown) => {
      discovered = undefined;
      throw openidFailure(http, 'discovery', err);
    });
    return discovered;
  }

  return {
    id: settings.id,
    kind: 'oidc',
    name,
    async authorizationUrl(request) {
      return client.buildAuthorizationUrl(await configuration(), {
        redirect_uri: request.redirectUri,
        scope: settings.scope,
        state: request.state,
        nonce: request.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(request.codeVerifier),
        code_challenge_method: 'S256',
      });
    },

    async complete(callback, request): Promise<UpstreamIdentity> {
      refusedAt(callback);
      const config = await configuration();
      const sensitive = [callback.get('code') ?? '', request.codeVerifier];
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, callbackUrl(request.redirectUri, callback), {
          pkceCodeVerifier: request.codeVerifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true,
        });
      } catch (err) {
        throw openidFailure(http, 'token', err, sensitive);
      }
      const idClaims = tokens.claims()!; // idTokenExpected: openid-client has checked it is there
      sensitive.push(tokens.access_token, tokens.id_token ?? '', tokens.refresh_token ?? '');

      // The user-info answer is the fuller profile; openid-client checks its `sub` is the ID token's.
      let userinfo: Record<string, unknown> = {};
      if (config.serverMetadata().userinfo_endpoint) {
        try {
          userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        } catch (err) {
          throw openidFailure(http, 'userinfo', err, sensitive);
        }
      }
      const claims: Record<string, unknown> = { ...idClaims, ...userinfo, sub: idClaims.sub };
      const text = (key: string) => (typeof claims[key] === 'string' && claims[key] !== '' ? claims[key] : undefined);
      const email = text('email');
      const phone = text('phone_number');
      const nickname = text('nickname') ?? text('preferred_username');
      const gender = text('gender');
      return {
        provider: settings.id,
        subject: idClaims.sub,
        identifiers: [],
        // Only a literal `true` counts as verified: "true" as a string is a provider's bug, not a promise.
        email: email ? { value: email, verified: claims.email_verified === true } : undefined,
        phone: phone ? { value: phone, verified: claims.phone_number_verified === true } : undefined,
        profile: compact({
          nickname, name: text('name'), picture: text('picture'),
          gender: gender === 'male' || gender === 'female' ? gender : undefined,
        }) as UpstreamIdentity['profile'],
        tokens: { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, idToken: tokens.id_token, expiresAt: expiresAt(tokens.expires_in) },
        claims: compact(Object.fromEntries(Object.entries(claims).filter(([k]) => !PROTOCOL_CLAIMS.has(k)))),
      };
    },
  };
}

/** The callback as openid-client wants it: our redirect URI with the parameters received. */
export function callbackUrl(redirectUri: string, callback: CallbackParams): URL {
  const url = new URL(redirectUri);
  url.search = callback.toString();
  return url;
}

/**
 * Timeout and error mapping for openid-client; plain http only when every URL is this machine
 * (tests), never for another host.
 */
export function openidClientOptions(http: UpstreamHttp, settings: { timeoutMs: number }, urls: string[]) {
  return {
    [client.customFetch]: (url: string, options: client.CustomFetchOptions) => http.fetch(url, options as RequestInit),
    timeout: Math.ceil(settings.timeoutMs / 1000),
    execute: urls.every((u) => new URL(u).protocol === 'https:' || isLoopback(u)) && urls.some(isLoopback) ? [client.allowInsecureRequests] : [],
  };
}

/**
 * Turns what openid-client throws into our errors. Its messages are its own fixed texts; the
 * upstream's error codes are quoted, and everything passes through the provider's scrub.
 */
export function openidFailure(http: UpstreamHttp, step: string, err: unknown, sensitive: readonly string[] = []): AppError {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof AppError) return e; // from our fetch
  if (err instanceof client.AuthorizationResponseError) {
    if (err.error === 'access_denied') return new AppError('federation.upstream_denied', { detail: 'the person refused at the upstream' });
    return http.failed(`${step}: callback error ${JSON.stringify(err.error)}`, sensitive);
  }
  if (err instanceof client.ResponseBodyError) {
    return http.failed(`${step}: status ${err.status}, error ${JSON.stringify(err.error)} ${JSON.stringify(err.error_description ?? '')}`, sensitive);
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const challenge = err.cause[0];
    return http.failed(`${step}: status ${err.status}, challenge ${challenge?.scheme ?? ''} ${JSON.stringify(challenge?.parameters.error ?? '')}`, sensitive);
  }
  if (err instanceof client.ClientError) {
    const cause = err.cause instanceof Response ? `status ${err.cause.status}` : err.cause instanceof Error ? err.cause.message : '';
    return http.failed(`${step}: ${err.code ?? 'error'} ${err.message}${cause ? ` (${cause})` : ''}`, sensitive);
  }
  return http.failed(`${step}: ${err instanceof Error ? err.name : 'unknown error'}`, sensitive);
}
