import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { MessageSender } from './message.ts';
import { createDevelopmentSender, type DevelopmentSender } from './development.ts';
import { createHttpSmsSender } from './http-sms.ts';
import { createSmtpSender } from './smtp.ts';

export interface Messaging { sms: MessageSender; email: MessageSender }

/** One sender per channel, as configured. */
export function createMessaging(settings: Config['messaging'], logger: Logger): Messaging {
  return {
    sms: settings.sms.provider === 'http'
      ? createHttpSmsSender(settings.sms, { logger })
      : createDevelopmentSender('sms', logger),
    email: settings.email.provider === 'smtp'
      ? createSmtpSender(settings.email, { logger })
      : createDevelopmentSender('email', logger),
  };
}

/** The development sender behind `sender`, to read what it "sent" (tests, a developer's tools). */
export function developmentOutbox(sender: MessageSender): DevelopmentSender {
  if (!isDevelopmentSender(sender)) throw new Error(`messaging: the ${sender.provider} provider keeps no outbox`);
  return sender;
}

function isDevelopmentSender(sender: MessageSender): sender is DevelopmentSender {
  return sender.provider === 'development';
}
