/** Legacy timestamps to ISO 8601. Local times of the legacy centers are China time (UTC+8). */

const CHINA = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const pad = (s: string | undefined, fallback = '00') => (s ?? fallback).padStart(2, '0');

/** `2013/5/6 14:22:01`, `2013-05-06`, `2015-11-11 00:00:01` as China time; null if not a date. */
export function chinaTime(input: string): string | null {
  const m = CHINA.exec(input.trim());
  if (!m) return null;
  const iso = `${m[1]}-${pad(m[2])}-${pad(m[3])}T${pad(m[4])}:${pad(m[5])}:${pad(m[6])}+08:00`;
  return Number.isNaN(Date.parse(iso)) ? null : iso;
}

/** Unix seconds; 0 or empty means "never". */
export function unixTime(input: string): string | null {
  const n = Number(input.trim());
  if (!Number.isInteger(n) || n <= 0) return null;
  return new Date(n * 1000).toISOString();
}

export function isoTime(input: unknown): string | null {
  if (typeof input !== 'string' || Number.isNaN(Date.parse(input))) return null;
  return input;
}

/** A calendar date YYYY-MM-DD, or null. */
export function calendarDate(input: string): string | null {
  const s = input.trim();
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)) ? s : null;
}
