import { throttleDecision, strictest, type ThrottleRule } from '../../src/auth/throttle.ts';

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
