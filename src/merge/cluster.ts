import { UnionFind } from './union-find.ts';

/**
 * The clustering rules of legacy-sources.md, over nodes (legacy records and existing
 * accounts, as dense integers) and the values they carry. Pure: the caller streams in, for
 * each value, the nodes that carry it (grouped by the database), and reads the clusters out.
 *
 * 1. Strong evidence (verified phone or email, WeChat unionid, QQ openid, Weibo uid)
 *    joins every node that carries the same value.
 * 2. Weak evidence (a phone or email nobody proved) only attaches free records, which
 *    carry no credentials and belong to no account yet. Free records sharing a weak value
 *    form a group; a group attaches to the one cluster that holds one of its values as
 *    verified evidence. If its values point to two or more clusters, it stays apart.
 * 3. A MAC never joins anything (a household, not a person); usernames mean nothing across
 *    sources. Neither is passed in.
 */
/** The nodes carrying one strong value, verified. */
export interface StrongGroup { nodes: number[] }
/** The nodes carrying one phone or email: free records, and nodes holding it verified. */
export interface WeakGroup { free: number[]; holders: number[] }

export interface Split { label: (node: number) => number | undefined }

export const RULE = { strong: 1, weakAttach: 2 } as const;

export class Clustering {
  readonly uf: UnionFind;
  /** Free nodes joined through weak evidence: node -> the rule that placed it. */
  readonly weakRule = new Map<number, number>();
  readonly ambiguous: Array<{ group: number; targets: number[] }> = [];
  private split: Split;

  constructor(maxNode: number, split: Split = { label: () => undefined }) {
    this.uf = new UnionFind(maxNode);
    this.split = split;
  }

  /**
   * Joins all nodes of one value. Nodes an operator split apart (labels) are joined only
   * with nodes of the same label; unlabelled ones never bridge two labels.
   */
  private joinGroup(nodes: number[]) {
    const byLabel = new Map<number, number>();
    let unlabelled: number | undefined;
    for (const n of nodes) {
      const label = this.split.label(n);
      if (label === undefined) {
        if (unlabelled === undefined) unlabelled = n;
        else this.uf.union(unlabelled, n);
      } else {
        const first = byLabel.get(label);
        if (first === undefined) byLabel.set(label, n);
        else this.uf.union(first, n);
      }
    }
    if (unlabelled !== undefined && byLabel.size === 1) this.uf.union(unlabelled, [...byLabel.values()][0]!);
  }

  /** Pass 1: for each strong value, the nodes that carry it (in any order). */
  async strongPass(groups: AsyncIterable<StrongGroup[]>): Promise<void> {
    for await (const batch of groups) for (const { nodes } of batch) if (nodes.length > 1) this.joinGroup(nodes);
  }

  /** Joins pairs given directly (a record and the account it is already linked to). */
  link(a: number, b: number): void {
    this.uf.union(a, b);
  }

  /**
   * Pass 2: for each phone or email that some free record carries (in any order), its free
   * records and the nodes holding it verified.
   */
  async weakPass(groups: AsyncIterable<WeakGroup[]>): Promise<void> {
    const candidates = new Map<number, Set<number>>(); // free node -> clusters holding its values verified
    const freeNodes = new Set<number>();
    for await (const batch of groups) {
      for (const { free, holders } of batch) {
        for (const f of free) freeNodes.add(f);
        if (free.length > 1) this.joinGroup(free);
        if (holders.length && free.length) {
          const roots = new Set(holders.map((h) => this.uf.find(h)));
          for (const f of free) {
            const set = candidates.get(f) ?? new Set<number>();
            for (const r of roots) set.add(r);
            candidates.set(f, set);
          }
        }
      }
    }

    // Candidates were gathered per free node; decide per group of free nodes.
    const byGroup = new Map<number, { members: number[]; targets: Set<number> }>();
    for (const [node, targets] of candidates) {
      const group = this.uf.find(node);
      const entry = byGroup.get(group) ?? { members: [], targets: new Set<number>() };
      entry.members.push(node);
      for (const t of targets) entry.targets.add(this.uf.find(t));
      byGroup.set(group, entry);
    }
    const attached = new Set<number>();
    for (const [group, { targets }] of byGroup) {
      if (targets.size === 1) {
        attached.add(this.uf.union(group, [...targets][0]!));
      } else if (targets.size > 1) {
        this.ambiguous.push({ group, targets: [...targets].sort((a, b) => a - b) });
      }
    }
    // Every free member of an attached group was placed by weak evidence.
    for (const node of freeNodes) {
      if (attached.has(this.uf.find(node))) this.weakRule.set(node, RULE.weakAttach);
    }
  }
}
