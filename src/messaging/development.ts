import type { Logger } from 'pino';
import type { Channel, CodeMessage, MessageSender } from './message.ts';
import { codeEmail, codeSms } from './code-text.ts';

/** Enough for any test or a day of clicking around; a developer's server may run for weeks. */
const OUTBOX_LIMIT = 1000;

export interface SentMessage extends CodeMessage {
  /** The SMS body, or the email's subject and text. */
  text: string;
  sentAt: Date;
}

export interface DevelopmentSender extends MessageSender {
  readonly provider: 'development';
  /** Oldest first. */
  readonly outbox: SentMessage[];
  /** The newest message to `to`, the one whose code a person would type. */
  latest(to: string): SentMessage | undefined;
}

/**
 * Sends nothing: logs the whole text, code included, so a developer can sign in, and keeps it
 * in memory for tests. Loading the config refuses this provider in production.
 */
export function createDevelopmentSender(channel: Channel, logger: Logger): DevelopmentSender {
  const outbox: SentMessage[] = [];
  return {
    provider: 'development',
    outbox,
    async send(message) {
      const text = channel === 'sms' ? codeSms(message) : emailText(message);
      outbox.push({ ...message, text, sentAt: new Date() });
      if (outbox.length > OUTBOX_LIMIT) outbox.shift();
      logger.info({ messaging: 'development', channel, to: message.to }, text);
    },
    latest: (to) => outbox.findLast((m) => m.to === to),
  };
}

function emailText(message: CodeMessage): string {
  const { subject, text } = codeEmail(message);
  return `${subject}\n\n${text}`;
}
