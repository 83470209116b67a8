import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { AppError } from '../errors.ts';
import type { CodeMessage, MessageSender } from './message.ts';

export type HttpSmsSettings = Extract<Config['messaging']['sms'], { provider: 'http' }>;

export interface HttpSmsDeps {
  logger: Logger;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Waits between attempts; tests pass one that does not wait. */
  sleep?: (ms: number) => Promise<void>;
}

/** First pause before a retry, doubled after each; short because a person is waiting for the SMS. */
const RETRY_BASE_DELAY_MS = 200;

/**
 * An SMS gateway reached over HTTP: one signed JSON POST per message. The signature
 * (`x-chucs-signature`) is base64url HMAC-SHA256 with the shared secret over
 * `${timestamp}\n${nonce}\n${body}`; the gateway should refuse stale timestamps and seen nonces,
 * so each attempt is signed afresh. All attempts of one message carry the same `requestId`,
 * so a gateway that received an attempt we gave up on can drop the duplicate.
 *
 * Network errors, timeouts, 429 and 5xx are retried `retries` times; any other non-2xx answer
 * means the request itself is wrong, and sending it again would not help.
 */
export function createHttpSmsSender(settings: HttpSmsSettings, deps: HttpSmsDeps): MessageSender {
  const { logger, fetch: fetchFn = fetch, sleep = delay } = deps;

  async function attempt(body: string): Promise<{ ok: true } | { ok: false; reason: string; retryable: boolean }> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const nonce = randomBytes(16).toString('base64url');
    const signature = createHmac('sha256', settings.secret).update(`${timestamp}\n${nonce}\n${body}`).digest('base64url');
    try {
      const response = await fetchFn(settings.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-chucs-key-id': settings.accessKeyId,
          'x-chucs-timestamp': timestamp,
          'x-chucs-nonce': nonce,
          'x-chucs-signature': signature,
        },
        body,
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
      // The answer's body is not read: a gateway may echo the request, code included, into our logs.
      await response.body?.cancel();
      if (response.ok) return { ok: true };
      return { ok: false, reason: `status ${response.status}`, retryable: response.status === 429 || response.status >= 500 };
    } catch (err) {
      return { ok: false, reason: describeFailure(err, settings.timeoutMs), retryable: true };
    }
  }

  return {
    provider: 'http',
    async send(message: CodeMessage) {
      const requestId = randomUUID();
      const body = JSON.stringify({
        phone: message.to,
        templateId: settings.codeTemplateId,
        signName: settings.signName,
        params: { code: message.code, minutes: message.minutes },
        requestId,
      });
      const log = logger.child({ messaging: 'http-sms', to: maskPhone(message.to), requestId });
      for (let n = 0; ; n++) {
        const outcome = await attempt(body);
        if (outcome.ok) return;
        log.warn({ attempt: n + 1, reason: outcome.reason }, 'SMS gateway attempt failed');
        if (!outcome.retryable || n >= settings.retries) {
          throw new AppError('messaging.unavailable', { detail: `SMS gateway: ${outcome.reason} (${n + 1} attempt(s), request ${requestId})` });
        }
        await sleep(RETRY_BASE_DELAY_MS * 2 ** n);
      }
    },
  };
}

/**
 * Names the failure by its kind and system code, never by its message, which fetch may fill with
 * anything. Duck-typed: the error may come from another realm (undici's DOMException, jest's sandbox).
 */
function describeFailure(err: unknown, timeoutMs: number): string {
  const { name, cause } = (err ?? {}) as { name?: unknown; cause?: { code?: unknown } };
  if (name === 'TimeoutError') return `timeout after ${timeoutMs} ms`;
  return typeof cause?.code === 'string' ? `network error ${cause.code}` : 'network error';
}

/** +8613812348000 -> +86138****8000: enough to tell numbers apart in the log. */
function maskPhone(phone: string): string {
  return `${phone.slice(0, -8)}****${phone.slice(-4)}`;
}
