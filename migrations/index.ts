/** Every migration, oldest first. Shipped files are never edited: add a new one. */
import * as identityModel from './20261124120000_identity_model.ts';
import * as mergeEngine from './20261124180000_merge_engine.ts';
import * as oneTimeCodes from './20261125090000_one_time_codes.ts';
import * as upstreamLogins from './20261125110000_upstream_logins.ts';
import * as deviceClaims from './20261125130000_device_claims.ts';
import * as upstreamBinding from './20261125140000_upstream_binding.ts';
import * as events from './20261125150000_events.ts';
import * as deviceProof from './20261125160000_device_proof.ts';
import * as planNodesByCluster from './20261126090000_plan_nodes_by_cluster.ts';
import * as eventDeliveriesByEvent from './20261127090000_event_deliveries_by_event.ts';

export interface SqlMigration {
  up: readonly string[];
  down: readonly string[];
}

export const migrations: ReadonlyArray<readonly [name: string, migration: SqlMigration]> = [
  ['20261124120000_identity_model', identityModel],
  ['20261124180000_merge_engine', mergeEngine],
  ['20261125090000_one_time_codes', oneTimeCodes],
  ['20261125110000_upstream_logins', upstreamLogins],
  ['20261125130000_device_claims', deviceClaims],
  ['20261125140000_upstream_binding', upstreamBinding],
  ['20261125150000_events', events],
  ['20261125160000_device_proof', deviceProof],
  ['20261126090000_plan_nodes_by_cluster', planNodesByCluster],
  ['20261127090000_event_deliveries_by_event', eventDeliveriesByEvent],
];
