import type { Rng } from './prng.ts';

/**
 * The shapes values take in the legacy exports (legacy-sources.md): phones with dashes, spaces,
 * country prefixes and full-width digits; emails with case and blanks; MACs in three spellings;
 * the date formats of each source. Every function here is pure apart from the Rng it is given.
 */

export interface Phone { country: '86' | '852' | '853' | '44'; national: string }

export const e164 = (p: Phone): string => `+${p.country}${p.national}`;

export type PhoneShape =
  | 'plain' | 'dashes' | 'spaces' | 'plus86' | 'plus86Spaced' | 'plus86Dashes' | 'dash86' | 'zero086' | 'fullWidth';

/** Weights for a source where people type their own number (mall, bbs). */
export const TYPED_SHAPES: ReadonlyArray<readonly [PhoneShape, number]> = [
  ['plain', 70], ['dashes', 5], ['spaces', 5], ['plus86', 5], ['plus86Spaced', 5], ['dash86', 5], ['zero086', 5],
];
/** Call-center staff: everything, full-width digits from Chinese input methods included. */
export const STAFF_SHAPES: ReadonlyArray<readonly [PhoneShape, number]> = [
  ['plain', 55], ['dashes', 8], ['spaces', 8], ['plus86', 3], ['plus86Spaced', 4], ['plus86Dashes', 3],
  ['dash86', 6], ['zero086', 4], ['fullWidth', 9],
];

/** Writes a phone in a shape; foreign numbers always keep their country code (they must). */
export function shapePhone(p: Phone, shape: PhoneShape): string {
  if (p.country !== '86') return shapeForeign(p, shape);
  const n = p.national;
  const grouped = (sep: string) => `${n.slice(0, 3)}${sep}${n.slice(3, 7)}${sep}${n.slice(7)}`;
  switch (shape) {
    case 'plain': return n;
    case 'dashes': return grouped('-');
    case 'spaces': return grouped(' ');
    case 'plus86': return `+86${n}`;
    case 'plus86Spaced': return `+86 ${grouped(' ')}`;
    case 'plus86Dashes': return `+86-${grouped('-')}`;
    case 'dash86': return `86-${n}`;
    case 'zero086': return `0086${n}`;
    case 'fullWidth': return fullWidth(n);
  }
}

function shapeForeign(p: Phone, shape: PhoneShape): string {
  const n = p.national;
  const split = 4; // 6123 4567, 7937 185876
  switch (shape) {
    case 'dashes': case 'plus86Dashes': return `+${p.country}-${n.slice(0, split)}-${n.slice(split)}`;
    case 'spaces': case 'plus86Spaced': return `+${p.country} ${n.slice(0, split)} ${n.slice(split)}`;
    case 'zero086': return `00${p.country}${n}`;
    case 'fullWidth': return fullWidth(`+${p.country}${n}`);
    default: return `+${p.country}${n}`;
  }
}

export function pickShape(rng: Rng, table: ReadonlyArray<readonly [PhoneShape, number]>): PhoneShape {
  return rng.weighted(table);
}

/** ASCII to its full-width form (what a Chinese IME in full-width mode types). */
export function fullWidth(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out += c === 0x20 ? '\u3000' : c > 0x20 && c < 0x7f ? String.fromCharCode(c + 0xfee0) : ch;
  }
  return out;
}

/** An email as someone typed it: mostly as is, sometimes upper-cased parts or stray blanks. */
export function typedEmail(rng: Rng, email: string, noise: number): string {
  if (!rng.chance(noise)) return email;
  const at = email.indexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  switch (rng.int(5)) {
    case 0: return `${local[0]!.toUpperCase()}${local.slice(1)}@${domain.toUpperCase()}`;
    case 1: return email.toUpperCase();
    case 2: return `${local}@${domain.toUpperCase()}`;
    case 3: return rng.pick([` ${email}`, `${email} `, `${email}\t`, ` ${email} `]);
    default: return `${local[0]!.toUpperCase()}${local.slice(1)}@${domain}`;
  }
}

/** An address no normaliser can read: kept as profile text, counted in the import report. */
export function malformedEmail(rng: Rng, email: string): string {
  const at = email.indexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  switch (rng.int(4)) {
    case 0: return `@${domain}`;
    case 1: return `${local.slice(0, 2)} ${local.slice(2)}@${domain}`;
    case 2: return `${local}@${domain.split('.')[0]}`;
    default: return `${local}@@${domain}`;
  }
}

export type MacShape = 'colons' | 'dashes' | 'bare';

/** `AC:3A:7A:12:34:56`, `ac-3a-7a-12-34-56` or `AC3A7A123456` (the three of legacy-sources.md). */
export function shapeMac(mac12: string, shape: MacShape): string {
  const pairs = mac12.match(/../g)!;
  switch (shape) {
    case 'colons': return pairs.join(':').toUpperCase();
    case 'dashes': return pairs.join('-').toLowerCase();
    case 'bare': return mac12.toUpperCase();
  }
}

// Times: epoch seconds in, China time (UTC+8) text out, as each source writes it.
const CHINA_OFFSET_S = 8 * 3600;
const p2 = (n: number) => (n < 10 ? `0${n}` : String(n));

function china(t: number): Date {
  return new Date((t + CHINA_OFFSET_S) * 1000);
}

/** `2019-03-02T11:00:00+08:00` (cloud). */
export function isoChina(t: number): string {
  const d = china(t);
  return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}+08:00`;
}

/** `2015-11-11 00:00:01` (mall). */
export function mallTime(t: number): string {
  const d = china(t);
  return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}

/** `2013/5/6 14:22:01` (CRM, Excel's default) or `2013-05-06` (CRM, date only). */
export function crmTime(t: number, dateOnly: boolean): string {
  const d = china(t);
  if (dateOnly) return `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
  return `${d.getUTCFullYear()}/${d.getUTCMonth() + 1}/${d.getUTCDate()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}

/** `YYYYMMDD` in China time, for serial numbers. */
export function ymdCompact(t: number): string {
  const d = china(t);
  return `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}`;
}

/** Epoch seconds of a China-time calendar moment. */
export function chinaEpoch(year: number, month = 1, day = 1): number {
  return Date.UTC(year, month - 1, day) / 1000 - CHINA_OFFSET_S;
}

/** One CSV field: quoted only when it holds a comma, a quote or a line break (as the exports do). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
