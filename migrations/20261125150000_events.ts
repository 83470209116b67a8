/**
 * The transactional outbox for downstream systems, and each subscriber's delivery state.
 * An event is written in the transaction of the change that causes it; the delivery worker
 * fans each one out to the configured webhooks (a row per subscriber and event) and delivers
 * those rows, an account's in order. No foreign key to accounts: events outlive what they
 * describe (an erased account, an account a merge undo removed).
 */
export const up = [
  `create table events (
    id           bigint generated always as identity primary key, -- the order events were written in
    event_id     uuid not null unique default gen_random_uuid(),  -- the idempotency id receivers see
    type         text not null,
    account_id   text,                                            -- ordering key (null: none)
    data         jsonb not null default '{}'::jsonb,
    created_at   timestamptz not null default now(),
    fanned_out   boolean not null default false                   -- delivery rows made for the subscribers
  )`,
  `create index events_to_fan_out on events (id) where not fanned_out`,
  `create index events_by_account on events (account_id, id) where account_id is not null`,
  `create index events_by_time on events (created_at)`,
  `create table event_deliveries (
    subscriber      text not null,                                -- a webhook id from the configuration
    event_id        bigint not null references events (id) on delete cascade,
    account_id      text,                                         -- the event's, so order is checked here alone
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null default now(),           -- also the lease of an attempt in flight
    delivered_at    timestamptz,
    last_error      text,
    primary key (subscriber, event_id)
  )`,
  `create index event_deliveries_pending on event_deliveries (subscriber, event_id) where delivered_at is null`,
  `create index event_deliveries_account_order on event_deliveries (subscriber, account_id, event_id) where delivered_at is null and account_id is not null`,
];

export const down = [
  'drop table event_deliveries',
  'drop table events',
];
