import { survive, type SurvivorRecord } from '../../src/merge/survivorship.ts';

const rec = (ref: string, o: Partial<SurvivorRecord> = {}): SurvivorRecord => ({
  ref, source: ref.split(':')[0]!, verified: false, updatedAt: null, createdAt: null, profile: {}, points: null, level: null, banned: false, ...o,
});
const priority = ['cloud', 'mall', 'bbs', 'crm'];

test('a field comes from a verified record first, then by source priority, then the newest', () => {
  const { profile } = survive([
    rec('crm:C1', { profile: { name: '王红娟', nickname: 'crm nick' } }),
    rec('mall:1', { verified: true, profile: { nickname: '阿强' }, updatedAt: '2020-01-01T00:00:00Z' }),
    rec('mall:2', { verified: true, profile: { nickname: '新昵称' }, updatedAt: '2024-01-01T00:00:00Z' }),
    rec('cloud:u1', { profile: { nickname: 'cloud nick' } }),
  ], priority);
  expect(profile.nickname).toBe('新昵称');
  expect(profile.provenance.nickname).toBe('mall:2');
  expect(profile.name).toBe('王红娟'); // only the CRM has it
  expect(profile.provenance.name).toBe('crm:C1');
});

test('points are summed, the highest level and the earliest registration kept, a ban kept', () => {
  const { profile, banned } = survive([
    rec('mall:1', { points: 60, level: '普通会员', createdAt: '2024-03-15T22:29:26+08:00' }),
    rec('mall:2', { points: 108, level: '金卡会员', createdAt: '2021-12-22T14:54:09+08:00' }),
    rec('bbs:10', { banned: true, createdAt: '2011-11-18T03:14:07Z' }),
  ], priority);
  expect(profile.points).toBe(168);
  expect(profile.provenance.points).toEqual(['mall:1', 'mall:2']);
  expect(profile.memberLevel).toBe('金卡会员');
  expect(profile.registeredAt).toBe('2011-11-18T03:14:07.000Z');
  expect(banned).toBe(true);
  expect(profile.provenance.banned).toEqual(['bbs:10']);
});

test('an unknown gender never hides a known one', () => {
  const { profile } = survive([rec('cloud:u', { verified: true, profile: { gender: 'unknown' } }), rec('mall:1', { profile: { gender: 'female' } })], priority);
  expect(profile.gender).toBe('female');
});
