/**
 * Sign-ins through upstream providers in flight: the state sent upstream, what comes back
 * (sealed: it holds the upstream's tokens), and what it is for. A row lives minutes.
 */
export const up = [
  `create table upstream_logins (
    state        text primary key,                 -- sent upstream; single use
    provider     text not null,
    purpose      text not null check (purpose in ('login', 'link')),
    interaction_uid text,                          -- purpose login: the login it belongs to
    account_id   text references accounts (id) on delete cascade, -- purpose link: who links
    nonce        text not null,
    code_verifier text not null,
    identity_enc text,                             -- the upstream identity once received, sealed
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    check ((purpose = 'login') = (interaction_uid is not null)),
    check ((purpose = 'link') = (account_id is not null))
  )`,
  `create index upstream_logins_by_interaction on upstream_logins (interaction_uid) where interaction_uid is not null`,
  `create index upstream_logins_expiry on upstream_logins (expires_at)`,
];

export const down = [
  `drop table upstream_logins`,
];
