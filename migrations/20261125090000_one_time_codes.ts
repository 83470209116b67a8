/**
 * One-time codes sent by SMS or email, and the circuit breakers that stop sending when
 * something pumps messages. A code is stored as an HMAC only; rows stay a day after they
 * expire, because the daily caps count them.
 */
export const up = [
  `create table one_time_codes (
    id           bigint generated always as identity primary key,
    purpose      text not null check (purpose in ('login', 'verify', 'step_up')),
    channel      text not null check (channel in ('sms', 'email')),
    target       text not null,                    -- E.164 phone or normalised email
    binding      text not null,                    -- what the code is for: an interaction, an account
    code_hash    text not null,                    -- HMAC-SHA256 of the code with its purpose, target and binding
    ip           text,                             -- who asked for it (the per-address cap counts these)
    attempts     integer not null default 0,
    created_at   timestamptz not null,
    expires_at   timestamptz not null,
    consumed_at  timestamptz
  )`,
  `create index one_time_codes_by_target on one_time_codes (target, created_at)`,
  `create index one_time_codes_by_ip on one_time_codes (ip, created_at)`,
  `create index one_time_codes_by_channel on one_time_codes (channel, created_at)`,
  `create table circuit_breakers (
    name         text primary key,                 -- e.g. codes:sms
    opened_at    timestamptz not null,
    open_until   timestamptz not null,
    reason       text not null
  )`,
];

export const down = [
  `drop table circuit_breakers`,
  `drop table one_time_codes`,
];
