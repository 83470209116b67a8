/**
 * Retention deletes old events, and each takes its delivery rows with it (on delete cascade):
 * PostgreSQL finds them by event_id, which no index led with (the primary key starts with
 * the subscriber). Without this index every deleted event scanned the whole table.
 */
export const up = [
  `create index event_deliveries_by_event on event_deliveries (event_id)`,
];

export const down = [
  `drop index event_deliveries_by_event`,
];
