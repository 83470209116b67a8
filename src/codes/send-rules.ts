/**
 * Whether another code may be sent: pure, so each rule has a plain unit test. Codes cost
 * money (SMS pumping: bots asking for codes to premium numbers), annoy people, and each one
 * is a fresh set of guesses, so every axis an attacker can turn is capped:
 *
 * | rule            | counted over            | refusal                         |
 * |-----------------|-------------------------|---------------------------------|
 * | cooldown        | the target's last code  | codes.cooldown (retry after n s) |
 * | per target      | 24 hours                | codes.limit                     |
 * | per address     | 24 hours                | codes.limit                     |
 * | global, hourly  | one channel, everyone   | opens the breaker: codes.unavailable |
 */
export interface SendRules {
  resendSeconds: number;
  dailyPerTarget: number;
  dailyPerIp: number;
  hourlyGlobal: number;
  breakerSeconds: number;
}

export interface SendHistory {
  lastSentAt: Date | undefined;
  targetLastDay: number;
  ipLastDay: number;
  channelLastHour: number;
  breakerOpenUntil: Date | undefined;
}

export type SendDecision =
  | { allowed: true }
  | { allowed: false; reason: 'cooldown'; retryAfterSeconds: number }
  | { allowed: false; reason: 'target_limit' | 'ip_limit' }
  | { allowed: false; reason: 'breaker_open'; retryAfterSeconds: number }
  /** The global cap is reached now: open the breaker until `openUntil`. */
  | { allowed: false; reason: 'breaker_trips'; openUntil: Date; retryAfterSeconds: number };

export function sendDecision(history: SendHistory, rules: SendRules, now: Date): SendDecision {
  if (history.breakerOpenUntil && history.breakerOpenUntil > now) {
    return { allowed: false, reason: 'breaker_open', retryAfterSeconds: secondsUntil(history.breakerOpenUntil, now) };
  }
  if (history.channelLastHour >= rules.hourlyGlobal) {
    const openUntil = new Date(now.getTime() + rules.breakerSeconds * 1000);
    return { allowed: false, reason: 'breaker_trips', openUntil, retryAfterSeconds: rules.breakerSeconds };
  }
  if (history.lastSentAt) {
    const nextAt = new Date(history.lastSentAt.getTime() + rules.resendSeconds * 1000);
    if (nextAt > now) return { allowed: false, reason: 'cooldown', retryAfterSeconds: secondsUntil(nextAt, now) };
  }
  if (history.targetLastDay >= rules.dailyPerTarget) return { allowed: false, reason: 'target_limit' };
  if (history.ipLastDay >= rules.dailyPerIp) return { allowed: false, reason: 'ip_limit' };
  return { allowed: true };
}

function secondsUntil(later: Date, now: Date): number {
  return Math.max(1, Math.ceil((later.getTime() - now.getTime()) / 1000));
}
