import { UnionFind } from '../../src/merge/union-find.ts';

test('joins sets and names each by its smallest member, whatever the order', () => {
  const a = new UnionFind(10);
  a.union(7, 3); a.union(3, 9); a.union(5, 6);
  const b = new UnionFind(10);
  b.union(9, 3); b.union(6, 5); b.union(7, 9);
  for (const uf of [a, b]) {
    expect([3, 7, 9].map((x) => uf.find(x))).toEqual([3, 3, 3]);
    expect([5, 6].map((x) => uf.find(x))).toEqual([5, 5]);
    expect(uf.find(1)).toBe(1);
  }
});

test('a long chain stays cheap to walk', () => {
  const uf = new UnionFind(100_000);
  for (let i = 100_000; i > 1; i--) uf.union(i, i - 1);
  expect(uf.find(100_000)).toBe(1);
});
