import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { testClock } from '../support/server.ts';
import { createLogger } from '../../src/logger.ts';
import { createCodes, maskTarget, type CodeSettings, type Codes, type CodeCheck } from '../../src/codes/codes.service.ts';
import { createDevelopmentSender, type DevelopmentSender } from '../../src/messaging/development.ts';
import { AppError } from '../../src/errors.ts';
import type { MessageSender } from '../../src/messaging/message.ts';

const settings: CodeSettings = {
  ttlSeconds: 300, maxAttempts: 5, resendSeconds: 60, dailyPerTarget: 4, dailyPerIp: 6,
  hourlyGlobal: { sms: 8, email: 100 }, breakerSeconds: 900, smsCountryCodes: ['86', '852'],
};
const logger = createLogger('silent');

let database: TestDatabase;
let clock: ReturnType<typeof testClock>;
let sms: DevelopmentSender;
let codes: Codes;

function build(senders: { sms: MessageSender; email: MessageSender }) {
  return createCodes({ db: database.db, senders, settings, secret: randomBytes(32).toString('base64'), clock, logger });
}

beforeEach(async () => {
  database = await createTestDatabase();
  clock = testClock(new Date('2026-11-25T08:00:00Z'));
  sms = createDevelopmentSender('sms', logger);
  codes = build({ sms, email: createDevelopmentSender('email', logger) });
});
afterEach(() => database.drop());

const PHONE = '+8613800138001';
const login = { purpose: 'login', channel: 'sms', target: PHONE, binding: 'interaction-1', ip: '203.0.113.5', locale: 'zh-CN' } as const;
const check = (code: string, over: Partial<CodeCheck> = {}): CodeCheck => ({ purpose: login.purpose, target: login.target, binding: login.binding, code, ...over });

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

test('a code is six random digits, sent once, stored only as a hash', async () => {
  const sent = await codes.send(login);
  expect(sent).toEqual({ maskedTarget: '138****8001', resendAfterSeconds: 60, expiresInMinutes: 5 });
  const { code, text } = sms.latest(PHONE)!;
  expect(code).toMatch(/^\d{6}$/);
  expect(text).toContain(code);
  const rows = await database.db('one_time_codes').select();
  expect(rows).toHaveLength(1);
  expect(JSON.stringify(rows)).not.toContain(code);
  await codes.verify(check(code));
});

test('a code works once', async () => {
  await codes.send(login);
  const { code } = sms.latest(PHONE)!;
  await codes.verify(check(code));
  expect((await refusal(codes.verify(check(code)))).code).toBe('codes.invalid');
});

test('a code expires after five minutes', async () => {
  await codes.send(login);
  const { code } = sms.latest(PHONE)!;
  clock.advance(301);
  expect((await refusal(codes.verify(check(code)))).code).toBe('codes.expired');
});

test('five wrong entries burn the code, even for the right one after them', async () => {
  await codes.send(login);
  const { code } = sms.latest(PHONE)!;
  const wrong = code === '000000' ? '111111' : '000000';
  const answers: string[] = [];
  for (let i = 0; i < 5; i++) answers.push((await refusal(codes.verify(check(wrong)))).code);
  expect(answers).toEqual(['codes.invalid', 'codes.invalid', 'codes.invalid', 'codes.invalid', 'codes.exhausted']);
  expect((await refusal(codes.verify(check(code)))).code).toBe('codes.exhausted');
});

test('parallel guesses cannot outrun the attempt limit', async () => {
  await codes.send(login);
  const { code } = sms.latest(PHONE)!;
  const guesses = Array.from({ length: 40 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'));
  await Promise.allSettled(guesses.map((g) => codes.verify(check(g))));
  const [{ attempts }] = await database.db('one_time_codes').select('attempts');
  expect(attempts).toBe(5);
  expect((await refusal(codes.verify(check(code)))).code).toBe('codes.exhausted');
});

test('a code works only for its purpose and in the flow that asked for it', async () => {
  await codes.send(login);
  const { code } = sms.latest(PHONE)!;
  expect((await refusal(codes.verify(check(code, { binding: 'interaction-2' })))).code).toBe('codes.invalid');
  expect((await refusal(codes.verify(check(code, { purpose: 'verify' })))).code).toBe('codes.invalid');
  expect((await refusal(codes.verify(check(code, { target: '+8613800138002' })))).code).toBe('codes.invalid');
  await codes.verify(check(code));
});

test('a new code replaces the previous one', async () => {
  await codes.send(login);
  const first = sms.latest(PHONE)!.code;
  clock.advance(60);
  await codes.send(login);
  const second = sms.latest(PHONE)!.code;
  if (first !== second) expect((await refusal(codes.verify(check(first)))).code).toBe('codes.invalid');
  await codes.verify(check(second));
});

test('another code to the same phone waits 60 seconds', async () => {
  await codes.send(login);
  clock.advance(30);
  const err = await refusal(codes.send({ ...login, binding: 'interaction-2' }));
  expect(err.code).toBe('codes.cooldown');
  expect(err.retryAfter).toBe(30);
  clock.advance(30);
  await codes.send(login);
  expect(sms.outbox).toHaveLength(2);
});

test('a phone gets at most the daily number of codes', async () => {
  for (let i = 0; i < 4; i++) {
    await codes.send(login);
    clock.advance(61);
  }
  expect((await refusal(codes.send(login))).code).toBe('codes.limit');
  clock.advance(86400);
  await codes.send(login);
});

test('one address gets at most the daily number of codes, whatever the phones', async () => {
  for (let i = 0; i < 6; i++) await codes.send({ ...login, target: `+861380013810${i}` });
  expect((await refusal(codes.send({ ...login, target: '+8613800138199' }))).code).toBe('codes.limit');
  await codes.send({ ...login, target: '+8613800138199', ip: '198.51.100.7' });
  const refused = await database.db('audit_log').where({ action: 'code.refused' }).select('detail');
  expect(refused.map((r) => r.detail.reason)).toEqual(['ip_limit']);
});

test('the global hourly cap opens the circuit breaker for everyone until it closes', async () => {
  for (let i = 0; i < 8; i++) await codes.send({ ...login, target: `+861390013900${i}`, ip: `198.51.100.${i}` });
  const tripped = await refusal(codes.send({ ...login, target: '+8613700137000', ip: '192.0.2.1' }));
  expect(tripped.code).toBe('codes.unavailable');
  expect(tripped.status).toBe(503);
  const [breaker] = await database.db('circuit_breakers').select();
  expect(breaker.name).toBe('codes:sms');
  expect(await database.db('audit_log').where({ action: 'code.breaker_opened' }).pluck('actor')).toEqual(['system']);

  // Open: nobody gets a code, not even a fresh phone from a fresh address, until it closes.
  clock.advance(600);
  expect((await refusal(codes.send({ ...login, target: '+8613600136000', ip: '192.0.2.2' }))).code).toBe('codes.unavailable');
  // Email is a separate channel with its own breaker.
  await codes.send({ ...login, channel: 'email', target: 'someone@example.com', ip: '192.0.2.3' });

  clock.advance(3600);
  await codes.send({ ...login, target: '+8613600136000', ip: '192.0.2.2' });
  expect(sms.outbox).toHaveLength(9);
});

test('a code that could not be delivered leaves no cooldown and does not count', async () => {
  const failing: MessageSender = { provider: 'failing', send: async () => { throw new AppError('messaging.unavailable', { detail: 'gateway down' }); } };
  const broken = build({ sms: failing, email: failing });
  expect((await refusal(broken.send(login))).code).toBe('messaging.unavailable');
  expect(Number((await database.db('one_time_codes').count('* as n').first())!.n)).toBe(0);
  await codes.send(login);
});

test('masked targets show enough to recognise, not to harvest', () => {
  expect(maskTarget('+8613800138000')).toBe('138****8000');
  expect(maskTarget('xiaoming@example.com')).toBe('x***@example.com');
});

test('parallel requests cannot all slip under the caps', async () => {
  const results = await Promise.allSettled(Array.from({ length: 12 }, () => codes.send(login)));
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  const fromOneAddress = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => codes.send({ ...login, target: `+86139001390${String(i).padStart(2, '0')}` })));
  expect(fromOneAddress.filter((r) => r.status === 'fulfilled')).toHaveLength(5); // dailyPerIp 6, one used above
  expect(sms.outbox).toHaveLength(6);
});

test('SMS goes only to the configured countries: premium-rate and satellite ranges get nothing', async () => {
  for (const target of ['+979123456789', '+88212345678', '+447700900123']) {
    expect((await refusal(codes.send({ ...login, target }))).code).toBe('codes.country_unsupported');
  }
  await codes.send({ ...login, target: '+85251234567' });
  expect(sms.outbox.map((m) => m.to)).toEqual(['+85251234567']);
});
