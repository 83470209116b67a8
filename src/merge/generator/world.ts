import { Rng } from './prng.ts';
import { createNumbering, type Numbering } from './numbering.ts';
import { buildPasswordPool, type PasswordPool } from './password-pool.ts';
import { chinaEpoch } from './shapes.ts';

/** Everything the generator draws from: one seeded Rng, the numbering, the password pool, counters. */
export interface World {
  rng: Rng;
  numbering: Numbering;
  pool: PasswordPool;
  counters: { person: number; foreign: number; device: number };
}

// The legacy centers' lifetimes: the oldest records are from 2009, the exports from early 2025.
export const FIRST_RECORD = chinaEpoch(2009, 1, 1);
export const EXPORT_TIME = chinaEpoch(2025, 1, 31);
const YEAR_S = 365 * 86400;

export function createWorld(seed: number, people: number): World {
  return {
    rng: new Rng(seed, 0x64617461),
    numbering: createNumbering(seed, people),
    pool: buildPasswordPool(seed),
    counters: { person: 0, foreign: 0, device: 0 },
  };
}

/** A time in [from, to], clamped to the export window. */
export function timeBetween(rng: Rng, from: number, to: number): number {
  const lo = Math.max(FIRST_RECORD, Math.min(from, EXPORT_TIME));
  const hi = Math.max(lo, Math.min(to, EXPORT_TIME));
  return lo + rng.int(hi - lo + 1);
}

/** A created/updated pair inside [from, to]: created early in it, updated later. */
export function lifespan(rng: Rng, from: number, to: number): [number, number] {
  const created = timeBetween(rng, from, Math.min(to, from + 4 * YEAR_S));
  return [created, timeBetween(rng, created, to)];
}

export { YEAR_S };
