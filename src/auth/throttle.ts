/**
 * Throttling of guessable things (passwords, codes) by exponential back-off: a key gets
 * `freeFailures` failures, then each further failure doubles the wait, up to
 * `maxDelaySeconds`; after `forgetAfterSeconds` of quiet the key starts over. A stranger can
 * therefore slow an account's logins, but never lock its owner out for good.
 */
export interface ThrottleRule {
  freeFailures: number;
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  forgetAfterSeconds: number;
}

export interface ThrottleState { failures: number; lastFailureAt: Date }

export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export function throttleDecision(state: ThrottleState | undefined, rule: ThrottleRule, now: Date): ThrottleDecision {
  if (!state || state.failures < rule.freeFailures) return { allowed: true };
  const quietSeconds = (now.getTime() - state.lastFailureAt.getTime()) / 1000;
  if (quietSeconds >= rule.forgetAfterSeconds) return { allowed: true };
  const delay = Math.min(rule.baseDelaySeconds * 2 ** (state.failures - rule.freeFailures), rule.maxDelaySeconds);
  const wait = delay - quietSeconds;
  return wait > 0 ? { allowed: false, retryAfterSeconds: Math.ceil(wait) } : { allowed: true };
}

/** The most restrictive of several decisions (per identifier, per address). */
export function strictest(decisions: ThrottleDecision[]): ThrottleDecision {
  let worst: ThrottleDecision = { allowed: true };
  for (const d of decisions) {
    if (!d.allowed && (worst.allowed || d.retryAfterSeconds > worst.retryAfterSeconds)) worst = d;
  }
  return worst;
}
