import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { AppError } from '../errors.ts';
import type { ClientsService } from '../clients/clients.service.ts';
import { publicJwks, type PrivateJwks } from '../oidc/keys.ts';

/** The account center is an ordinary first-party client of CHUCS, under this id. */
export const ACCOUNT_CLIENT_ID = 'chucs-account';

export interface LoginRequest {
  /** Where the browser goes to sign in. */
  url: string;
  /** Kept in a signed cookie until the callback. */
  pending: PendingLogin;
}

export interface PendingLogin { state: string; nonce: string; verifier: string; next: string }

export interface SignedIn { sub: string; sid: string; authTime: number; amr: string[] }

export type AccountClient = ReturnType<typeof createAccountClient>;

/**
 * The account center's side of OpenID Connect: it signs people in through the provider's
 * authorization endpoint (code + PKCE + state + nonce) and redeems the code at the token
 * endpoint over HTTP, like any app would. Its secret is derived from the encryption key, so
 * every node knows it and nothing more is stored.
 */
export function createAccountClient({ issuer, providerUrl, encryptionKey, jwks, clients, fetch = globalThis.fetch }: {
  issuer: string;
  /** Where the token endpoint is reached from this server (defaults to the issuer). */
  providerUrl?: string | undefined;
  encryptionKey: string;
  jwks: PrivateJwks;
  clients: ClientsService;
  fetch?: typeof globalThis.fetch;
}) {
  const secret = Buffer.from(hkdfSync('sha256', Buffer.from(encryptionKey, 'base64'), Buffer.alloc(0), 'chucs account center client secret', 32)).toString('base64url');
  const redirectUri = `${issuer}/account/callback`;
  const publicKeys = createLocalJWKSet(publicJwks(jwks));

  return {
    async register(): Promise<void> {
      await clients.ensureBuiltIn(ACCOUNT_CLIENT_ID, secret, {
        name: '我的长虹',
        redirectUris: [redirectUri],
        postLogoutRedirectUris: [`${issuer}/account`],
        firstParty: true,
      });
    },

    /** `fresh`: ask the person to sign in again (step-up), whatever session they have. */
    loginRequest({ next, locale, fresh }: { next: string; locale: string; fresh: boolean }): LoginRequest {
      const pending: PendingLogin = {
        state: randomBytes(16).toString('base64url'),
        nonce: randomBytes(16).toString('base64url'),
        verifier: randomBytes(32).toString('base64url'),
        next,
      };
      const params = new URLSearchParams({
        client_id: ACCOUNT_CLIENT_ID,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: redirectUri,
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: createHash('sha256').update(pending.verifier).digest('base64url'),
        code_challenge_method: 'S256',
        ui_locales: locale,
        // sid ties this session to the provider's; auth_time decides step-up.
        claims: JSON.stringify({ id_token: { sid: null, auth_time: { essential: true }, amr: null } }),
        ...(fresh ? { prompt: 'login', max_age: '0' } : {}),
      });
      return { url: `${issuer}/auth?${params}`, pending };
    },

    /** Redeems the code of a callback; the person's session facts from the verified ID token. */
    async complete(code: string, pending: PendingLogin): Promise<SignedIn> {
      const res = await fetch(`${providerUrl ?? issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${ACCOUNT_CLIENT_ID}:${secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: pending.verifier }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = await res.json().catch(() => ({})) as { id_token?: string; error?: string };
      if (!res.ok || !body.id_token) throw new AppError('account.sign_in_failed', { detail: `token endpoint answered ${res.status} ${body.error ?? ''}` });
      const { payload } = await jwtVerify(body.id_token, publicKeys, { issuer, audience: ACCOUNT_CLIENT_ID, algorithms: ['RS256', 'ES256'] });
      if (payload.nonce !== pending.nonce || typeof payload.sid !== 'string' || typeof payload.auth_time !== 'number') {
        throw new AppError('account.sign_in_failed', { detail: 'ID token without the expected nonce, sid or auth_time' });
      }
      return { sub: payload.sub!, sid: payload.sid, authTime: payload.auth_time, amr: (payload.amr as string[] | undefined) ?? [] };
    },
  };
}
