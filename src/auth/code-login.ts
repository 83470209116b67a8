import type { Db } from '../db/database.ts';
import { AppError, type Locale } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { normaliseEmail, normalisePhone } from '../identity/normalise.ts';
import type { IdentityService } from '../identity/identity.service.ts';
import type { Codes, SentCode } from '../codes/codes.service.ts';
import type { Channel } from '../messaging/message.ts';
import type { SignInObserver } from './sign-in-observer.ts';

/** A phone or an email that a code can go to. */
export interface CodeTarget { kind: 'phone' | 'email'; value: string; channel: Channel }

/** Reads a phone in any common shape (138 0013 8000, +86-138…, 0086…) or an email. */
export function parseCodeTarget(input: string): CodeTarget | null {
  const s = input.normalize('NFKC').trim();
  if (s.includes('@')) {
    const email = normaliseEmail(s);
    return email ? { kind: 'email', value: email, channel: 'email' } : null;
  }
  const phone = normalisePhone(s);
  return phone ? { kind: 'phone', value: phone, channel: 'sms' } : null;
}

export interface CodeLoginContext {
  /** The login interaction: a code works only in the flow that asked for it. */
  interactionUid: string;
  ip: string;
  userAgent?: string | undefined;
  clientId?: string | undefined;
  locale: Locale;
}

export type CodeLogin = ReturnType<typeof createCodeLogin>;

/**
 * Sign-in and registration in one step with a code by SMS or email. The steps and their
 * answers are the same for known and unknown phones: nothing says whether an account exists
 * until the code proves the person holds the phone. Only a verified phone or email finds an
 * account; an unverified one on some legacy account may be a typo of someone else's.
 */
export function createCodeLogin({ db, identity, codes, onSignIn = () => {} }: { db: Db; identity: IdentityService; codes: Codes; onSignIn?: SignInObserver | undefined }) {
  function targetOf(input: string): CodeTarget {
    const target = parseCodeTarget(input);
    if (!target) throw new AppError('codes.invalid_target');
    return target;
  }

  return {
    targetOf,

    async sendCode(input: string, ctx: CodeLoginContext): Promise<SentCode & { target: CodeTarget }> {
      const target = targetOf(input);
      const sent = await codes.send({
        purpose: 'login', channel: target.channel, target: target.value, binding: ctx.interactionUid, ip: ctx.ip, locale: ctx.locale,
      });
      return { ...sent, target };
    },

    /** The account the code opens, created on the spot for a phone or email never seen. */
    async signIn(input: string, code: string, ctx: CodeLoginContext): Promise<{ accountId: string; created: boolean; amr: string }> {
      const target = targetOf(input);
      const method = target.kind === 'phone' ? 'sms' : 'email_code';
      try {
        await codes.verify({ purpose: 'login', target: target.value, binding: ctx.interactionUid, code });
      } catch (err) {
        await recordAudit(db, { actor: 'anonymous', action: 'login.failed', ip: ctx.ip, userAgent: ctx.userAgent, detail: { method, client: ctx.clientId, reason: (err as AppError).code } });
        onSignIn(method, 'failure');
        throw err;
      }
      let accountId = await identity.findLoginAccount(target);
      let created = false;
      if (!accountId) {
        try {
          accountId = (await identity.createAccount({
            identifiers: [{ kind: target.kind, value: target.value, verified: true, source: 'signup' }],
            actor: 'signup', ip: ctx.ip, userAgent: ctx.userAgent,
          })).id;
          created = true;
        } catch (err) {
          // Someone registered this phone a moment ago (another tab): that account is theirs too.
          if (!(err instanceof AppError && err.code === 'identity.identifier_in_use')) throw err;
          accountId = await identity.findLoginAccount(target);
          if (!accountId) throw err;
        }
      }
      const account = await identity.getAccount(accountId);
      if (account?.status !== 'active') {
        onSignIn(method, 'failure');
        throw new AppError('auth.account_locked', { detail: `account ${accountId} is ${account?.status}` });
      }
      await recordAudit(db, {
        actor: `account:${accountId}`, action: 'login.succeeded', subject: accountId, ip: ctx.ip, userAgent: ctx.userAgent,
        detail: { method, client: ctx.clientId, registered: created },
      });
      onSignIn(method, 'success');
      // RFC 8176: "sms" for a code by text message, "otp" for a one-time code by other means.
      return { accountId, created, amr: target.kind === 'phone' ? 'sms' : 'otp' };
    },
  };
}
