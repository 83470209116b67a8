import type { Context, Next } from 'koa';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { AppError } from '../errors.ts';
import { publicJwks, type PrivateJwks } from '../oidc/keys.ts';
import { adminResource, type AdminScope } from './admin-scopes.ts';

/** Who calls the admin API: the client the token was issued to, and its scopes. */
export interface AdminCaller { clientId: string; scopes: Set<string> }

/**
 * Bearer tokens for the admin API: JWT access tokens CHUCS issued for the admin resource
 * (signature, issuer, audience = the admin resource, expiry), checked in-process against
 * CHUCS's own keys. A token for another resource has another audience and is refused.
 */
export function createAdminAuth({ issuer, jwks, clientMetadata }: {
  issuer: string;
  jwks: PrivateJwks;
  /** The client as it is now (the clients service's cached view). */
  clientMetadata: (clientId: string) => Promise<Record<string, unknown> | undefined>;
}) {
  const keys = createLocalJWKSet(publicJwks(jwks));
  const audience = adminResource(issuer);

  async function caller(ctx: Context): Promise<AdminCaller> {
    const header = ctx.get('authorization');
    const token = /^Bearer ([\w.-]+)$/i.exec(header)?.[1];
    if (!token) throw new AppError('admin.unauthorized', { detail: 'no bearer token' });
    try {
      const { payload } = await jwtVerify(token, keys, { issuer, audience, algorithms: ['ES256', 'RS256'], typ: 'at+jwt' });
      // A JWT outlives changes to its client: a removed client, or scopes taken away, end it now.
      const clientId = String(payload.client_id);
      const current = await clientMetadata(clientId);
      const stillAllowed = new Set((current?.chucs_admin_scopes as string[] | undefined) ?? []);
      if (!current) throw new Error(`client ${clientId} no longer exists`);
      return { clientId, scopes: new Set(String(payload.scope ?? '').split(' ').filter((s) => stillAllowed.has(s))) };
    } catch (err) {
      throw new AppError('admin.unauthorized', { detail: `token refused: ${(err as Error).message}` });
    }
  }

  /** Middleware: the endpoint's scope, or 401/403 with WWW-Authenticate (RFC 6750). */
  return function requireScope(scope: AdminScope) {
    return async (ctx: Context, next: Next) => {
      let who: AdminCaller;
      try {
        who = await caller(ctx);
      } catch (err) {
        ctx.set('www-authenticate', `Bearer realm="chucs-admin", error="invalid_token"`);
        throw err;
      }
      if (!who.scopes.has(scope)) {
        ctx.set('www-authenticate', `Bearer realm="chucs-admin", error="insufficient_scope", scope="${scope}"`);
        throw new AppError('admin.forbidden', { detail: `needs ${scope}` });
      }
      ctx.state.admin = who;
      await next();
    };
  };
}

export type RequireScope = ReturnType<typeof createAdminAuth>;
