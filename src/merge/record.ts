import type { LegacyHash } from '../identity/legacy-hashers.ts';

/** Evidence kinds a legacy record can carry (legacy-sources.md, "Identity evidence"). */
export type EvidenceKind = 'phone' | 'email' | 'wechat_unionid' | 'qq_openid' | 'weibo_uid' | 'mac' | 'username';

export interface Evidence {
  kind: EvidenceKind;
  /** The normal form: E.164, lower-cased email, 12-hex MAC, NFKC case-folded username. */
  value: string;
  /** Proven by the legacy center (SMS, email link, the social provider itself). */
  verified: boolean;
}

export interface LegacyDevice {
  mac: string;
  type: 'tv' | 'fridge' | 'aircon' | 'washer' | 'other';
  model: string | null;
  serial: string | null;
  activatedAt: string | null;
}

/** Profile values a record offers, for survivorship. */
export interface LegacyProfile {
  name?: string;
  nickname?: string;
  gender?: 'male' | 'female' | 'unknown';
  birthdate?: string;
  region?: string;
  address?: string;
  landline?: string;
  /** Phone or email text that could not be normalised: kept, never used as evidence. */
  unparsed?: string[];
}

/** A legacy row read, checked and normalised: what the merge engine works from. */
export interface LegacyRecord {
  source: string;
  sourceId: string;
  line: number;
  /** The row as it came (column -> text, or the JSON object). */
  raw: Record<string, unknown>;
  evidence: Evidence[];
  credential: LegacyHash | null;
  profile: LegacyProfile;
  devices: LegacyDevice[];
  banned: boolean;
  points: number | null;
  level: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

/** What a reader yields per row: a record, or the reason it cannot be imported. */
export type ReadResult =
  | { ok: true; record: LegacyRecord }
  | { ok: false; line: number; sourceId: string | null; reason: string };

/**
 * A record with credentials (a password, a social login, or a verified phone or email,
 * which logs in by code) is someone's way in: weak evidence never joins it to another.
 */
export function isCredentialed(r: Pick<LegacyRecord, 'credential' | 'evidence'>): boolean {
  return r.credential !== null || r.evidence.some((e) => e.verified && e.kind !== 'mac' && e.kind !== 'username');
}
