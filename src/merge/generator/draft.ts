import type { Phone, PhoneShape } from './shapes.ts';

/**
 * A record before it has its id: the four writers turn drafts into rows once the shuffle
 * window lets them out (ids follow file order, as in a real export).
 */

export type SourceName = 'crm' | 'bbs' | 'cloud' | 'mall';
export const SOURCES: readonly SourceName[] = ['crm', 'bbs', 'cloud', 'mall'];

/** A record's part in a trap, written to truth-notes.csv. */
export interface TrapNote { trapId: string; kind: string; role: string; detail: string }

export interface DraftBase {
  personId: string;
  notes: TrapNote[];
  /** Why the importer must reject this row (a deliberately malformed one), or null. */
  rejected: string | null;
  /** For passwords.csv: what the person types to log in, and the plaintext; null without a hash. */
  login: string | null;
  plain: string | null;
}

/** What a trap may force on a record; anything left out is drawn as for anyone. */
export interface DraftOptions {
  /** created and updated (or last login) fall inside it. */
  window?: readonly [number, number];
  /** The phone the record carries (verified where the source verifies), or null for none. */
  phone?: Phone | null;
  phoneVerified?: boolean;
  phoneShape?: PhoneShape;
  /** The email exactly as written, or null for none. */
  email?: string | null;
  emailVerified?: boolean;
  /** Social ids (unionid, QQ, Weibo): true carries the person's, false none, undefined by chance. */
  social?: boolean;
  /**
   * Carry the person's main email, verified (cloud, mall): another record of theirs that only
   * that email proves (the forum account, an email-only cloud account) then joins them.
   */
  mainEmailVerified?: boolean;
}

export function note(d: DraftBase, trapId: string, kind: string, role: string, detail = ''): void {
  d.notes.push({ trapId, kind, role, detail });
}
