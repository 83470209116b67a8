import { throttleDecision, strictest, throttleAddress, type ThrottleRule } from '../../src/auth/throttle.ts';

const rule: ThrottleRule = { freeFailures: 5, baseDelaySeconds: 2, maxDelaySeconds: 900, forgetAfterSeconds: 86400 };
const t0 = new Date('2026-11-24T10:00:00Z');
const after = (s: number) => new Date(t0.getTime() + s * 1000);

test('the first failures are free', () => {
  expect(throttleDecision(undefined, rule, t0)).toEqual({ allowed: true });
  expect(throttleDecision({ failures: 4, lastFailureAt: t0 }, rule, t0)).toEqual({ allowed: true });
});

test('each failure past the free ones doubles the wait', () => {
  expect(throttleDecision({ failures: 5, lastFailureAt: t0 }, rule, t0)).toEqual({ allowed: false, retryAfterSeconds: 2 });
  expect(throttleDecision({ failures: 6, lastFailureAt: t0 }, rule, t0)).toEqual({ allowed: false, retryAfterSeconds: 4 });
  expect(throttleDecision({ failures: 8, lastFailureAt: t0 }, rule, after(10))).toEqual({ allowed: false, retryAfterSeconds: 6 });
  expect(throttleDecision({ failures: 8, lastFailureAt: t0 }, rule, after(16))).toEqual({ allowed: true });
});

test('the wait is capped, so an owner is never locked out for good', () => {
  const state = { failures: 10_000, lastFailureAt: t0 };
  expect(throttleDecision(state, rule, t0)).toEqual({ allowed: false, retryAfterSeconds: 900 });
  expect(throttleDecision(state, rule, after(900))).toEqual({ allowed: true });
});

test('a quiet key is forgotten', () => {
  expect(throttleDecision({ failures: 20, lastFailureAt: t0 }, { ...rule, maxDelaySeconds: 1e9 }, after(86400))).toEqual({ allowed: true });
});

test('strictest picks the longest wait', () => {
  expect(strictest([{ allowed: true }, { allowed: false, retryAfterSeconds: 3 }, { allowed: false, retryAfterSeconds: 9 }]))
    .toEqual({ allowed: false, retryAfterSeconds: 9 });
  expect(strictest([{ allowed: true }])).toEqual({ allowed: true });
});

test('an IPv6 client is counted by its /64; IPv4 and IPv4-mapped addresses as they are', () => {
  expect(throttleAddress('203.0.113.7')).toBe('203.0.113.7');
  expect(throttleAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
  expect(throttleAddress('2408:8207:1851:a2b0:1c2d:3e4f:5a6b:7c8d')).toBe('2408:8207:1851:a2b0::/64');
  expect(throttleAddress('2408:8207:1851:a2b0::1')).toBe('2408:8207:1851:a2b0::/64');
  expect(throttleAddress('2408:8207:1851:A2B0:ffff::9%eth0')).toBe('2408:8207:1851:a2b0::/64');
  expect(throttleAddress('2408:8207::1')).toBe('2408:8207:0:0::/64');
  expect(throttleAddress('::1')).toBe('0:0:0:0::/64');
  expect(throttleAddress('2001:db8:0001:0000::')).toBe('2001:db8:1:0::/64');
  expect(throttleAddress('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
});
