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

test('the clusters do not depend on the order the groups arrive in, nor the order of nodes within them', async () => {
  const strongGroups = [carry(1, 2), carry(4, 3), carry(2, 5, 6), carry(8, 7)];
  const weakGroups = [weak([9], [1]), weak([10, 9]), weak([11], [3, 7]), weak([12], [4])];
  const labels = new Map([[7, 0], [8, 1]]);
  const partition = async (s: StrongGroup[], w: WeakGroup[]) => {
    const c = new Clustering(12, { label: (n) => labels.get(n) });
    await c.strongPass(batches(s));
    await c.weakPass(batches(w));
    return { roots: Array.from({ length: 12 }, (_, i) => c.uf.find(i + 1)), weak: [...c.weakRule.keys()].sort((a, b) => a - b), ambiguous: c.ambiguous.length };
  };
  const reversed = (gs: StrongGroup[]) => [...gs].reverse().map((g) => carry(...[...g.nodes].reverse()));
  const reversedWeak = (gs: WeakGroup[]) => [...gs].reverse().map((g) => weak([...g.free].reverse(), [...g.holders].reverse()));
  expect(await partition(reversed(strongGroups), reversedWeak(weakGroups))).toEqual(await partition(strongGroups, weakGroups));
  expect((await partition(strongGroups, weakGroups)).weak).toEqual([9, 10, 12]); // 11 points at two people: kept apart
});
