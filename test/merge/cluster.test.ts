import { Clustering, RULE, type StrongGroup, type WeakGroup } from '../../src/merge/cluster.ts';

async function* batches<T>(items: T[]): AsyncGenerator<T[]> {
  yield items;
}
/** The nodes that carry one strong value. */
const carry = (...nodes: number[]): StrongGroup => ({ nodes });
/** One phone or email: the free records that carry it, and the nodes that hold it verified. */
const weak = (free: number[], holders: number[] = []): WeakGroup => ({ free, holders });

test('strong evidence joins every record that carries it', async () => {
  const c = new Clustering(10);
  await c.strongPass(batches([carry(3, 5), carry(5, 8)])); // a phone, then a WeChat unionid
  expect([3, 5, 8].map((n) => c.uf.find(n))).toEqual([3, 3, 3]);
  expect(c.uf.find(4)).toBe(4);
});

test('a free record attaches through a weak value to the one cluster that verified it', async () => {
  const c = new Clustering(10);
  await c.weakPass(batches([weak([2], [1])]));
  expect(c.uf.find(2)).toBe(1);
  expect(c.weakRule.get(2)).toBe(RULE.weakAttach);
});

// Which records are free (no credentials, no account) is the plan's query: the pre-hijacking
// cases are pinned through it in sample-cases.test.ts and generated-truth.test.ts.

test('a weak value held only unverified attaches nothing', async () => {
  const c = new Clustering(10);
  await c.weakPass(batches([weak([3])])); // node 2 holds it unverified: not a holder
  expect(c.uf.find(3)).toBe(3);
});

test('free records sharing a value form one group; a group pointing at two clusters stays apart', async () => {
  const c = new Clustering(10);
  await c.weakPass(batches([weak([5], [1]), weak([6], [2]), weak([5, 6])]));
  expect(c.uf.find(5)).toBe(c.uf.find(6));
  expect(c.uf.find(5)).not.toBe(c.uf.find(1));
  expect(c.uf.find(5)).not.toBe(c.uf.find(2));
  expect(c.ambiguous).toEqual([{ group: 5, targets: [1, 2] }]);
});

test('an operator split keeps labelled records apart even when they share strong values', async () => {
  const labels = new Map([[1, 0], [2, 1]]);
  const c = new Clustering(10, { label: (n) => labels.get(n) });
  await c.strongPass(batches([carry(1, 2, 3)]));
  expect(c.uf.find(1)).not.toBe(c.uf.find(2));
  expect(c.uf.find(3)).toBe(3); // an unlabelled record does not bridge the two sides
});

test('every record of an attached group is marked as placed by weak evidence, not only those that matched', async () => {
  const c = new Clustering(10);
  // 2 and 3 share an email; only 3's phone was verified by someone (node 9).
  await c.weakPass(batches([weak([2, 3]), weak([3], [9])]));
  expect(c.uf.find(2)).toBe(c.uf.find(9));
  expect(c.weakRule.get(2)).toBe(RULE.weakAttach);
  expect(c.weakRule.get(3)).toBe(RULE.weakAttach);
});
