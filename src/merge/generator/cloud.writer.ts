import type { Device, Person } from './people.ts';
import { note, type DraftBase, type DraftOptions } from './draft.ts';
import { e164, isoChina, shapeMac, typedEmail, type MacShape } from './shapes.ts';
import { EXPORT_TIME, lifespan, type World } from './world.ts';

/** cloud: JSON Lines; Django pbkdf2 or null (SMS only); phone/email verified flags; devices by MAC. */

export const CLOUD_FILE = 'cloud.jsonl';

export interface CloudDevice { mac: string; type: string; model: string; sn: string; activated_at: string }

export interface CloudDraft extends DraftBase {
  source: 'cloud';
  phone: string | null;
  phoneVerified: boolean;
  email: string | null;
  emailVerified: boolean;
  password: string | null;
  nickname: string | null;
  unionid: string | null;
  devices: CloudDevice[];
  created: number;
  updated: number;
  /** Non-ASCII written as \uXXXX escapes (some exporters do). */
  escaped: boolean;
  /** A line that is not JSON, which the importer must reject with its line number. */
  broken: 'truncated' | 'trailing_comma' | 'bare_keys' | null;
}

export interface CloudOptions extends DraftOptions {
  /** An account signed up by email alone (no phone); undefined: by chance (CLOUD_EMAIL_ONLY). */
  emailOnly?: boolean;
  devices?: Device[];
  macShape?: MacShape;
  /** true: a password hash, false: SMS only (null); undefined: by chance. */
  password?: boolean;
}

const MAC_SHAPES: readonly MacShape[] = ['colons', 'dashes', 'bare'];

// Ordinary accounts are provable: the phone (and the email, when given) is one another record of the person verifies too.
/** Login is an SMS code to the person's main number, so it is verified but for a few pre-SMS accounts. */
export const CLOUD_PHONE_VERIFIED = 0.995;
/** Accounts signed up by email alone, with no phone (the samples' u_b172bb4b): their email is verified. */
export const CLOUD_EMAIL_ONLY = 0.05;
/** Of the people who give their email out (75%), this many gave it to the cloud: about half of all accounts. */
export const CLOUD_EMAIL_GIVEN = 0.67;
/** The given email is the main one, confirmed by the cloud's activation link for most. */
export const CLOUD_EMAIL_VERIFIED = 0.95;

export function cloudDraft(w: World, p: Person, opts: CloudOptions = {}): CloudDraft {
  const { rng, pool } = w;
  const emailOnly = opts.emailOnly ?? (opts.phone === undefined && opts.email === undefined && !opts.mainEmailVerified && rng.chance(CLOUD_EMAIL_ONLY));
  const phone = opts.phone !== undefined ? opts.phone : emailOnly ? null : p.phone;
  // Mostly E.164; a few old accounts kept the 11 digits as typed.
  const phoneText = phone === null ? null : phone.country === '86' && rng.chance(0.07) ? phone.national : e164(phone);
  let email: string | null = null;
  let emailVerified = false;
  if (opts.email !== undefined) {
    email = opts.email;
    emailVerified = email !== null && (opts.emailVerified ?? true);
  } else if (emailOnly) {
    email = p.email;
    emailVerified = true;
  } else if (opts.mainEmailVerified) {
    email = typedEmail(rng, p.email, 0.1);
    emailVerified = true;
  } else if (p.emailShared && rng.chance(CLOUD_EMAIL_GIVEN)) {
    email = typedEmail(rng, p.email, 0.1);
    emailVerified = rng.chance(CLOUD_EMAIL_VERIFIED);
  }
  const login = phoneText ?? email?.trim() ?? null;
  const wantsPassword = login !== null && (opts.password ?? (emailOnly || rng.chance(0.88)));
  const entry = rng.chance(0.6) ? pool.entries[p.password]! : rng.pick(pool.entries);
  const [created, updated] = lifespan(rng, opts.window?.[0] ?? p.since, opts.window?.[1] ?? EXPORT_TIME);
  const devices = (opts.devices ?? p.devices.filter(() => rng.chance(0.9))).map((d): CloudDevice => ({
    mac: shapeMac(d.mac, opts.macShape ?? rng.pick(MAC_SHAPES)),
    type: d.type, model: d.model, sn: d.sn, activated_at: isoChina(d.activatedAt),
  }));
  const social = opts.social ?? rng.chance(0.75);
  return {
    source: 'cloud', personId: p.id, notes: [], rejected: null,
    login: wantsPassword ? login : null,
    plain: wantsPassword ? entry.plain : null,
    phone: phoneText,
    phoneVerified: phone !== null && (opts.phoneVerified ?? rng.chance(CLOUD_PHONE_VERIFIED)),
    email, emailVerified,
    password: wantsPassword ? entry.cloud : null,
    nickname: rng.chance(0.6) ? p.nickname : null,
    unionid: social ? p.unionid : null,
    devices, created, updated,
    escaped: rng.chance(0.03),
    broken: null,
  };
}

export function breakCloud(d: CloudDraft, trapId: string, variant: 'truncated' | 'trailing_comma' | 'bare_keys'): void {
  d.broken = variant;
  d.rejected = `invalid JSON (${variant.replace('_', ' ')})`;
  d.login = null;
  d.plain = null;
  note(d, trapId, 'cloud_invalid_json', 'rejected', d.rejected);
}

export function renderCloud(d: CloudDraft, id: string): string {
  let line = JSON.stringify({
    account_id: id,
    phone: d.phone, phone_verified: d.phoneVerified,
    email: d.email, email_verified: d.emailVerified,
    password: d.password,
    nickname: d.nickname,
    wechat_unionid: d.unionid,
    devices: d.devices,
    created_at: isoChina(d.created), updated_at: isoChina(d.updated),
  });
  if (d.escaped) line = line.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  switch (d.broken) {
    case null: break;
    // Cut inside the object, after the account id (as an interrupted export leaves it).
    case 'truncated': line = line.slice(0, 40 + Math.floor((line.length - 41) * 0.6)); break;
    case 'trailing_comma': line = `${line},`; break;
    case 'bare_keys': line = line.replace(/"(account_id|phone|email)":/g, '$1:'); break;
  }
  return `${line}\n`;
}
