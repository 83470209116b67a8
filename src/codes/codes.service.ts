import { createHmac, hkdfSync, randomInt, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import type { Db } from '../db/database.ts';
import { AppError, type Locale } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { Channel, CodePurpose, MessageSender } from '../messaging/message.ts';
import { sendDecision, type SendRules } from './send-rules.ts';
import { throttleAddress } from '../auth/throttle.ts';
import { readSendHistory, insertCode, deleteCode, latestCode, spendAttempt, consumeCode, openBreaker } from './codes.repo.ts';

export interface CodeSettings {
  ttlSeconds: number;
  maxAttempts: number;
  resendSeconds: number;
  dailyPerTarget: number;
  dailyPerIp: number;
  hourlyGlobal: Record<Channel, number>;
  breakerSeconds: number;
  smsCountryCodes: readonly string[];
}

export interface CodeRequest {
  purpose: CodePurpose;
  channel: Channel;
  /** E.164 phone or normalised email. */
  target: string;
  /** What the code is for (an interaction, an account): a code works only there. */
  binding: string;
  ip: string;
  locale: Locale;
}

export interface CodeCheck {
  purpose: CodePurpose;
  target: string;
  binding: string;
  code: string;
}

export interface SentCode {
  /** The target as shown back to the person (138****8000, a***@qq.com). */
  maskedTarget: string;
  resendAfterSeconds: number;
  expiresInMinutes: number;
}

export const CODE_DIGITS = 6;

/** What became of a request for a code: `sent`, or why not (metrics). */
export type CodeSendOutcome = 'sent' | 'cooldown' | 'target_limit' | 'ip_limit' | 'breaker' | 'country_unsupported' | 'delivery_failed';

export type Codes = ReturnType<typeof createCodes>;

/**
 * One-time codes: six random digits, single use, valid `ttlSeconds`, stored as an HMAC
 * bound to purpose, target and binding, at most `maxAttempts` entries each. Sending is
 * capped (send-rules.ts). Every refusal reads the same whether or not an account exists.
 */
export function createCodes({ db, senders, settings, secret, clock, logger, onSend = () => {} }: {
  db: Db;
  senders: Record<Channel, MessageSender>;
  settings: CodeSettings;
  /** Key material for the code HMAC (the encryption key). */
  secret: string;
  clock: () => Date;
  logger: Logger;
  /** Told of each request's outcome as it is decided; must not throw. */
  onSend?: ((channel: Channel, outcome: CodeSendOutcome) => void) | undefined;
}) {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'base64'), Buffer.alloc(0), 'chucs one-time codes', 32));
  const digest = (c: { purpose: CodePurpose; target: string; binding: string; code: string }) =>
    createHmac('sha256', key).update(`${c.purpose}\n${c.target}\n${c.binding}\n${c.code}`).digest();

  return {
    async send(req: CodeRequest): Promise<SentCode> {
      const now = clock();
      if (req.channel === 'sms') {
        const country = parsePhoneNumberFromString(req.target)?.countryCallingCode;
        if (!country || !settings.smsCountryCodes.includes(country)) {
          onSend(req.channel, 'country_unsupported');
          throw new AppError('codes.country_unsupported', { detail: `calling code ${country}` });
        }
      }
      const breaker = `codes:${req.channel}`;
      const rules: SendRules = { ...settings, hourlyGlobal: settings.hourlyGlobal[req.channel] };
      const code = String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
      // Deciding and recording under locks on the target and the address: parallel requests
      // cannot all read "under the cap" and all send.
      // An IPv6 client counts by its /64 (throttleAddress): the caps per address hold for it too.
      const address = throttleAddress(req.ip);
      const { decision, id } = await db.transaction(async (trx) => {
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`codes:target:${req.target}`]);
        await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`codes:ip:${address}`]);
        const decided = sendDecision(await readSendHistory(trx, { ...req, ip: address, breaker, now }), rules, now);
        if (!decided.allowed) return { decision: decided, id: 0 };
        return {
          decision: decided,
          id: await insertCode(trx, {
            purpose: req.purpose, channel: req.channel, target: req.target, binding: req.binding, ip: address,
            codeHash: digest({ ...req, code }).toString('base64url'),
            createdAt: now, expiresAt: new Date(now.getTime() + settings.ttlSeconds * 1000),
          }),
        };
      });
      if (!decision.allowed) {
        onSend(req.channel, decision.reason === 'breaker_trips' || decision.reason === 'breaker_open' ? 'breaker' : decision.reason);
        const audit = { actor: 'anonymous', action: 'code.refused', ip: req.ip, detail: { reason: decision.reason, channel: req.channel, purpose: req.purpose } };
        switch (decision.reason) {
          case 'cooldown':
            throw new AppError('codes.cooldown', { retryAfter: decision.retryAfterSeconds });
          case 'target_limit':
          case 'ip_limit':
            await recordAudit(db, audit);
            throw new AppError('codes.limit', { detail: decision.reason });
          case 'breaker_trips':
            await openBreaker(db, breaker, now, decision.openUntil, `hourly cap of ${rules.hourlyGlobal} reached`);
            await recordAudit(db, { ...audit, actor: 'system', action: 'code.breaker_opened', detail: { channel: req.channel, until: decision.openUntil } });
            logger.error({ channel: req.channel, until: decision.openUntil, hourlyCap: rules.hourlyGlobal }, 'code sending stopped: the hourly cap was reached (circuit breaker open)');
            throw new AppError('codes.unavailable', { retryAfter: decision.retryAfterSeconds, detail: 'breaker opened' });
          case 'breaker_open':
            throw new AppError('codes.unavailable', { retryAfter: decision.retryAfterSeconds, detail: 'breaker open' });
        }
      }
      const minutes = Math.round(settings.ttlSeconds / 60);
      try {
        await senders[req.channel].send({ channel: req.channel, to: req.target, purpose: req.purpose, code, minutes, locale: req.locale });
      } catch (err) {
        // Not delivered: it must not hold the person to the cooldown, nor count against them.
        await deleteCode(db, id);
        onSend(req.channel, 'delivery_failed');
        throw err;
      }
      onSend(req.channel, 'sent');
      return { maskedTarget: maskTarget(req.target), resendAfterSeconds: settings.resendSeconds, expiresInMinutes: minutes };
    },

    /** Uses up the code if it is right; otherwise an AppError saying what to do next. */
    async verify(check: CodeCheck): Promise<void> {
      const now = clock();
      const typed = check.code.normalize('NFKC').replace(/\s/g, '');
      const row = await latestCode(db, check);
      if (!row || row.consumed_at) throw new AppError('codes.invalid', { detail: row ? 'already used' : 'no code sent' });
      if (row.expires_at <= now) throw new AppError('codes.expired');
      if (!await spendAttempt(db, row.id, settings.maxAttempts)) throw new AppError('codes.exhausted');
      const right = /^\d+$/.test(typed) && timingSafeEqual(digest({ ...check, code: typed }), Buffer.from(row.code_hash, 'base64url'));
      if (!right) {
        throw new AppError(row.attempts + 1 >= settings.maxAttempts ? 'codes.exhausted' : 'codes.invalid');
      }
      if (!await consumeCode(db, row.id, now)) throw new AppError('codes.invalid', { detail: 'used by a parallel request' });
    },
  };
}

/** 138****8000 for phones, a***@qq.com for emails: enough to recognise, not to harvest. */
export function maskTarget(target: string): string {
  if (target.includes('@')) {
    const [local, domain] = target.split('@') as [string, string];
    return `${local.slice(0, 1)}***@${domain}`;
  }
  const national = target.startsWith('+86') ? target.slice(3) : target;
  return `${national.slice(0, 3)}****${national.slice(-4)}`;
}
