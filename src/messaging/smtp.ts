import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { AppError } from '../errors.ts';
import type { CodeMessage, MessageSender } from './message.ts';
import { codeEmail } from './code-text.ts';

export type SmtpSettings = Extract<Config['messaging']['email'], { provider: 'smtp' }>;

/**
 * Email through an SMTP relay, one connection per message: codes are few, and without a pool
 * there is nothing to close and no idle connection for the relay to drop. Not retried here: the
 * relay queues and retries delivery itself, and a person can ask for another code.
 */
export function createSmtpSender(settings: SmtpSettings, { logger }: { logger: Logger }): MessageSender {
  const transport = createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    auth: settings.user ? { user: settings.user, pass: settings.password } : undefined,
    connectionTimeout: settings.timeoutMs,
    greetingTimeout: settings.timeoutMs,
    socketTimeout: settings.timeoutMs,
  });

  return {
    provider: 'smtp',
    async send(message: CodeMessage) {
      const envelopeFrom = /<([^>]+)>/.exec(settings.from)?.[1] ?? settings.from;
      const { subject, text, html } = codeEmail(message);
      try {
        // One explicit recipient: the address is never parsed as a list or a display name.
        await transport.sendMail({ from: settings.from, to: { name: '', address: message.to }, envelope: { from: envelopeFrom, to: [message.to] }, subject, text, html });
      } catch (err) {
        const detail = `SMTP ${settings.host}:${settings.port}: ${describeFailure(err)}`;
        logger.warn({ messaging: 'smtp', to: maskEmail(message.to), reason: detail }, 'SMTP send failed');
        throw new AppError('messaging.unavailable', { detail });
      }
    },
  };
}

/**
 * nodemailer's code (ECONNECTION, EENVELOPE, EAUTH...) and the system one under it (ECONNREFUSED),
 * the SMTP command and reply code; not the server's reply text, which may quote the address or,
 * in a broken relay, the message.
 */
function describeFailure(err: unknown): string {
  const { code, originalCode, command, responseCode } = (err ?? {}) as Record<string, unknown>;
  return [
    typeof code === 'string' ? code : 'error',
    typeof originalCode === 'string' ? `(${originalCode})` : '',
    typeof command === 'string' ? `at ${command}` : '',
    typeof responseCode === 'number' ? `reply ${responseCode}` : '',
  ].filter(Boolean).join(' ');
}

/** li.lei@example.com -> l***@example.com */
function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}
