/**
 * Whether an error means "the database cannot be reached right now" (down, restarting, cut
 * off, overloaded) rather than a bug or a bad query: such errors answer 503 with Retry-After,
 * and go away by themselves once the database is back (the pool opens new connections).
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** PostgreSQL SQLSTATEs: shutting down or starting up, too many connections, cancelled by a timeout. */
const SERVER_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);

/** Messages of pg and knex when a connection dies, cannot be made, or a query gets no answer. */
const MESSAGES = /Connection terminated|Query read timeout|not queryable|Knex: Timeout acquiring a connection|Connection ended unexpectedly|timeout exceeded when trying to connect|^timeout expired$/;

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, code, message } = e as { name?: unknown; code?: unknown; message?: unknown };
    if (name === 'KnexTimeoutError') return true;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_STATES.has(code) || code.startsWith('08'))) return true;
    if (typeof message === 'string' && MESSAGES.test(message)) return true;
  }
  return false;
}

/** How long a client should wait before trying again while the database is away. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;
