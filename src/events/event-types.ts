/**
 * The events downstream systems (CRM, order system, data platform) receive, so they can
 * re-key their data to the Changhong ID. Names are stable: receivers switch on them.
 */
export const EVENT_TYPES = [
  'account.created',
  'account.merged',
  'account.unmerged',
  /** An account a merge run had created, deleted again when the run was undone. */
  'account.removed',
  'account.locked',
  'account.unlocked',
  'account.erased',
  'identifier.linked',
  'identifier.unlinked',
  'device.bound',
  'device.unbound',
  'device.anonymous_claimed',
] as const;

export type EventType = typeof EVENT_TYPES[number];
