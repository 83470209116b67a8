import type { Context } from 'koa';
import type { Db } from '../db/database.ts';
import { ACCOUNT_CLIENT_ID, type PendingLogin, type SignedIn } from './account-client.ts';

/**
 * The account center's own session: a signed cookie holding who signed in, the provider
 * session it came from (`sid`), when, and when a fresh code last confirmed it was them.
 * It is only as alive as that provider session: signing out of CHUCS, or "sign out
 * everywhere", ends it too.
 */
export interface AccountSession extends SignedIn {
  /** Unix seconds of the last step-up by code. */
  steppedUpAt?: number | undefined;
}

const SESSION_COOKIE = 'chucs.account';
const LOGIN_COOKIE = 'chucs.account.login';
const SESSION_HOURS = 12;

function cookieOptions(ctx: Context, maxAgeMs: number) {
  return { httpOnly: true, sameSite: 'lax' as const, signed: true, path: '/account', secure: ctx.secure, maxAge: maxAgeMs, overwrite: true };
}

function readJson<T>(ctx: Context, name: string): T | undefined {
  const raw = ctx.cookies.get(name, { signed: true });
  if (!raw) return undefined;
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

function writeJson(ctx: Context, name: string, value: unknown, maxAgeMs: number) {
  ctx.cookies.set(name, Buffer.from(JSON.stringify(value)).toString('base64url'), cookieOptions(ctx, maxAgeMs));
}

export const accountCookies = {
  readSession: (ctx: Context) => readJson<AccountSession>(ctx, SESSION_COOKIE),
  writeSession: (ctx: Context, session: AccountSession) => writeJson(ctx, SESSION_COOKIE, session, SESSION_HOURS * 3600_000),
  clearSession: (ctx: Context) => ctx.cookies.set(SESSION_COOKIE, null, { path: '/account' }),
  readPending: (ctx: Context) => readJson<PendingLogin>(ctx, LOGIN_COOKIE),
  writePending: (ctx: Context, pending: PendingLogin) => writeJson(ctx, LOGIN_COOKIE, pending, 10 * 60_000),
  clearPending: (ctx: Context) => ctx.cookies.set(LOGIN_COOKIE, null, { path: '/account' }),
};

/** Whether the provider session behind an account center session still exists. */
export async function providerSessionAlive(db: Db, session: AccountSession): Promise<boolean> {
  const row = await db('oidc_models')
    .where({ model: 'Session', account_id: session.sub })
    .whereRaw(`payload #>> '{authorizations,${ACCOUNT_CLIENT_ID},sid}' = ?`, [session.sid])
    .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', db.fn.now()))
    .first('id');
  return row !== undefined;
}

/** Whether the person signed in, or confirmed a code, within the last `seconds`. */
export function recentlyAuthenticated(session: AccountSession, seconds: number, now: Date): boolean {
  const last = Math.max(session.authTime, session.steppedUpAt ?? 0);
  return now.getTime() / 1000 - last <= seconds;
}
