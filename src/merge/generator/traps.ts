import type { Rng } from './prng.ts';

/**
 * The traps: cases where the obvious join is wrong (or the row must be rejected), each with
 * a known truth. A fraction is the share of --people that start one instance of the trap;
 * every kind with a fraction above zero occurs at least once, so a small run covers them all.
 */
export const TRAP_KINDS = [
  'recycled_phone', // two people verified one number at different times (distinct unionids, or one source twice)
  'shared_tv', // one MAC on a household's cloud accounts
  'resold_tv', // one MAC on the seller's and then the buyer's account
  'username_collision', // a bbs login name reused (or upper-cased, full-width) by a stranger in the mall
  'pre_hijack_phone', // an attacker's mall account carries the victim's phone, unverified
  'pre_hijack_email', // ... or the victim's email
  'crm_typo', // a staff typo in a CRM phone that reaches no one
  'crm_typo_hits_other', // a staff typo that is another person's verified number
  'mall_duplicate', // one person's second mall account: same phone, unverified
  'crm_duplicate', // one customer entered twice
  'unprovable_same_person', // one person's second account: another source, a changed phone and email, nothing shared
  'placeholder', // 13800138000, 00000000000, test@test.com typed for strangers
  'unionid_case', // two people whose unionids differ only in case
  'cloud_invalid_json', // rejected: a line that is not JSON
  'mall_bad_bcrypt', // rejected: a password hash that is not bcrypt's format
  'bbs_wrong_field_count', // rejected: a field too many or too few
  'crm_empty_id', // rejected: no 客户编号
] as const;

export type TrapKind = (typeof TRAP_KINDS)[number];

export const DEFAULT_FRACTIONS: Readonly<Record<TrapKind, number>> = {
  recycled_phone: 0.01,
  shared_tv: 0.01,
  resold_tv: 0.005,
  username_collision: 0.01,
  pre_hijack_phone: 0.005,
  pre_hijack_email: 0.005,
  crm_typo: 0.01,
  crm_typo_hits_other: 0.005,
  mall_duplicate: 0.01,
  crm_duplicate: 0.01,
  unprovable_same_person: 0.005,
  placeholder: 0.01,
  unionid_case: 0.005,
  cloud_invalid_json: 0.001,
  mall_bad_bcrypt: 0.001,
  bbs_wrong_field_count: 0.001,
  crm_empty_id: 0.001,
};

/**
 * Trap rates closer to a real user base (our estimates: a shared household TV is common, a
 * staff typo that lands on another customer's number is rare). The defaults above are a
 * stress mix, ten times denser, for finding failures; accuracy is measured at these rates.
 */
export const REALISTIC_FRACTIONS: Readonly<Record<TrapKind, number>> = {
  recycled_phone: 0.003,
  shared_tv: 0.01,
  resold_tv: 0.003,
  username_collision: 0.005,
  pre_hijack_phone: 0.0005,
  pre_hijack_email: 0.0005,
  crm_typo: 0.002,
  crm_typo_hits_other: 0.0003,
  mall_duplicate: 0.001,
  crm_duplicate: 0.005,
  unprovable_same_person: 0.001,
  placeholder: 0.002,
  unionid_case: 0.001,
  cloud_invalid_json: 0.001,
  mall_bad_bcrypt: 0.001,
  bbs_wrong_field_count: 0.001,
  crm_empty_id: 0.001,
};

export function isTrapKind(s: string): s is TrapKind {
  return (TRAP_KINDS as readonly string[]).includes(s);
}

/** Reads `kind=fraction` (or `all=fraction`) settings over the defaults. */
export function parseFractions(settings: readonly string[]): Record<TrapKind, number> {
  const out = { ...DEFAULT_FRACTIONS };
  for (const s of settings) {
    const m = /^([a-z_]+)=([0-9.]+)$/.exec(s.trim());
    const value = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(value) || value < 0 || value > 1) throw new Error(`--trap ${JSON.stringify(s)}: expected kind=fraction with a fraction in [0, 1]`);
    const kind = m[1]!;
    if (kind === 'all') for (const k of TRAP_KINDS) out[k] = value;
    else if (isTrapKind(kind)) out[kind] = value;
    else throw new Error(`--trap: unknown kind ${JSON.stringify(kind)}; kinds: ${TRAP_KINDS.join(', ')}`);
  }
  return out;
}

export interface TrapSchedule {
  /** Kinds due once `made` people exist, each returned once per instance. */
  due(made: number): TrapKind[];
  /** Kinds still owed when the people run out. */
  rest(): TrapKind[];
  planned: Readonly<Record<TrapKind, number>>;
}

/**
 * Spreads each kind's instances evenly over the people, at a random phase, without storing
 * the positions: instance j of kind k starts at person floor((j + phase_k) * people / count_k).
 */
export function scheduleTraps(people: number, fractions: Readonly<Record<TrapKind, number>>, rng: Rng): TrapSchedule {
  const planned = {} as Record<TrapKind, number>;
  const phase = {} as Record<TrapKind, number>;
  const next = {} as Record<TrapKind, number>;
  for (const k of TRAP_KINDS) {
    planned[k] = fractions[k] > 0 ? Math.max(1, Math.round(fractions[k] * people)) : 0;
    phase[k] = rng.float();
    next[k] = 0;
  }
  const slot = (k: TrapKind) => Math.floor(((next[k] + phase[k]) * people) / planned[k]);
  return {
    planned,
    due(made) {
      const out: TrapKind[] = [];
      for (const k of TRAP_KINDS) {
        while (next[k] < planned[k] && slot(k) <= made) {
          out.push(k);
          next[k]++;
        }
      }
      return out;
    },
    rest() {
      const out: TrapKind[] = [];
      for (const k of TRAP_KINDS) for (; next[k] < planned[k]; next[k]++) out.push(k);
      return out;
    },
  };
}
