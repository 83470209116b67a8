/**
 * Disjoint sets over dense integer ids (record ids, then account nodes), in typed arrays:
 * 4 bytes per node. The root of a set is its smallest id, so clusters come out the same
 * whatever order the edges arrive in.
 */
export class UnionFind {
  private parent: Int32Array;

  constructor(size: number) {
    this.parent = new Int32Array(size + 1);
    for (let i = 0; i <= size; i++) this.parent[i] = i;
  }

  get size(): number {
    return this.parent.length - 1;
  }

  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]!]!; // path halving
      x = p[x]!;
    }
    return x;
  }

  union(a: number, b: number): number {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return ra;
    const [root, child] = ra < rb ? [ra, rb] : [rb, ra];
    this.parent[child] = root;
    return root;
  }
}
