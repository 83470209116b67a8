import { Clustering, RULE, type StrongValue, type WeakValue } from '../../src/merge/cluster.ts';

async function* batches<T>(items: T[]): AsyncGenerator<T[]> {
  yield [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
const strong = (kind: string, value: string, node: number): StrongValue => ({ kind, value, node });
const weak = (value: string, node: number, o: { verified?: boolean; free?: boolean } = {}): WeakValue =>
  ({ kind: 'phone', value, node, verified: o.verified ?? false, free: o.free ?? false });
const sortWeak = (v: WeakValue[]) => v.sort((a, b) => (a.kind + a.value).localeCompare(b.kind + b.value));

test('strong evidence joins every record that carries it', async () => {
  const c = new Clustering(10);
  await c.strongPass(batches([strong('phone', '+861', 3), strong('phone', '+861', 5), strong('wechat_unionid', 'o6_x', 5), strong('wechat_unionid', 'o6_x', 8)]));
  expect([3, 5, 8].map((n) => c.uf.find(n))).toEqual([3, 3, 3]);
  expect(c.uf.find(4)).toBe(4);
});

test('a free record attaches through a weak value to the one cluster that verified it', async () => {
  const c = new Clustering(10);
  await c.weakPass(batches(sortWeak([weak('+861', 1, { verified: true }), weak('+861', 2, { free: true })])));
  expect(c.uf.find(2)).toBe(1);
  expect(c.weakRule.get(2)).toBe(RULE.weakAttach);
});

test('weak evidence never moves a record that has credentials (pre-hijacking)', async () => {
  const c = new Clustering(10);
  // node 2 is an attacker's account holding the victim's number unverified: not free.
  await c.weakPass(batches(sortWeak([weak('+861', 1, { verified: true }), weak('+861', 2)])));
  expect(c.uf.find(2)).toBe(2);
});

test('a weak value held only unverified attaches nothing', async () => {
  const c = new Clustering(10);
  await c.weakPass(batches(sortWeak([weak('+861', 2), weak('+861', 3, { free: true })])));
  expect(c.uf.find(3)).toBe(3);
});

test('free records sharing a value form one group; a group pointing at two clusters stays apart', async () => {
  const c = new Clustering(10);
  await c.weakPass(batches(sortWeak([
    weak('+861', 1, { verified: true }), weak('+861', 5, { free: true }),
    weak('+862', 2, { verified: true }), weak('+862', 6, { free: true }),
    weak('+863', 5, { free: true }), weak('+863', 6, { free: true }),
  ])));
  expect(c.uf.find(5)).toBe(c.uf.find(6));
  expect(c.uf.find(5)).not.toBe(c.uf.find(1));
  expect(c.uf.find(5)).not.toBe(c.uf.find(2));
  expect(c.ambiguous).toEqual([{ group: 5, targets: [1, 2] }]);
});

test('an operator split keeps labelled records apart even when they share strong values', async () => {
  const labels = new Map([[1, 0], [2, 1]]);
  const c = new Clustering(10, { label: (n) => labels.get(n) });
  await c.strongPass(batches([strong('phone', '+861', 1), strong('phone', '+861', 2), strong('phone', '+861', 3)]));
  expect(c.uf.find(1)).not.toBe(c.uf.find(2));
  expect(c.uf.find(3)).toBe(3); // an unlabelled record does not bridge the two sides
});

test('every record of an attached group is marked as placed by weak evidence, not only those that matched', async () => {
  const c = new Clustering(10);
  // 2 and 3 share an email; only 3's phone was verified by someone (node 9).
  await c.weakPass(batches([
    { kind: 'email', value: 'a@x.cn', node: 2, verified: false, free: true },
    { kind: 'email', value: 'a@x.cn', node: 3, verified: false, free: true },
    weak('+861', 3, { free: true }), weak('+861', 9, { verified: true }),
  ].sort((a, b) => (a.kind + a.value).localeCompare(b.kind + b.value))));
  expect(c.uf.find(2)).toBe(c.uf.find(9));
  expect(c.weakRule.get(2)).toBe(RULE.weakAttach);
  expect(c.weakRule.get(3)).toBe(RULE.weakAttach);
});
