import { normaliseEmail, normaliseMac, normalisePhone, normaliseUsername, splitPhones } from '../identity/normalise.ts';
import type { Evidence, EvidenceKind } from './record.ts';

/**
 * Builds evidence from legacy fields. Values that cannot be normalised are returned as
 * `unparsed` (kept as profile text and counted, never dropped silently); placeholder values
 * (a blocklist of numbers and addresses shared by strangers) are returned as `placeholders`
 * and never become evidence.
 */
export interface EvidenceBuilder {
  phones(field: unknown, verified: boolean): void;
  email(field: unknown, verified: boolean): void;
  social(kind: 'wechat_unionid' | 'qq_openid' | 'weibo_uid', field: unknown): void;
  mac(field: unknown): string | null;
  username(field: unknown): void;
  evidence: Evidence[];
  unparsed: string[];
  placeholders: string[];
}

export interface Placeholders {
  phone: ReadonlySet<string>;
  email: ReadonlySet<string>;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '').trim();

export function evidenceBuilder(placeholders: Placeholders): EvidenceBuilder {
  const evidence: Evidence[] = [];
  const unparsed: string[] = [];
  const found: string[] = [];
  const add = (kind: EvidenceKind, value: string, verified: boolean) => {
    const same = evidence.find((e) => e.kind === kind && e.value === value);
    if (same) same.verified ||= verified;
    else evidence.push({ kind, value, verified });
  };
  return {
    evidence,
    unparsed,
    placeholders: found,
    phones(field, verified) {
      for (const part of splitPhones(text(field))) {
        const phone = normalisePhone(part);
        if (!phone) unparsed.push(part);
        else if (placeholders.phone.has(phone)) found.push(phone);
        else add('phone', phone, verified);
      }
    },
    email(field, verified) {
      const raw = text(field);
      if (!raw) return;
      const email = normaliseEmail(raw);
      if (!email) unparsed.push(raw);
      else if (placeholders.email.has(email)) found.push(email);
      else add('email', email, verified);
    },
    social(kind, field) {
      // Case-sensitive, as given: unionids differing only in case are different people.
      const value = text(field);
      if (value) add(kind, value, true);
    },
    mac(field) {
      const mac = normaliseMac(text(field));
      if (mac) add('mac', mac, false);
      return mac;
    },
    username(field) {
      const name = normaliseUsername(text(field));
      if (name) add('username', name, false);
    },
  };
}
