import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import { loadMappingSource, MappingError } from '../../src/merge/sources/mapping.ts';
import { importLegacyFile } from '../../src/merge/import.ts';
import { verifyLegacyHash } from '../../src/identity/legacy-hashers.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'chucs-mapping-'));
const write = (name: string, content: string | Buffer) => { const f = path.join(tmp, name); writeFileSync(f, content); return f; };
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const placeholders = { phone: new Set<string>(), email: new Set<string>() };
let database: TestDatabase;
beforeAll(async () => { database = await createTestDatabase(); });
afterAll(() => database.drop());

const meiling = {
  source: 'meiling', format: 'csv', encoding: 'gbk', key: 'uid',
  evidence: {
    phone: { field: 'tel', verified: { field: 'tel_ok', equals: ['1'] } },
    email: { field: 'mail', verified: false },
    wechat_unionid: { field: 'unionid' },
    username: { field: 'login' },
  },
  profile: { name: 'xm', gender: { field: 'sex', map: { '1': 'male', '2': 'female' } } },
  password: { field: 'pwd', algorithm: 'md5' },
  createdAt: { field: 'reg', format: 'unix' },
  banned: { field: 'state', equals: ['9'] },
};

test('another user center imports through a mapping file: encoding, evidence, password, profile', async () => {
  const mapping = write('meiling.json', JSON.stringify(meiling));
  const csv = ['uid,login,tel,tel_ok,mail,unionid,xm,sex,pwd,reg,state',
    `1,meiling_li,138-0013-8001,1,Li@Example.com,o6_abc,李美玲,2,${md5('密码 123')},1500000000,0`,
    `2,zhang,13800138002,0,,,,1,${md5('x')},0,9`,
    '3,bad,13800138003,1,,,,,not-a-md5,0,0',
    ',nokey,,,,,,,,,'].join('\r\n');
  const file = write('meiling.csv', iconv.encode(csv, 'gbk'));
  const s = await importLegacyFile({ db: database.db, source: loadMappingSource(mapping), file, rejectsFile: path.join(tmp, 'rej.csv'), placeholders, actor: 'test' });
  expect([s.read, s.imported, s.rejected]).toEqual([4, 2, 2]);
  expect(readFileSync(path.join(tmp, 'rej.csv'), 'utf8')).toMatch(/4,3,md5/);
  const li = await database.db('legacy_records').where({ source: 'meiling', source_id: '1' }).first();
  expect(li.normalised.profile).toMatchObject({ name: '李美玲', gender: 'female' });
  expect(li.normalised.createdAt).toBe('2017-07-14T02:40:00.000Z');
  expect(await verifyLegacyHash(li.normalised.credential, '密码 123')).toBe(true);
  const ev = await database.db('legacy_evidence').where({ record_id: li.id }).orderBy('kind').select('kind', 'value', 'verified');
  expect(ev).toEqual([
    { kind: 'email', value: 'li@example.com', verified: false },
    { kind: 'phone', value: '+8613800138001', verified: true },
    { kind: 'username', value: 'meiling_li', verified: false },
    { kind: 'wechat_unionid', value: 'o6_abc', verified: true },
  ]);
  const zhang = await database.db('legacy_records').where({ source: 'meiling', source_id: '2' }).first();
  expect(zhang.normalised.banned).toBe(true);
});

test('JSON Lines with dotted paths', async () => {
  const mapping = write('app.json', JSON.stringify({ source: 'chiq-app', format: 'jsonl', key: 'user.id', evidence: { phone: { field: 'user.phone', verified: true } } }));
  const file = write('app.jsonl', '{"user":{"id":"a1","phone":"+86 139 0013 9001"}}\n{"user":{"phone":"13900139002"}}\n');
  const s = await importLegacyFile({ db: database.db, source: loadMappingSource(mapping), file, rejectsFile: path.join(tmp, 'rej2.csv'), placeholders, actor: 'test' });
  expect([s.imported, s.rejected]).toEqual([1, 1]);
});

test('a CSV column whose name holds a dot is read as that column', async () => {
  const mapping = write('export.json', JSON.stringify({ source: 'old-portal', format: 'csv', key: 'user.id', evidence: { phone: { field: 'user.phone', verified: true } } }));
  const file = write('export.csv', 'user.id,user.phone\nu1,13900139003\n');
  const s = await importLegacyFile({ db: database.db, source: loadMappingSource(mapping), file, rejectsFile: path.join(tmp, 'rej3.csv'), placeholders, actor: 'test' });
  expect([s.imported, s.rejected]).toEqual([1, 0]);
});

test.each([
  [{ ...meiling, source: 'mall' }, /source: built-in sources need no mapping/],
  [{ ...meiling, format: 'xml' }, /format: /],
  [{ ...meiling, password: { field: 'pwd', algorithm: 'sha512' } }, /password.algorithm: unknown password algorithm "sha512"/],
  [{ ...meiling, key: undefined }, /key: /],
])('a bad mapping file is refused, naming the key', (mapping, message) => {
  const file = write(`bad-${Math.random()}.json`, JSON.stringify(mapping));
  expect(() => loadMappingSource(file)).toThrow(MappingError);
  expect(() => loadMappingSource(file)).toThrow(message);
});
