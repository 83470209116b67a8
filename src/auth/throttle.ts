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

/**
 * The address a throttle or cap counts: an IPv4 address as it is (also when written as
 * IPv4-mapped IPv6), an IPv6 address by its /64, the block one subscriber line or host gets.
 * Counting single IPv6 addresses would give anyone 2^64 fresh addresses to try from.
 */
export function throttleAddress(ip: string): string {
  const address = ip.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const before = groupsOf(head);
  const after = tail === undefined ? [] : groupsOf(tail);
  const groups = tail === undefined ? before : [...before, ...Array<string>(Math.max(0, 8 - before.length - after.length)).fill('0'), ...after];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
