import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importLegacyFile } from '../../src/merge/import.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { SAMPLE_FILES, SAMPLES_DIR } from './samples.ts';
import { mallSource } from '../../src/merge/sources/mall.ts';
import { crmSource } from '../../src/merge/sources/crm.ts';
import { bbsSource } from '../../src/merge/sources/bbs.ts';
import { WrongFile } from '../../src/merge/sources/read-lines.ts';
import iconv from 'iconv-lite';
import type { LegacySource } from '../../src/merge/sources/source.ts';

const config = loadConfig({});
const placeholders = { phone: new Set(config.merge.placeholders.phone), email: new Set(config.merge.placeholders.email) };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'chucs-import-'));
let database: TestDatabase;

beforeAll(async () => { database = await createTestDatabase(); });
afterAll(() => database.drop());

const run = (source: LegacySource, file: string) =>
  importLegacyFile({ db: database.db, source, file, rejectsFile: path.join(tmp, `${source.name}.rejects.csv`), placeholders, actor: 'test' });

test('the four samples import: every row imported or rejected with its line and reason', async () => {
  const expected = { crm: [12, 0], bbs: [16, 0], cloud: [30, 1], mall: [30, 0] } as Record<string, [number, number]>;
  for (const [source, file] of SAMPLE_FILES) {
    const s = await run(source, file);
    expect([s.imported, s.rejected]).toEqual(expected[source.name]);
    expect(s.read).toBe(s.imported + s.rejected);
    expect(s.inserted).toBe(s.imported);
  }
  const rejects = readFileSync(path.join(tmp, 'cloud.rejects.csv'), 'utf8').trim().split('\n');
  expect(rejects[0]).toBe('line,source_id,reason');
  expect(rejects[1]).toMatch(/^21,,"?not valid JSON/);
  expect(await database.db('legacy_records').count({ n: '*' }).first()).toEqual({ n: 88 });
});

test('the raw row is kept as it came, and evidence is normalised', async () => {
  const crm = await database.db('legacy_records').where({ source: 'crm', source_id: 'C1000000009' }).first();
  expect(crm.payload['地址']).toBe('福田区科创路1947号\n备注:找物业'); // a line break inside quotes
  expect(crm.payload['姓名']).toBe('赵勇𠅤'); // outside GBK: 4 bytes in GB18030
  expect(crm.line).toBe(7);
  const ev = (source: string, id: string) => database.db('legacy_evidence as e').join('legacy_records as r', 'r.id', 'e.record_id')
    .where({ 'r.source': source, 'r.source_id': id }).select('e.kind', 'e.value', 'e.verified').orderBy(['e.kind', 'e.value']);
  expect(await ev('crm', 'C1000000004')).toEqual([{ kind: 'phone', value: '+8618001594257', verified: false }]); // full-width digits
  expect(await ev('crm', 'C1000000011')).toEqual([
    { kind: 'email', value: 'cch131@126.com', verified: false },
    { kind: 'phone', value: '+8613243213146', verified: false },
    { kind: 'phone', value: '+8618626401454', verified: false }, // two numbers split on "；"
  ]);
  expect(await ev('mall', '100004')).toEqual(expect.arrayContaining([{ kind: 'phone', value: '+8613676083931', verified: true }])); // 0086…
  expect(await ev('mall', '100013')).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'email', verified: true })]));
  const macs = await ev('cloud', 'u_bf795a09');
  expect(macs.filter((e: { kind: string }) => e.kind === 'mac').every((e: { value: string }) => /^[0-9a-f]{12}$/.test(e.value))).toBe(true);
  const unparsed = await database.db('legacy_records').where({ source: 'crm', source_id: 'C1000000002' }).first();
  expect(unparsed.normalised.profile.unparsed).toEqual(['8536166131']);
});

test('re-importing the same file changes nothing', async () => {
  const before = await database.db('legacy_records').orderBy('id').select('id', 'digest', 'updated_at');
  for (const [source, file] of SAMPLE_FILES) {
    const s = await run(source, file);
    expect([s.inserted, s.updated, s.unchanged]).toEqual([0, 0, s.imported]);
  }
  expect(await database.db('legacy_records').orderBy('id').select('id', 'digest', 'updated_at')).toEqual(before);
});

test('a newer export updates the changed records only; duplicates and bad rows are rejected with reasons', async () => {
  const lines = readFileSync(path.join(SAMPLES_DIR, 'mall.csv'), 'utf8').trimEnd().split('\n');
  const changed = lines.map((l) => (l.startsWith('100005,') ? l.replace(',57,', ',99,') : l));
  changed.push(changed[3]!); // a duplicate member_id
  changed.push('abc,x,,N,,N,,,,U,,,,,0,普通会员,2020-01-01 00:00:00,'); // not an integer id
  changed.push(lines[1]!.replace(/\$2[ay]\$04\$[^,]+/, '$2a$04$short')); // a malformed bcrypt hash... for an existing id
  const file = path.join(tmp, 'mall-newer.csv');
  writeFileSync(file, `${changed.join('\n')}\n`);
  const s = await run(mallSource, file);
  expect(s.read).toBe(33);
  expect(s.updated).toBe(1);
  expect(s.rejected).toBe(3);
  expect(s.read).toBe(s.imported + s.rejected);
  const reasons = readFileSync(s.rejectsFile, 'utf8');
  expect(reasons).toMatch(/duplicate mall id \d+ \(first at line 4\)/);
  expect(reasons).toContain('member_id ""abc"" is not an integer'); // CSV-quoted
  expect(reasons).toMatch(/bcrypt/);
  const updated = await database.db('legacy_records').where({ source: 'mall', source_id: '100005' }).first();
  expect(updated.payload.points).toBe('99');
});

test('duplicates far apart are rejected in file order while several batches are written at once', async () => {
  const fresh = await createTestDatabase();
  try {
    const lines = readFileSync(path.join(SAMPLES_DIR, 'mall.csv'), 'utf8').trimEnd().split('\n');
    const rows = lines.slice(1);
    // Every row twice, the copies in reverse order after the originals: each copy lands in a
    // later batch than its original, some while the original's batch is still being written.
    const file = path.join(tmp, 'mall-twice.csv');
    writeFileSync(file, `${[lines[0], ...rows, ...[...rows].reverse()].join('\n')}\n`);
    const s = await importLegacyFile({ db: fresh.db, source: mallSource, file, rejectsFile: path.join(tmp, 'mall-twice.rejects.csv'), placeholders, actor: 'test', batchRows: 3 });
    expect(s.read).toBe(rows.length * 2);
    expect(s.imported).toBe(rows.length);
    expect(s.rejected).toBe(rows.length);
    const rejected = readFileSync(s.rejectsFile, 'utf8').trim().split('\n').slice(1);
    expect(rejected).toHaveLength(rows.length);
    for (const r of rejected) {
      const [, line, id, first] = /^(\d+),(\d+),"?duplicate mall id \d+ \(first at line (\d+)\)/.exec(r)!;
      // The copy of data row k (file line k + 1) is at file line 2n + 2 - k.
      expect(Number(first)).toBe(2 * rows.length + 3 - Number(line));
      expect((await fresh.db('legacy_records').where({ source: 'mall', source_id: id }).first('line')).line).toBe(Number(first));
    }
  } finally {
    await fresh.drop();
  }
});

test('on a re-import, a duplicate of an unchanged record is still rejected: the first occurrence wins', async () => {
  const fresh = await createTestDatabase();
  try {
    const lines = readFileSync(path.join(SAMPLES_DIR, 'mall.csv'), 'utf8').trimEnd().split('\n');
    const copy = lines[1]!.split(',');
    copy[14] = '999'; // points: the late copy differs from the first occurrence
    const file = path.join(tmp, 'mall-late-copy.csv');
    writeFileSync(file, `${[...lines, copy.join(',')].join('\n')}\n`);
    const importOnce = () => importLegacyFile({ db: fresh.db, source: mallSource, file, rejectsFile: path.join(tmp, 'mall-late-copy.rejects.csv'), placeholders, actor: 'test', batchRows: 3 });
    const id = lines[1]!.split(',')[0]!;
    const first = await importOnce();
    expect([first.rejected, first.updated]).toEqual([1, 0]);
    const again = await importOnce();
    expect([again.rejected, again.updated, again.inserted, again.unchanged]).toEqual([1, 0, 0, again.imported]);
    expect(readFileSync(again.rejectsFile, 'utf8')).toContain(`duplicate mall id ${id} (first at line 2)`);
    const row = await fresh.db('legacy_records').where({ source: 'mall', source_id: id }).first('payload', 'line');
    expect(row.line).toBe(2);
    expect(row.payload.points).not.toBe('999');
  } finally {
    await fresh.drop();
  }
});

test('a file that is not the export named (another source, or another encoding) imports nothing and says why once', async () => {
  const fresh = await createTestDatabase();
  try {
    const attempt = (source: LegacySource, file: string) => importLegacyFile({ db: fresh.db, source, file, rejectsFile: path.join(tmp, 'wrong.rejects.csv'), placeholders, actor: 'test' });
    await expect(attempt(crmSource, path.join(SAMPLES_DIR, 'bbs.csv'))).rejects.toThrow(WrongFile);
    // The CRM's own file, re-encoded to UTF-8, read as the GB18030 it should be.
    const utf8Crm = path.join(tmp, 'crm-utf8.csv');
    writeFileSync(utf8Crm, iconv.decode(readFileSync(path.join(SAMPLES_DIR, 'crm.csv')), 'gb18030'));
    await expect(attempt(crmSource, utf8Crm)).rejects.toThrow(/the header has no column 客户编号 .*not in gb18030\?/);
    await expect(attempt(bbsSource, path.join(SAMPLES_DIR, 'mall.csv'))).rejects.toThrow(/no column uid/);
    expect(await fresh.db('legacy_records').count({ n: '*' }).first()).toEqual({ n: 0 });
    expect(await fresh.db('legacy_imports').pluck('status')).toEqual(['failed', 'failed', 'failed']);
  } finally {
    await fresh.drop();
  }
});
