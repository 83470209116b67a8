import * as client from 'openid-client';
import { z } from 'zod';
import type { UpstreamIdentity, UpstreamProvider } from '../upstream.ts';
import { compact, expiresAt, refusedAt, upstreamHttp, type ProviderDeps, type SettingsOf } from './http.ts';
import { callbackUrl, openidClientOptions, openidFailure } from './oidc.ts';

/** Fields of a user-info answer that must not be stored with the link, whatever the upstream sends. */
const SECRET_FIELD = /token|secret|password/i;

/**
 * A plain OAuth 2.0 provider with a user-info URL (GitHub-like). No ID token, so nothing the
 * upstream says about an email is verified. PKCE S256 and state are sent (a server that ignores
 * PKCE is unharmed); client_secret_basic because RFC 6749 makes servers support it.
 */
export function createOAuth2Provider(settings: SettingsOf<'oauth2'>, deps: ProviderDeps, name: { zh: string; en: string }): UpstreamProvider {
  const http = upstreamHttp(settings, deps);
  const options = openidClientOptions(http, settings, [settings.authorizationUrl, settings.tokenUrl, settings.userinfoUrl]);
  // Plain OAuth 2.0 has no issuer identifier; the authorization server's origin stands in.
  const config = new client.Configuration(
    {
      issuer: new URL(settings.authorizationUrl).origin,
      authorization_endpoint: settings.authorizationUrl,
      token_endpoint: settings.tokenUrl,
      userinfo_endpoint: settings.userinfoUrl,
    },
    settings.clientId, settings.clientSecret, client.ClientSecretBasic(settings.clientSecret),
  );
  config[client.customFetch] = options[client.customFetch];
  config.timeout = options.timeout;
  for (const apply of options.execute) apply(config);

  return {
    id: settings.id,
    kind: 'oauth2',
    name,
    async authorizationUrl(request) {
      return client.buildAuthorizationUrl(config, {
        redirect_uri: request.redirectUri,
        ...(settings.scope ? { scope: settings.scope } : {}),
        state: request.state,
        code_challenge: await client.calculatePKCECodeChallenge(request.codeVerifier),
        code_challenge_method: 'S256',
      });
    },

    async complete(callback, request): Promise<UpstreamIdentity> {
      refusedAt(callback);
      // An `iss` (RFC 9207) cannot be checked without a configured issuer; the callback URL and
      // state already bind the answer to this provider.
      const params = new URLSearchParams(callback);
      params.delete('iss');
      const sensitive = [params.get('code') ?? '', request.codeVerifier];
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, callbackUrl(request.redirectUri, params), {
          pkceCodeVerifier: request.codeVerifier, expectedState: request.state,
        });
      } catch (err) {
        throw openidFailure(http, 'token', err, sensitive);
      }
      sensitive.push(tokens.access_token, tokens.refresh_token ?? '');

      let response: Response;
      try {
        response = await client.fetchProtectedResource(config, tokens.access_token, new URL(settings.userinfoUrl), 'GET');
      } catch (err) {
        throw openidFailure(http, 'userinfo', err, sensitive);
      }
      const user = await http.readJson('userinfo', response, z.record(z.string(), z.unknown()), { sensitive });

      const subject = scalarAt(user, settings.subjectField);
      if (subject === undefined) throw http.failed(`userinfo has no usable "${settings.subjectField}"`, sensitive);
      const nickname = settings.nicknameField ? scalarAt(user, settings.nicknameField) : undefined;
      const email = settings.emailField ? scalarAt(user, settings.emailField) : undefined;
      return {
        provider: settings.id,
        subject,
        identifiers: [],
        email: email ? { value: email, verified: false } : undefined,
        profile: nickname ? { nickname } : {},
        tokens: { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, expiresAt: expiresAt(tokens.expires_in) },
        claims: compact(Object.fromEntries(Object.entries(user).filter(([k]) => !SECRET_FIELD.test(k)))),
      };
    },
  };
}

/**
 * The string or number at a dotted path (`data.user.id`), as a string; undefined when absent,
 * empty or not a scalar. Numbers above 2^53 have already lost digits in JSON.parse, so an
 * upstream with ids that large needs a string field (as Weibo's `idstr`).
 */
export function scalarAt(object: unknown, path: string): string | undefined {
  let value = object;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  // A number above 2^53 arrives rounded: two people could share it. Such an id must come as a string.
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return typeof value === 'string' && value !== '' ? value : undefined;
}
