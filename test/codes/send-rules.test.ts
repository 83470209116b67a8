import { sendDecision, type SendHistory, type SendRules } from '../../src/codes/send-rules.ts';

const rules: SendRules = { resendSeconds: 60, dailyPerTarget: 10, dailyPerIp: 50, hourlyGlobal: 1000, breakerSeconds: 900 };
const now = new Date('2026-11-25T08:00:00Z');
const quiet: SendHistory = { lastSentAt: undefined, targetLastDay: 0, ipLastDay: 0, channelLastHour: 0, breakerOpenUntil: undefined };
const secondsAgo = (s: number) => new Date(now.getTime() - s * 1000);

test('a first code is sent', () => {
  expect(sendDecision(quiet, rules, now)).toEqual({ allowed: true });
});

test('another code to the same target waits out the cooldown', () => {
  expect(sendDecision({ ...quiet, lastSentAt: secondsAgo(20) }, rules, now)).toEqual({ allowed: false, reason: 'cooldown', retryAfterSeconds: 40 });
  expect(sendDecision({ ...quiet, lastSentAt: secondsAgo(60) }, rules, now)).toEqual({ allowed: true });
});

test('daily caps per target and per address', () => {
  expect(sendDecision({ ...quiet, targetLastDay: 9 }, rules, now)).toEqual({ allowed: true });
  expect(sendDecision({ ...quiet, targetLastDay: 10 }, rules, now)).toEqual({ allowed: false, reason: 'target_limit' });
  expect(sendDecision({ ...quiet, ipLastDay: 50 }, rules, now)).toEqual({ allowed: false, reason: 'ip_limit' });
});

test('reaching the global hourly cap trips the breaker, which then refuses until it closes', () => {
  const trips = sendDecision({ ...quiet, channelLastHour: 1000 }, rules, now);
  expect(trips).toEqual({ allowed: false, reason: 'breaker_trips', openUntil: new Date(now.getTime() + 900_000), retryAfterSeconds: 900 });
  const openUntil = new Date(now.getTime() + 300_000);
  expect(sendDecision({ ...quiet, breakerOpenUntil: openUntil }, rules, now)).toEqual({ allowed: false, reason: 'breaker_open', retryAfterSeconds: 300 });
  expect(sendDecision({ ...quiet, breakerOpenUntil: secondsAgo(1) }, rules, now)).toEqual({ allowed: true });
});

test('an open breaker is reported before any per-person rule', () => {
  const history = { ...quiet, lastSentAt: secondsAgo(5), targetLastDay: 10, breakerOpenUntil: new Date(now.getTime() + 1000) };
  expect(sendDecision(history, rules, now)).toMatchObject({ reason: 'breaker_open' });
});
