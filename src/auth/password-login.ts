import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { parseLoginIdentifier } from '../identity/normalise.ts';
import type { IdentityService } from '../identity/identity.service.ts';
import type { PasswordHasher } from '../identity/passwords.ts';
import { PASSWORD_MAX_LENGTH } from '../identity/passwords.ts';
import { throttleAddress, type ThrottleRule } from './throttle.ts';
import { reserveAttempt, clearThrottle, forgiveFailure } from './throttle.repo.ts';
import { verifyLegacyPassword, upgradeToArgon2 } from './legacy-password.ts';
import type { SignInObserver } from './sign-in-observer.ts';

export interface PasswordLoginDeps {
  db: Db;
  identity: IdentityService;
  hasher: PasswordHasher;
  rules: { identifier: ThrottleRule; ip: ThrottleRule };
  /** A failure answers no sooner than this many milliseconds after the attempt began. */
  failureFloorMs?: number;
  clock: () => Date;
  onSignIn?: SignInObserver | undefined;
}

export interface LoginAttempt {
  identifier: string;
  password: string;
  ip: string;
  userAgent?: string | undefined;
  clientId?: string | undefined;
}

export type PasswordLogin = ReturnType<typeof createPasswordLogin>;

/**
 * The password strategy: identifier + password -> account id, or an error that does not
 * say whether the account exists. Unknown identifiers cost one argon2 verification too, and
 * every failure waits out the same floor: a legacy account's bcrypt or PBKDF2 check costs more
 * than argon2id, and without the floor its slower failures would reveal that it exists.
 * Waiting costs no CPU. A hash slower than the floor still shows: the default floor (1 s) is
 * above bcrypt cost 12 (0.6 s) and PBKDF2 at 2,000,000 iterations (0.55 s), measured on a
 * loaded 2-core test machine; bcrypt 13 (1 s) and above are not covered.
 */
export function createPasswordLogin({ db, identity, hasher, rules, failureFloorMs = 0, clock, onSignIn = () => {} }: PasswordLoginDeps) {
  return async function authenticate(attempt: LoginAttempt): Promise<string> {
    const started = performance.now();
    const now = clock();
    const parsed = parseLoginIdentifier(attempt.identifier);
    // Unparsable input is still throttled under what was typed; NUL cannot be stored in PostgreSQL text.
    const typed = attempt.identifier.trim().slice(0, 256).replaceAll('\u0000', '\uFFFD');
    const idKey = `login:id:${parsed ? `${parsed.kind}:${parsed.value}` : typed}`;
    const ipKey = `login:ip:${throttleAddress(attempt.ip)}`;

    // Counted as a failure before the password is checked: parallel guesses cannot all pass.
    const decision = await reserveAttempt(db, [{ key: idKey, rule: rules.identifier }, { key: ipKey, rule: rules.ip }], now);
    if (!decision.allowed) {
      await recordAudit(db, { actor: 'anonymous', action: 'login.throttled', ip: attempt.ip, userAgent: attempt.userAgent, detail: { client: attempt.clientId } });
      onSignIn('password', 'throttled');
      throw new AppError('auth.throttled', { retryAfter: decision.retryAfterSeconds });
    }

    const accountId = parsed ? await identity.findLoginAccount(parsed) : undefined;
    const stored = accountId ? await identity.passwordHashOf(accountId) : undefined;
    const tooLong = attempt.password.length > PASSWORD_MAX_LENGTH;
    let ok = stored && !tooLong
      ? await hasher.verify(stored, attempt.password)
      : await hasher.verifyNothing(attempt.password.slice(0, PASSWORD_MAX_LENGTH));
    const viaLegacy = !ok && accountId !== undefined && !tooLong && await verifyLegacyPassword(db, accountId, attempt.password);
    ok ||= viaLegacy;

    if (!ok || !accountId) {
      const early = started + failureFloorMs - performance.now();
      if (early > 0) await sleep(early);
      await recordAudit(db, {
        actor: 'anonymous', action: 'login.failed', subject: accountId ?? null, ip: attempt.ip, userAgent: attempt.userAgent,
        detail: { method: 'password', client: attempt.clientId },
      });
      onSignIn('password', 'failure');
      throw new AppError('auth.invalid_credentials');
    }

    const account = await identity.getAccount(accountId);
    if (account?.status !== 'active') {
      onSignIn(viaLegacy ? 'legacy_password' : 'password', 'failure');
      throw new AppError('auth.account_locked', { detail: `account ${accountId} is ${account?.status}` });
    }
    await clearThrottle(db, idKey);
    // The address keeps its earlier failures and their time, not this success.
    if (decision.reservation) await forgiveFailure(db, ipKey, decision.reservation);
    await upgradeToArgon2(db, hasher, accountId, attempt.password, viaLegacy);
    await recordAudit(db, {
      actor: `account:${accountId}`, action: 'login.succeeded', subject: accountId, ip: attempt.ip, userAgent: attempt.userAgent,
      detail: { method: viaLegacy ? 'legacy_password' : 'password', client: attempt.clientId },
    });
    onSignIn(viaLegacy ? 'legacy_password' : 'password', 'success');
    return accountId;
  };
}
