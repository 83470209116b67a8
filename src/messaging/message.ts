import type { Locale } from '../errors.ts';

export type Channel = 'sms' | 'email';

/** Why a code was sent; the email's subject and wording follow it. */
export type CodePurpose = 'login' | 'verify' | 'step_up';

/** A one-time code on its way to a phone or a mailbox. The only kind of message CHUCS sends so far. */
export interface CodeMessage {
  channel: Channel;
  /** E.164 phone or normalised email. */
  to: string;
  purpose: CodePurpose;
  code: string;
  /** Minutes the code stays valid, for the text. */
  minutes: number;
  locale: Locale;
}

/**
 * One way out for each channel. `send` resolves once the gateway or SMTP server accepted the
 * message, or throws AppError('messaging.unavailable') (its detail says why, for the log).
 */
export interface MessageSender {
  readonly provider: string;
  send(message: CodeMessage): Promise<void>;
}
