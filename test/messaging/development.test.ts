import { createDevelopmentSender } from '../../src/messaging/development.ts';
import { createMessaging, developmentOutbox } from '../../src/messaging/index.ts';
import type { CodeMessage } from '../../src/messaging/message.ts';
import { createLogger } from '../../src/logger.ts';

/** The development provider: what a developer reads in the log and a test reads from the outbox. */
const sms: CodeMessage = { channel: 'sms', to: '+8613912345678', purpose: 'login', code: '551904', minutes: 5, locale: 'zh-CN' };

function capturingLogger() {
  const lines: string[] = [];
  return { lines, logger: createLogger('info', { write: (line: string) => { lines.push(line); } }) };
}

test('the outbox keeps every message and latest(to) finds the newest for an address', async () => {
  const sender = createDevelopmentSender('sms', capturingLogger().logger);
  await sender.send(sms);
  await sender.send({ ...sms, to: '+8613700001111', code: '100200' });
  await sender.send({ ...sms, code: '662817' });
  expect(sender.outbox.map((m) => m.code)).toEqual(['551904', '100200', '662817']);
  expect(sender.latest('+8613912345678')).toMatchObject({ code: '662817', purpose: 'login', sentAt: expect.any(Date) });
  expect(sender.latest('+8613700001111')?.code).toBe('100200');
  expect(sender.latest('+8613000000000')).toBeUndefined();
});

test('the SMS text is logged, code included, so a developer can sign in', async () => {
  const { lines, logger } = capturingLogger();
  const sender = createDevelopmentSender('sms', logger);
  await sender.send(sms);
  expect(sender.outbox[0]!.text).toBe('【长虹】验证码 551904，用于登录/注册长虹ID，5 分钟内有效。长虹工作人员不会向你索取验证码，请勿告诉他人。');
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, to: '+8613912345678', msg: sender.outbox[0]!.text });
});

test('an email is kept as its subject and text', async () => {
  const sender = createDevelopmentSender('email', capturingLogger().logger);
  await sender.send({ channel: 'email', to: 'han.mei@example.com', purpose: 'step_up', code: '930114', minutes: 10, locale: 'en' });
  const { text } = sender.latest('han.mei@example.com')!;
  expect(text).toMatch(/^Your Changhong ID code to confirm it is you\n/);
  expect(text).toContain('930114');
  expect(text).toContain('Changhong staff will never ask you for this code');
});

test('createMessaging builds the configured providers; only development ones have an outbox', async () => {
  const { logger } = capturingLogger();
  const development = createMessaging({ sms: { provider: 'development' }, email: { provider: 'development' } }, logger);
  await development.sms.send(sms);
  expect(developmentOutbox(development.sms).latest(sms.to)?.code).toBe('551904');
  expect(developmentOutbox(development.email).outbox).toEqual([]);

  const real = createMessaging({
    sms: {
      provider: 'http', url: 'https://sms.example/send', codeTemplateId: 'T1', signName: '长虹',
      accessKeyId: 'k', secret: 'a-secret-of-16-chars', timeoutMs: 1000, retries: 1,
    },
    email: { provider: 'smtp', host: 'smtp.example', port: 587, secure: false, from: 'id@changhong.example', timeoutMs: 1000 },
  }, logger);
  expect([real.sms.provider, real.email.provider]).toEqual(['http', 'smtp']);
  expect(() => developmentOutbox(real.sms)).toThrow('the http provider keeps no outbox');
});
