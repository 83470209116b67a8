import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importLegacyFile } from '../../src/merge/import.ts';
import { startRun, continueRun } from '../../src/merge/apply.ts';
import { explainAccount, findAccounts } from '../../src/merge/explain.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { SAMPLE_FILES } from './samples.ts';

/**
 * Every nasty case of ../shared/samples/README.md, pinned to what legacy-sources.md asks:
 * the four samples imported and merged in one run.
 */
const config = loadConfig({});
const options = {
  maxRecordsPerValue: config.merge.maxRecordsPerValue, sourcePriority: config.merge.sourcePriority, batchSize: 7, actor: 'test',
};
let database: TestDatabase;

/** The account (its survivor, if merged) that holds a legacy record; null if held. */
async function accountOf(ref: string): Promise<string | null> {
  const [source, sourceId] = ref.split(':');
  const row = await database.db('legacy_records as r').leftJoin('record_links as l', 'l.record_id', 'r.id').leftJoin('accounts as a', 'a.id', 'l.account_id')
    .where({ 'r.source': source, 'r.source_id': sourceId }).first('a.id', 'a.merged_into');
  if (row === undefined) throw new Error(`no record ${ref}`);
  return row.merged_into ?? row.id ?? null;
}
const together = async (a: string, b: string) => {
  const [x, y] = [await accountOf(a), await accountOf(b)];
  return x !== null && x === y;
};
async function ruleOf(ref: string) {
  const [source, sourceId] = ref.split(':');
  return (await database.db('record_links as l').join('legacy_records as r', 'r.id', 'l.record_id').where({ 'r.source': source, 'r.source_id': sourceId }).first('l.rule', 'l.evidence'));
}

beforeAll(async () => {
  database = await createTestDatabase();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'chucs-samples-'));
  const placeholders = { phone: new Set(config.merge.placeholders.phone), email: new Set(config.merge.placeholders.email) };
  for (const [source, file] of SAMPLE_FILES) {
    await importLegacyFile({ db: database.db, source, file, rejectsFile: path.join(tmp, `${source.name}.csv`), placeholders, actor: 'test' });
  }
  const { runId } = await startRun(database.db, options);
  await continueRun(database.db, runId, options);
});
afterAll(() => database.drop());

describe('cases that must NOT merge (merging them is account hijacking)', () => {
  test('a recycled phone: two verified owners at different times are two people', async () => {
    expect(await together('cloud:u_8a83282a', 'mall:100017')).toBe(false);
    const held = await database.db('merge_conflicts').select('record_ids', 'reasons');
    expect(held).toHaveLength(1);
    expect(JSON.stringify(held[0].reasons)).toMatch(/two different wechat_unionid/);
  });

  test('a shared MAC binds the TV to each account and merges nobody', async () => {
    for (const [a, b] of [['cloud:u_76420fc0', 'cloud:u_c2ef7811'], ['cloud:u_e5f2e6b7', 'cloud:u_00f03cbb']]) {
      expect(await together(a!, b!)).toBe(false);
      const shared = await database.db('device_bindings as b1').join('device_bindings as b2', 'b1.device_id', 'b2.device_id')
        .where('b1.account_id', await accountOf(a!)).where('b2.account_id', await accountOf(b!)).count({ n: '*' }).first();
      expect(Number(shared!.n)).toBeGreaterThan(0);
    }
  });

  test('the same username in the forum and the mall is two people', async () => {
    expect(await together('bbs:7', 'mall:100034')).toBe(false);
  });

  test("an attacker's unverified copy of a victim's phone or email does not reach the victim", async () => {
    expect(await together('mall:100022', 'cloud:u_a446a017')).toBe(false);
    expect(await together('mall:100026', 'cloud:u_1d2e98ff')).toBe(false);
  });

  test('WeChat unionids that differ only in case are two people', async () => {
    expect(await together('cloud:u_6335877c', 'mall:100015')).toBe(false);
  });

  test('a mall duplicate that repeats a phone without verifying it stays apart', async () => {
    expect(await together('mall:100030', 'mall:100012')).toBe(false);
  });
});

describe('cases that must merge', () => {
  test('a verified phone in two shapes', async () => {
    expect(await together('cloud:u_f4c7cb05', 'mall:100004')).toBe(true);
    expect((await ruleOf('mall:100004')).evidence).toEqual(expect.arrayContaining([{ kind: 'phone', value: '+8613676083931', verified: true }]));
  });

  test('a verified email that differs in case', async () => {
    expect(await together('bbs:21', 'cloud:u_d7e655ea')).toBe(true);
    expect(await together('cloud:u_bf795a09', 'mall:100013')).toBe(true);
  });

  test('the same WeChat unionid with different phones', async () => {
    expect(await together('cloud:u_2f0eeed1', 'mall:100024')).toBe(true);
    expect((await ruleOf('mall:100024')).rule).toBe('strong');
  });

  test('a CRM weak phone in full-width digits attaches to the verified phone', async () => {
    expect(await together('crm:C1000000004', 'cloud:u_2336df89')).toBe(true);
    expect(await ruleOf('crm:C1000000004')).toEqual({ rule: 'weak_attach', evidence: [{ kind: 'phone', value: '+8618001594257', verified: false }] });
  });

  test('a CRM staff typo that equals another person\'s verified phone attaches there, as the rules say', async () => {
    expect(await together('crm:C1000000007', 'cloud:u_f4cc894c')).toBe(true);
  });
});

test('explain by phone names the verified holder; asked for every holder, also the account carrying it unverified', async () => {
  const verified = await findAccounts(database.db, '157 9517 3524');
  expect(verified).toHaveLength(1);
  const every = await findAccounts(database.db, '15795173524', { everyHolder: true });
  expect(every).toContain(verified[0]);
  expect(every.length).toBeGreaterThan(1);
});

describe('noise', () => {
  test('a phone that cannot be normalised is kept as profile text, and explain shows it', async () => {
    const r = await database.db('legacy_records').where({ source: 'crm', source_id: 'C1000000002' }).first();
    expect(r.normalised.profile.unparsed).toEqual(['8536166131']);
    const accountId = await accountOf('crm:C1000000002');
    const explained = await explainAccount(database.db, accountId!);
    expect(explained!.records.find((x) => x.ref === 'crm:C1000000002')!.unparsed).toEqual(['8536166131']);
  });

  test('foreign numbers keep their country code', async () => {
    const phones = await database.db('legacy_evidence as e').join('legacy_records as r', 'r.id', 'e.record_id')
      .whereIn('r.source_id', ['u_b772b882', 'u_e5f2e6b7', '100016']).where('e.kind', 'phone').pluck('e.value');
    expect(phones.length).toBe(3);
    expect(phones.every((p: string) => /^\+(44|85[23])\d{8,10}$/.test(p))).toBe(true);
  });

  test('a banned forum member stays banned: the account is locked', async () => {
    const account = await database.db('accounts').where({ id: await accountOf('bbs:10') }).first();
    expect(account.status).toBe('locked');
    expect(account.profile.provenance.banned).toEqual(['bbs:10']);
  });

  test('mall points are summed and the account shows where each value came from', async () => {
    const account = await database.db('accounts').where({ id: await accountOf('mall:100004') }).first();
    expect(account.profile.points).toBe(108);
    expect(account.profile.provenance.points).toEqual(['mall:100004']);
    expect(account.profile.provenance.nickname).toMatch(/^(cloud:u_f4c7cb05|mall:100004)$/);
  });

  test('every imported record is linked or held, none lost', async () => {
    const records = Number((await database.db('legacy_records').count({ n: '*' }).first())!.n);
    const linked = Number((await database.db('record_links').count({ n: '*' }).first())!.n);
    const held = (await database.db('merge_conflicts').select('record_ids')).flatMap((c: { record_ids: number[] }) => c.record_ids).length;
    expect(records).toBe(88);
    expect(linked + held).toBe(records);
  });
});
