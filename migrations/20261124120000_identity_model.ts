/**
 * The identity model of DESIGN.md: accounts and what identifies them, credentials,
 * devices, brands and clients, legacy records and merge runs, the audit log and
 * oidc-provider's storage. One statement per string (PGlite runs one at a time).
 */
export const up = [
  `create table accounts (
    id           text primary key,                 -- the OIDC sub: never changes, never reused
    status       text not null default 'active'
                 check (status in ('active', 'locked', 'merged', 'erased')),
    merged_into  text references accounts (id),    -- set when status = 'merged': the survivor
    profile      jsonb not null default '{}'::jsonb,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    check ((status = 'merged') = (merged_into is not null))
  )`,
  `create table identifiers (
    id           bigint generated always as identity primary key,
    account_id   text not null references accounts (id) on delete cascade,
    kind         text not null check (kind in ('phone', 'email', 'username',
                   'wechat_unionid', 'wechat_openid', 'qq_openid', 'qq_unionid', 'weibo_uid')),
    value        text not null,                    -- normalised (E.164, lower-cased email, NFKC username)
    verified     boolean not null default false,
    verified_at  timestamptz,
    is_primary   boolean not null default false,
    source       text not null,                    -- where it came from: cli, signup, legacy:<source>, ...
    created_at   timestamptz not null default now(),
    unique (account_id, kind, value),
    check (verified = (verified_at is not null))
  )`,
  // A verified identifier belongs to at most one account: the database says so, not only the code.
  `create unique index identifiers_verified_once on identifiers (kind, value) where verified`,
  `create index identifiers_by_value on identifiers (kind, value)`,
  // (account_id, kind, value) is unique, so that index also serves lookups by account.
  `create table credentials (
    id           bigint generated always as identity primary key,
    account_id   text not null references accounts (id) on delete cascade,
    type         text not null check (type in ('password', 'legacy_password')),
    algorithm    text not null,                    -- argon2id, or a legacy hasher's name
    hash         text not null,
    source       text,                             -- legacy source of a legacy hash
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    check (type <> 'password' or algorithm = 'argon2id')
  )`,
  `create unique index credentials_one_password on credentials (account_id) where type = 'password'`,
  `create index credentials_by_account on credentials (account_id)`,
  `create table external_identities (
    id           bigint generated always as identity primary key,
    account_id   text not null references accounts (id) on delete cascade,
    provider     text not null,
    subject      text not null,
    claims       jsonb not null default '{}'::jsonb,
    tokens_enc   text,                             -- upstream tokens, encrypted
    created_at   timestamptz not null default now(),
    last_used_at timestamptz,
    unique (provider, subject)
  )`,
  `create index external_identities_by_account on external_identities (account_id)`,
  `create table devices (
    id           bigint generated always as identity primary key,
    mac          text not null unique check (mac ~ '^[0-9a-f]{12}$'),
    type         text not null default 'other' check (type in ('tv', 'fridge', 'aircon', 'washer', 'other')),
    model        text,
    serial       text,
    anonymous_subject text unique,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
  )`,
  `create table device_bindings (
    device_id    bigint not null references devices (id) on delete cascade,
    account_id   text not null references accounts (id) on delete cascade,
    source       text not null,
    bound_at     timestamptz not null default now(),
    primary key (device_id, account_id)
  )`,
  `create index device_bindings_by_account on device_bindings (account_id)`,
  `create table brands (
    id           text primary key check (id ~ '^[a-z0-9][a-z0-9-]*$'),
    name_zh      text not null,
    name_en      text not null,
    logo_url     text,
    colors       jsonb not null default '{}'::jsonb,
    legal_links  jsonb not null default '{}'::jsonb,
    region       text,
    default_locale text not null default 'zh-CN',
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
  )`,
  `insert into brands (id, name_zh, name_en) values ('changhong', '长虹', 'Changhong')`,
  `create table clients (
    client_id    text primary key,
    brand_id     text not null default 'changhong' references brands (id),
    metadata     jsonb not null,                   -- oidc-provider client metadata, secret excluded
    secret_enc   text,                             -- client secret, encrypted (AES-256-GCM); null for public clients
    first_party  boolean not null default false,   -- Changhong's own apps skip the consent page
    legacy_source text,                            -- the legacy user center this app replaces
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
  )`,
  `create table merge_runs (
    id           bigint generated always as identity primary key,
    status       text not null default 'planned'
                 check (status in ('planned', 'applying', 'applied', 'undoing', 'undone', 'failed')),
    plan         jsonb,
    report       jsonb,
    checkpoint   jsonb,
    created_by   text,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
  )`,
  `create table legacy_records (
    id           bigint generated always as identity primary key,
    source       text not null,
    source_id    text not null,
    payload      jsonb not null,                   -- the row as it came
    account_id   text references accounts (id),
    merge_run_id bigint references merge_runs (id),
    evidence     jsonb,                            -- what joined it to its account, and by which rule
    imported_at  timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    unique (source, source_id)
  )`,
  `create index legacy_records_by_account on legacy_records (account_id)`,
  `create table audit_log (
    id           bigint generated always as identity primary key,
    at           timestamptz not null default now(),
    actor        text not null,                    -- account:<id>, client:<id>, cli:<user>, system
    action       text not null,                    -- dotted, e.g. login.succeeded, client.created
    subject      text,                             -- the account or object acted on
    ip           text,
    user_agent   text,
    detail       jsonb not null default '{}'::jsonb
  )`,
  `create index audit_log_by_subject on audit_log (subject, at)`,
  `create index audit_log_by_action on audit_log (action, at)`,
  `create table throttles (
    key          text primary key,                 -- e.g. login:id:<identifier>, login:ip:<address>
    failures     integer not null,
    last_failure_at timestamptz not null
  )`,
  `create table oidc_models (
    model        text not null,
    id           text not null,
    payload      jsonb not null,
    grant_id     text,
    uid          text,
    user_code    text,
    account_id   text,
    expires_at   timestamptz,
    consumed_at  timestamptz,
    primary key (model, id)
  )`,
  `create index oidc_models_by_grant on oidc_models (grant_id) where grant_id is not null`,
  `create unique index oidc_models_by_uid on oidc_models (uid) where uid is not null`,
  `create unique index oidc_models_by_user_code on oidc_models (user_code) where user_code is not null`,
  `create index oidc_models_by_account on oidc_models (account_id) where account_id is not null`,
  `create index oidc_models_by_expiry on oidc_models (expires_at) where expires_at is not null`,
];

export const down = [
  'drop table oidc_models',
  'drop table throttles',
  'drop table audit_log',
  'drop table legacy_records',
  'drop table merge_runs',
  'drop table clients',
  'drop table brands',
  'drop table device_bindings',
  'drop table devices',
  'drop table external_identities',
  'drop table credentials',
  'drop table identifiers',
  'drop table accounts',
];
