import type { LegacyProfile } from './record.ts';

/**
 * Survivorship: the account's profile from its records. Each field comes from the best
 * record that has it: one with verified evidence over one without, then the configured
 * source priority, then the most recently updated. Mall points are summed, the highest
 * member level kept, the earliest registration kept, and a ban anywhere is kept.
 */
export interface SurvivorRecord {
  ref: string;
  source: string;
  verified: boolean;
  updatedAt: string | null;
  createdAt: string | null;
  profile: LegacyProfile;
  points: number | null;
  level: string | null;
  banned: boolean;
}

const FIELDS = ['name', 'nickname', 'gender', 'birthdate', 'region', 'address'] as const;

export interface SurvivedProfile extends Pick<LegacyProfile, (typeof FIELDS)[number]> {
  points?: number;
  memberLevel?: string;
  registeredAt?: string;
  /** Where each value came from: field -> "source:source_id" (or several, for sums). */
  provenance: Record<string, string | string[]>;
}

/** Mall member levels, lowest first. */
export const MEMBER_LEVELS = ['普通会员', '银卡会员', '金卡会员'];

export function survive(records: SurvivorRecord[], sourcePriority: readonly string[]): { profile: SurvivedProfile; banned: boolean } {
  const rank = (s: string) => { const i = sourcePriority.indexOf(s); return i === -1 ? sourcePriority.length : i; };
  const ordered = [...records].sort((a, b) =>
    Number(b.verified) - Number(a.verified)
    || rank(a.source) - rank(b.source)
    || (b.updatedAt ?? '').localeCompare(a.updatedAt ?? '')
    || a.ref.localeCompare(b.ref));
  const profile: SurvivedProfile = { provenance: {} };
  for (const field of FIELDS) {
    const from = ordered.find((r) => r.profile[field] !== undefined && r.profile[field] !== '' && !(field === 'gender' && r.profile.gender === 'unknown'));
    if (from) {
      (profile as unknown as Record<string, unknown>)[field] = from.profile[field];
      profile.provenance[field] = from.ref;
    }
  }
  const withPoints = records.filter((r) => r.points !== null);
  if (withPoints.length) {
    profile.points = withPoints.reduce((sum, r) => sum + r.points!, 0);
    profile.provenance.points = withPoints.map((r) => r.ref).sort();
  }
  const leveled = records.filter((r) => r.level).sort((a, b) => MEMBER_LEVELS.indexOf(b.level!) - MEMBER_LEVELS.indexOf(a.level!));
  if (leveled[0]) {
    profile.memberLevel = leveled[0].level!;
    profile.provenance.memberLevel = leveled[0].ref;
  }
  const registered = records.filter((r) => r.createdAt).sort((a, b) => Date.parse(a.createdAt!) - Date.parse(b.createdAt!));
  if (registered[0]) {
    profile.registeredAt = new Date(registered[0].createdAt!).toISOString();
    profile.provenance.registeredAt = registered[0].ref;
  }
  const bans = records.filter((r) => r.banned).map((r) => r.ref);
  if (bans.length) profile.provenance.banned = bans;
  return { profile, banned: bans.length > 0 };
}
