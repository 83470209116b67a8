/**
 * Devices as people see them: the room a TV says it is in, and the account that claimed its
 * anonymous subject (the first to sign in on it). The subject itself never becomes a `sub`.
 */
export const up = [
  `alter table devices
     add column room text,
     add column anonymous_account_id text references accounts (id) on delete set null,
     add column anonymous_claimed_at timestamptz`,
];

export const down = [
  `alter table devices drop column room, drop column anonymous_account_id, drop column anonymous_claimed_at`,
];
