import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { generateLegacy } from '../../src/merge/generator/generate.ts';
import { REALISTIC_FRACTIONS } from '../../src/merge/generator/traps.ts';
import { importLegacyFile } from '../../src/merge/import.ts';
import { startRun, continueRun } from '../../src/merge/apply.ts';
import { BUILT_IN_SOURCES } from '../../src/merge/sources/index.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * The merge engine against generated data with known truth, every trap of the generator in
 * it at realistic rates (each at least once): zero pre-hijacks, pairwise precision >= 99.9%,
 * recall >= 98%, and every row imported or rejected exactly as the truth says.
 */
const PEOPLE = 2000;
const config = loadConfig({});
const out = mkdtempSync(path.join(os.tmpdir(), 'chucs-truth-'));
let database: TestDatabase;
let truth: Array<{ source: string; source_id: string; person_id: string; expect: string; line: string }>;

const pairs = (n: number) => (n * (n - 1)) / 2;

beforeAll(async () => {
  generateLegacy({ people: PEOPLE, seed: 20261124, out, fractions: REALISTIC_FRACTIONS });
  truth = parse(readFileSync(path.join(out, 'truth.csv'), 'utf8'), { columns: true });
  database = await createTestDatabase();
  const placeholders = { phone: new Set(config.merge.placeholders.phone), email: new Set(config.merge.placeholders.email) };
  for (const [name, file] of [['crm', 'crm.csv'], ['bbs', 'bbs.csv'], ['cloud', 'cloud.jsonl'], ['mall', 'mall.csv']]) {
    await importLegacyFile({ db: database.db, source: BUILT_IN_SOURCES[name!]!, file: path.join(out, file!), rejectsFile: path.join(out, `${name}.rejects.csv`), placeholders, actor: 'test' });
  }
  const options = { maxRecordsPerValue: config.merge.maxRecordsPerValue, sourcePriority: config.merge.sourcePriority, batchSize: 500, actor: 'test' };
  const { runId } = await startRun(database.db, options);
  await continueRun(database.db, runId, options);
}, 120_000);
afterAll(() => database.drop());

test('every row is imported or rejected as the truth says, with its line', async () => {
  const rejected = truth.filter((t) => t.expect === 'rejected');
  const imported = truth.filter((t) => t.expect === 'imported');
  expect(rejected.length).toBeGreaterThan(0);
  expect(Number((await database.db('legacy_records').count({ n: '*' }).first())!.n)).toBe(imported.length);
  for (const source of ['crm', 'bbs', 'cloud', 'mall']) {
    const rejects: Array<{ line: string }> = parse(readFileSync(path.join(out, `${source}.rejects.csv`), 'utf8'), { columns: true });
    const lines = rejects.map((r) => Number(r.line)).sort((a, b) => a - b);
    expect(lines).toEqual(rejected.filter((t) => t.source === source).map((t) => Number(t.line)).sort((a, b) => a - b));
  }
});

describe('accuracy against the truth', () => {
  let linked: Array<{ ref: string; account: string; person: string; credentialed: boolean }>;

  beforeAll(async () => {
    const person = new Map(truth.map((t) => [`${t.source}:${t.source_id}`, t.person_id]));
    const rows = await database.db('record_links as l').join('legacy_records as r', 'r.id', 'l.record_id').join('accounts as a', 'a.id', 'l.account_id')
      .select('r.source', 'r.source_id', 'r.credentialed', database.db.raw('coalesce(a.merged_into, a.id) as account'));
    linked = rows.map((r: { source: string; source_id: string; credentialed: boolean; account: string }) => ({
      ref: `${r.source}:${r.source_id}`, account: r.account, person: person.get(`${r.source}:${r.source_id}`)!, credentialed: r.credentialed,
    }));
  });

  test('zero pre-hijacks: no account holds credentialed records of two different people', () => {
    const owners = new Map<string, Set<string>>();
    for (const l of linked.filter((x) => x.credentialed)) owners.set(l.account, (owners.get(l.account) ?? new Set()).add(l.person));
    const hijacked = [...owners].filter(([, people]) => people.size > 1);
    expect(hijacked).toEqual([]);
  });

  test('pairwise precision at least 99.9% and recall at least 98%', () => {
    const count = (key: (l: (typeof linked)[0]) => string) => {
      const sizes = new Map<string, number>();
      for (const l of linked) sizes.set(key(l), (sizes.get(key(l)) ?? 0) + 1);
      return [...sizes.values()].reduce((s, n) => s + pairs(n), 0);
    };
    const predicted = count((l) => l.account);
    const actual = count((l) => l.person);
    const both = count((l) => `${l.account}|${l.person}`);
    const precision = both / predicted;
    const recall = both / actual;
    process.stderr.write(`generated truth: ${linked.length} linked records, ${predicted} predicted pairs, ${actual} true pairs, precision ${(precision * 100).toFixed(3)}%, recall ${(recall * 100).toFixed(3)}%\n`);
    expect(precision).toBeGreaterThanOrEqual(0.999);
    expect(recall).toBeGreaterThanOrEqual(0.98);
  });
});
