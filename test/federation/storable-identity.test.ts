import { storableIdentity, type UpstreamIdentity } from '../../src/federation/upstream.ts';

const said: UpstreamIdentity = {
  provider: 'corp', subject: 'u-1', identifiers: [], profile: { nickname: '小虹' }, tokens: { accessToken: 'at' }, claims: { sub: 'u-1' },
};

test('a NUL is dropped from a nickname or claim, where it cannot make one value another', () => {
  const stored = storableIdentity({ ...said, profile: { nickname: '小\u0000虹' }, claims: { 'na\u0000me': ['a\u0000b'] } });
  expect(stored.profile.nickname).toBe('小虹');
  expect(stored.claims).toEqual({ name: ['ab'] });
});

test("an email or phone with a NUL is ignored: dropping it could turn it into another person's", () => {
  const stored = storableIdentity({ ...said, email: { value: 'victim@corp.example\u0000', verified: true }, phone: { value: '+8613800138000\u0000', verified: true } });
  expect(stored.email).toBeUndefined();
  expect(stored.phone).toBeUndefined();
  expect(storableIdentity({ ...said, email: { value: 'a@corp.example', verified: true } }).email).toEqual({ value: 'a@corp.example', verified: true });
});

test('a subject or id with a NUL is refused', () => {
  expect(() => storableIdentity({ ...said, subject: 'u-\u00001' })).toThrow(expect.objectContaining({ code: 'federation.upstream_failed' }));
  expect(() => storableIdentity({ ...said, identifiers: [{ kind: 'wechat_unionid', value: 'o\u0000U' }] })).toThrow(expect.objectContaining({ code: 'federation.upstream_failed' }));
});
