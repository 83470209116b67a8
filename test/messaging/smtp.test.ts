import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createSmtpSender, type SmtpSettings } from '../../src/messaging/smtp.ts';
import type { CodeMessage } from '../../src/messaging/message.ts';
import { createLogger } from '../../src/logger.ts';
import { AppError } from '../../src/errors.ts';

/** Code emails through a real SMTP server on a loopback port, as a relay would receive them. */
const USER = 'chucs-mailer';
const PASSWORD = 'smtp-password-Kd83';
const message: CodeMessage = { channel: 'email', to: 'li.lei@example.com', purpose: 'login', code: '385027', minutes: 10, locale: 'zh-CN' };

interface Mail { user: unknown; from: string | false; to: string[]; raw: string }
interface Relay { port: number; mails: Mail[]; close(): Promise<void> }

async function startRelay(opts: { refuseRecipients?: boolean } = {}): Promise<Relay> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true, // loopback only; a real relay is reached over TLS
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onRcptTo(_address, _session, callback) {
      if (!opts.refuseRecipients) return callback();
      callback(Object.assign(new Error('No such mailbox'), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        mails.push({
          user: session.user,
          from: session.envelope.mailFrom && session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function settings(port: number, overrides: Partial<SmtpSettings> = {}): SmtpSettings {
  return {
    provider: 'smtp', host: '127.0.0.1', port, secure: false, user: USER, password: PASSWORD,
    from: '长虹ID <id@changhong.example>', timeoutMs: 2000, ...overrides,
  };
}

function sender(config: SmtpSettings) {
  const logLines: string[] = [];
  const email = createSmtpSender(config, { logger: createLogger('info', { write: (line: string) => { logLines.push(line); } }) });
  return { email, logLines };
}

/** Just enough MIME for the tests: the decoded Subject and text/plain part of what nodemailer writes. */
function readMail(raw: string): { subject: string; text: string } {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const headers = head.replace(/\r\n[ \t]+/g, ' ');
  const subject = /^Subject: (.*)$/im.exec(headers)?.[1] ?? '';
  const words = [...subject.matchAll(/=\?utf-8\?([bq])\?([^?]*)\?=/gi)].map(([, enc, data]) =>
    enc!.toUpperCase() === 'B' ? Buffer.from(data!, 'base64') : qpBytes(data!.replaceAll('_', ' ')));
  const body = rest.join('\r\n\r\n');
  const part = /Content-Type: text\/plain[^]*?Content-Transfer-Encoding: (\S+)\r\n\r\n([^]*?)\r\n--/i.exec(body);
  if (!part) throw new Error('no text/plain part');
  const text = part[1]!.toLowerCase() === 'base64' ? Buffer.from(part[2]!, 'base64') : qpBytes(part[2]!.replace(/=\r\n/g, ''));
  return { subject: words.length ? Buffer.concat(words).toString('utf8') : subject, text: text.toString('utf8') };
}

function qpBytes(s: string): Buffer {
  return Buffer.from(s.replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe('messaging.unavailable');
  return err as AppError;
}

test('a sign-in code reaches the mailbox in Chinese, from the configured sender', async () => {
  const relay = await startRelay();
  try {
    await sender(settings(relay.port)).email.send(message);
    expect(relay.mails).toHaveLength(1);
    const [mail] = relay.mails;
    expect(mail).toMatchObject({ user: USER, from: 'id@changhong.example', to: ['li.lei@example.com'] });
    const { subject, text } = readMail(mail!.raw);
    expect(subject).toBe('长虹ID验证码：登录/注册长虹ID');
    expect(text).toContain('385027');
    expect(text).toContain('10 分钟内有效');
    expect(text).toContain('长虹工作人员不会向你索取验证码');
  } finally {
    await relay.close();
  }
});

test('an English reader gets an English email', async () => {
  const relay = await startRelay();
  try {
    await sender(settings(relay.port)).email.send({ ...message, purpose: 'verify', locale: 'en' });
    const { subject, text } = readMail(relay.mails[0]!.raw);
    expect(subject).toBe('Your Changhong ID code to verify your email address');
    expect(text).toContain('385027');
    expect(text).toContain('valid for 10 minutes');
  } finally {
    await relay.close();
  }
});

test('a refused recipient makes the code unavailable, logged without the code', async () => {
  const relay = await startRelay({ refuseRecipients: true });
  try {
    const { email, logLines } = sender(settings(relay.port));
    const err = await failure(email.send(message));
    expect(err.detail).toContain('RCPT TO');
    expect(err.detail).toContain('reply 550');
    expect(relay.mails).toHaveLength(0);
    expect(logLines.join('')).toContain('l***@example.com');
    for (const text of [err.detail!, ...logLines]) expect(text).not.toContain('385027');
  } finally {
    await relay.close();
  }
});

test('a refused login makes the code unavailable, and the password stays out of the error and the log', async () => {
  const relay = await startRelay();
  try {
    const { email, logLines } = sender(settings(relay.port, { password: 'wrong-password-Zt71' }));
    const err = await failure(email.send(message));
    expect(err.detail).toContain('EAUTH');
    for (const text of [err.detail!, ...logLines]) expect(text).not.toContain('wrong-password-Zt71');
  } finally {
    await relay.close();
  }
});

test('a relay that refuses connections makes the code unavailable', async () => {
  const relay = await startRelay();
  await relay.close(); // the port is now closed
  const err = await failure(sender(settings(relay.port)).email.send(message));
  expect(err.detail).toContain('ECONNREFUSED');
});
