/**
 * A device proves it is the device with that MAC: a secret it got when it first asked for
 * its anonymous subject (only a hash is kept). A binding remembers the grant the device got,
 * so unbinding or a resale revokes what the device holds.
 */
export const up = [
  `alter table devices add column secret_hash text`,
  `alter table device_bindings add column grant_id text`,
];

export const down = [
  `alter table device_bindings drop column grant_id`,
  `alter table devices drop column secret_hash`,
];
