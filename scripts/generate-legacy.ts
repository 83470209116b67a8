#!/usr/bin/env node
/**
 * Synthetic legacy exports with known ground truth, for testing the merge engine at scale.
 *
 *   node scripts/generate-legacy.ts --people 250000 --seed 7 --out /tmp/gen [--trap recycled_phone=0.02 ...]
 *
 * Writes crm.csv, bbs.csv, cloud.jsonl, mall.csv (legacy-sources.md), passwords.csv, truth.csv,
 * truth-notes.csv and summary.json into --out; prints a summary to stderr.
 */
import { parseArgs } from 'node:util';
import { generateLegacy } from '../src/merge/generator/generate.ts';
import { TRAP_KINDS, parseFractions } from '../src/merge/generator/traps.ts';

const USAGE = `usage: node scripts/generate-legacy.ts --people N --seed S --out DIR [--trap KIND=FRACTION ...] [--shuffle-window N]
  KIND: ${TRAP_KINDS.join(', ')}, or all`;

function main(): number {
  let args;
  try {
    args = parseArgs({
      options: {
        people: { type: 'string' },
        seed: { type: 'string', default: '7' },
        out: { type: 'string' },
        trap: { type: 'string', multiple: true, default: [] },
        'shuffle-window': { type: 'string', default: '512' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const people = Number(args.people);
  const seed = Number(args.seed);
  const shuffleWindow = Number(args['shuffle-window']);
  if (!Number.isInteger(people) || people < 1 || !Number.isInteger(seed) || !args.out || !Number.isInteger(shuffleWindow) || shuffleWindow < 1) {
    process.stderr.write(`--people (a positive integer), --seed (an integer) and --out are required\n${USAGE}\n`);
    return 2;
  }
  let fractions;
  try {
    fractions = parseFractions(args.trap);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }

  const s = generateLegacy({ people, seed, out: args.out, fractions, shuffleWindow });

  const lines = [`generated ${s.people} people, ${s.totalRecords} records in ${(s.elapsedMs / 1000).toFixed(1)} s -> ${args.out}`];
  for (const [source, r] of Object.entries(s.records)) lines.push(`  ${source.padEnd(6)} ${String(r.rows).padStart(9)} rows (${r.rejected} to be rejected)`);
  lines.push(`  passwords ${s.passwords}`, 'traps (instances, fraction of people):');
  for (const [kind, t] of Object.entries(s.traps)) lines.push(`  ${kind.padEnd(22)} ${String(t.instances).padStart(7)}  ${t.fraction}`);
  lines.push(`truth notes: ${s.notes.rows} rows, ${s.notes.attackers} attacker and ${s.notes.victims} victim records (${s.notes.file})`);
  process.stderr.write(`${lines.join('\n')}\n`);
  return 0;
}

process.exitCode = main();
