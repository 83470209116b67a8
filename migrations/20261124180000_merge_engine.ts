/**
 * The merge engine: imported legacy rows with their normalised evidence, merge runs that
 * link records to accounts (insert-only links, so a run is undone by deleting what it
 * added), a journal of what a run changed in place, and held conflicts with operators'
 * decisions. Rows a run creates carry its id: a tag (no foreign key, which would cost a
 * lookup per row on millions of rows), which undo deletes by.
 */
export const up = [
  // Links live in record_links (insert-only): a record's account is never an in-place update.
  `alter table legacy_records drop column account_id, drop column merge_run_id, drop column evidence`,
  `alter table legacy_records
     add column digest text not null default '',
     add column normalised jsonb not null default '{}'::jsonb,
     add column credentialed boolean not null default false,
     add column line integer,
     add column import_id bigint`,
  `create table legacy_imports (
    id           bigint generated always as identity primary key,
    source       text not null,
    file         text not null,
    status       text not null default 'running' check (status in ('running', 'done', 'failed')),
    counts       jsonb not null default '{}'::jsonb,
    created_by   text not null,
    started_at   timestamptz not null default now(),
    finished_at  timestamptz
  )`,
  `create table legacy_evidence (
    record_id    bigint not null references legacy_records (id) on delete cascade,
    kind         text not null check (kind in ('phone', 'email', 'wechat_unionid', 'qq_openid', 'weibo_uid', 'mac', 'username')),
    value        text not null,
    verified     boolean not null,
    primary key (record_id, kind, value)
  )`,
  `create index legacy_evidence_by_value on legacy_evidence (kind, value)`,
  `alter table merge_runs
     add column fingerprint text,
     add column counts jsonb not null default '{}'::jsonb,
     add column finished_at timestamptz`,
  `create table record_links (
    record_id    bigint primary key references legacy_records (id) on delete cascade,
    account_id   text not null references accounts (id),
    merge_run_id bigint not null,                  -- the run that linked it (a tag)
    rule         text not null,                    -- seed, strong, weak_attach, operator
    evidence     jsonb not null default '[]'::jsonb -- the shared values that joined it
  )`,
  `create index record_links_by_account on record_links (account_id)`,
  `create index record_links_by_run on record_links (merge_run_id)`,
  `alter table accounts add column merge_run_id bigint`,
  `alter table identifiers add column merge_run_id bigint`,
  `alter table credentials
     add column salt text,
     add column legacy_record_id bigint references legacy_records (id) on delete set null,
     add column merge_run_id bigint`,
  `alter table devices add column merge_run_id bigint`,
  `alter table device_bindings add column merge_run_id bigint`,
  `create index accounts_by_run on accounts (merge_run_id) where merge_run_id is not null`,
  `create index identifiers_by_run on identifiers (merge_run_id) where merge_run_id is not null`,
  `create index credentials_by_run on credentials (merge_run_id) where merge_run_id is not null`,
  `create table merge_run_journal (
    seq          bigint generated always as identity primary key,
    merge_run_id bigint not null references merge_runs (id),
    table_name   text not null,
    key          jsonb not null,
    before       jsonb not null                    -- the columns as they were, restored by undo
  )`,
  `create index merge_run_journal_by_run on merge_run_journal (merge_run_id, seq)`,
  // The plan a run applies, kept so that a run killed half-way resumes the same plan.
  `create table merge_plan_nodes (
    merge_run_id bigint not null,
    node         bigint not null,
    cluster      bigint not null,
    record_id    bigint,
    account_id   text,
    linked_to    text,                             -- the account the record was linked to before
    weak         boolean not null,
    primary key (merge_run_id, node)
  )`,
  `create index merge_plan_nodes_by_cluster on merge_plan_nodes (merge_run_id, cluster)`,
  `create table merge_plan_clusters (
    merge_run_id bigint not null,
    cluster      bigint not null,
    action       text not null check (action in ('create', 'extend', 'merge', 'hold', 'none')),
    accounts     text[],                           -- existing accounts in the cluster, oldest first
    records      integer not null,
    new_records  integer not null,
    reasons      jsonb,
    primary key (merge_run_id, cluster)
  )`,
  `create table merge_conflicts (
    id           bigint generated always as identity primary key,
    merge_run_id bigint not null references merge_runs (id),
    record_ids   bigint[] not null,
    reasons      jsonb not null,
    status       text not null default 'open' check (status in ('open', 'resolved', 'superseded')),
    created_at   timestamptz not null default now()
  )`,
  `create table merge_decisions (
    id           bigint generated always as identity primary key,
    kind         text not null check (kind in ('split', 'join')),
    groups       jsonb not null,                   -- split: [[record ids], ...]; join: [[record ids]]
    conflict_id  bigint references merge_conflicts (id) on delete set null,
    actor        text not null,
    note         text,
    created_at   timestamptz not null default now()
  )`,
];

export const down = [
  'drop table merge_decisions',
  'drop table merge_conflicts',
  'drop table merge_plan_clusters',
  'drop table merge_plan_nodes',
  'drop table merge_run_journal',
  'drop index credentials_by_run',
  'drop index identifiers_by_run',
  'drop index accounts_by_run',
  'alter table device_bindings drop column merge_run_id',
  'alter table devices drop column merge_run_id',
  'alter table credentials drop column merge_run_id, drop column legacy_record_id, drop column salt',
  'alter table identifiers drop column merge_run_id',
  'alter table accounts drop column merge_run_id',
  'drop table record_links',
  'alter table merge_runs drop column finished_at, drop column counts, drop column fingerprint',
  'drop table legacy_evidence',
  'drop table legacy_imports',
  'alter table legacy_records drop column import_id, drop column line, drop column credentialed, drop column normalised, drop column digest',
  `alter table legacy_records
     add column account_id text references accounts (id),
     add column merge_run_id bigint references merge_runs (id),
     add column evidence jsonb`,
];
