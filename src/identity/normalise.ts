import { parsePhoneNumberFromString } from 'libphonenumber-js/min';

/**
 * Normal forms of identity evidence (legacy-sources.md): phones in E.164, emails trimmed and
 * lower-cased (dots and +tags kept: stripping them is provider-specific), usernames NFKC,
 * trimmed and case-folded, MACs as 12 lower-case hex digits. Each returns null when the
 * value cannot be normalised; callers decide whether that is an error.
 */

// Mainland mobiles: 11 digits, 1 then 3-9. Written out rather than left to phone metadata,
// which lags behind the carriers' newest prefixes.
const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;

export function normalisePhone(input: string): string | null {
  const s = input.normalize('NFKC').trim();
  if (!/^[+\d][\d\s\-().]*$/.test(s)) return null;
  const digits = s.replace(/[^\d]/g, '');
  const international = s.startsWith('+') || digits.startsWith('00');
  const national = s.startsWith('+') ? digits : digits.replace(/^00/, '');

  if (MAINLAND_MOBILE.test(digits) && !international) return `+86${digits}`;
  if (/^86/.test(national)) return MAINLAND_MOBILE.test(national.slice(2)) ? `+${national}` : null; // mainland: mobiles only
  if (!international) return null;
  // Possible (right length for its country) rather than valid: numbering plans grow faster
  // than the metadata, and a real customer's number must not be turned away.
  const parsed = parsePhoneNumberFromString(`+${national}`);
  return parsed?.isPossible() ? parsed.number : null;
}

/** Splits a field holding several phone numbers (`/`, `;`, `；`, `,`, `、`). */
export function splitPhones(input: string): string[] {
  return input.split(/[/;；,，、]/).map((p) => p.trim()).filter((p) => p.length > 0);
}

// Letters (any script), digits and . _ % + - before the @; labels of letters, digits and -
// after it. Nothing a mail library reads as a list, a display name or a comment (, ; < > :
// " ( )): "x1,bob@qq.com" is not one address, and must not count as a new one.
const EMAIL = /^[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)+$/u;

export function normaliseEmail(input: string): string | null {
  const s = input.normalize('NFKC').trim().toLowerCase();
  return EMAIL.test(s) && s.length <= 254 ? s : null;
}

export function normaliseUsername(input: string): string | null {
  const s = input.normalize('NFKC').trim().toLowerCase();
  if (s.length === 0 || s.length > 64 || /[\s@]/.test(s) || /\p{Cc}/u.test(s)) return null;
  return s;
}

export function normaliseMac(input: string): string | null {
  const s = input.normalize('NFKC').trim().toLowerCase().replace(/[:\-.\s]/g, '');
  return /^[0-9a-f]{12}$/.test(s) ? s : null;
}

export type LoginIdentifier =
  | { kind: 'phone'; value: string }
  | { kind: 'email'; value: string }
  | { kind: 'username'; value: string };

/**
 * Reads what a person typed in the login box: a phone in any common shape, an email,
 * or else a username.
 */
export function parseLoginIdentifier(input: string): LoginIdentifier | null {
  const s = input.normalize('NFKC').trim();
  if (s.includes('@')) {
    const email = normaliseEmail(s);
    return email ? { kind: 'email', value: email } : null;
  }
  if (/^[+\d][\d\s\-().]{5,}$/.test(s)) {
    const phone = normalisePhone(s);
    if (phone) return { kind: 'phone', value: phone };
  }
  const username = normaliseUsername(s);
  return username ? { kind: 'username', value: username } : null;
}
