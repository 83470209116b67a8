/**
 * Upstream trips bound to the browser that started them (a hash of a cookie it holds),
 * claimed once by their callback, and, after the person proves an existing account, waiting
 * for them to confirm the link. Each upstream identity remembers exactly which identifiers
 * it proved, so unlinking removes those and nothing else.
 */
export const up = [
  `alter table upstream_logins
     add column browser_hash text,
     add column claimed_at timestamptz,
     add column proven_account_id text references accounts (id) on delete cascade,
     add column proven_amr text`,
  `alter table external_identities add column proves jsonb not null default '[]'::jsonb`,
];

export const down = [
  `alter table external_identities drop column proves`,
  `alter table upstream_logins drop column browser_hash, drop column claimed_at, drop column proven_account_id, drop column proven_amr`,
];
