import pino, { type Logger } from 'pino';

/** Paths that may hold secrets or personal data; pino writes "[redacted]" instead. */
const REDACT = [
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  '*.password', '*.client_secret', '*.clientSecret', '*.code_verifier', '*.refresh_token', '*.access_token',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { service: 'chucs' }, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}
