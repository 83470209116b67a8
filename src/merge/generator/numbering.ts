import { Rng, HEX } from './prng.ts';

/**
 * Identifiers that must be unique per person (phones, QQ numbers, login-name suffixes, MACs,
 * account ids) come from bijections of a counter, not from random draws: no set of used values
 * is kept, so memory stays constant, and no two people collide by chance. Only the traps make
 * two people share a value, on purpose and recorded in the truth notes.
 *
 * Mainland mobiles are split into three classes by the digit sum mod 3: owned numbers sum to 0,
 * "typo that hits someone" numbers to 1 (the owner's number with the last digit plus one), and
 * "typo that hits nobody" numbers to 2. So a staff typo can reach another person only where a
 * trap put it.
 */

// Mainland prefixes in use (all start 1[3-9], as legacy-sources.md and the normaliser expect).
const MOBILE_PREFIXES = [
  '130', '131', '132', '133', '134', '135', '136', '137', '138', '139', '150', '151', '152', '153', '155',
  '156', '157', '158', '159', '166', '170', '171', '173', '175', '176', '177', '178', '180', '181', '182',
  '183', '184', '185', '186', '187', '188', '189', '191', '198', '199',
] as const;

// Numbers shared by strangers (config/default.json placeholders): never anyone's own number.
export const PLACEHOLDER_MOBILES: readonly string[] = [
  '13800138000', '13888888888', '13900000000', '13000000000', '18888888888', '13812345678', '13111111111', '15555555555',
];

// Hong Kong (6x, 9x), Macau (6x) and UK (7x) mobile ranges that libphonenumber accepts.
const HK_PREFIXES = ['61', '63', '64', '65', '69', '94', '96', '97'] as const;
const MO_PREFIXES = ['62', '63', '65', '66', '68'] as const;
const UK_PREFIXES = ['71', '73', '74', '75', '77', '78', '79'] as const;

// Changhong device OUIs, as in the samples.
const MAC_OUIS = ['AC3A7A', '24E271', '7C1E06', '5C8A38', 'D0C5D3', 'B4B686', 'E0B655'] as const;

export interface ForeignPhone { country: '852' | '853' | '44'; national: string }

export interface Numbering {
  /** An owned mainland mobile, 11 digits, unique per `idx`. */
  mainland(idx: number): string;
  /** The number a one-key slip makes of `national`, owned by a typo-victim in a trap. */
  typoThatHits(national: string): string;
  /** A one-key slip that reaches no one's number. */
  typoThatMisses(national: string, rng: Rng): string;
  /** A foreign mobile, unique per `j` (a counter of foreign people). */
  foreign(j: number): ForeignPhone;
  /** A number for login names and mailbox names, unique per (index, kind); kinds never overlap. */
  suffix(index: number, kind: SuffixKind): number;
  qq(index: number): string;
  weibo(index: number, rng: Rng): string;
  wechatLogin(index: number, rng: Rng): string;
  cloudAccountId(counter: number): string;
  /** 12 upper-case hex digits, unique per device counter. */
  mac(device: number): string;
}

export const SUFFIX_KINDS = { bbs: 0, mall: 1, email: 2, mallSecond: 3 } as const;
export type SuffixKind = keyof typeof SUFFIX_KINDS;

/**
 * A keyed permutation of [0, domain): a 4-round Feistel network on the smallest even number of
 * bits that covers the domain, walked in cycles until the value falls inside it (the standard
 * way to permute a range that is not a power of two). Scrambles well: neighbours land far apart.
 */
export function permutation(domain: number, key: number): (x: number) => number {
  let bits = Math.max(2, Math.ceil(Math.log2(domain)));
  if (bits % 2 === 1) bits++;
  if (bits > 32) throw new Error(`permutation domain ${domain} is above 2^32`);
  const half = bits / 2;
  const size = 2 ** half;
  const mask = size - 1;
  const keys = [0x9e3779b9, 0x7f4a7c15, 0x85ebca6b, 0xc2b2ae35].map((k) => (Math.imul(key ^ k, 0x27d4eb2f) + k) >>> 0);
  const f = (r: number, k: number) => {
    let h = Math.imul(r ^ k, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) & mask;
  };
  const once = (x: number) => {
    let l = Math.floor(x / size);
    let r = x % size;
    for (const k of keys) [l, r] = [r, l ^ f(r, k)];
    return l * size + r;
  };
  return (x) => {
    if (!(x >= 0 && x < domain)) throw new Error(`permutation input ${x} outside [0, ${domain})`);
    do x = once(x); while (x >= domain);
    return x;
  };
}

/** A bijection on 32-bit integers (xor-shift and odd multipliers are each invertible). */
function permute32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

function digitSum(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) n += s.charCodeAt(i) - 48;
  return n;
}

export function createNumbering(seed: number, people: number): Numbering {
  const rng = new Rng(seed, 0x6e756d);
  const key = () => rng.u32();
  // All mainland numbers: prefix x 10^7 bodies x 3 last digits with the right digit sum.
  const mobileSpace = MOBILE_PREFIXES.length * 30_000_000;
  const mobile = permutation(mobileSpace, key());
  // Suffixes: wide enough for every person index (traps may add a few past --people).
  const suffixSpace = 10 ** Math.max(3, String(people * 2 + 1000).length);
  const suffixes = Object.fromEntries(Object.keys(SUFFIX_KINDS).map((k) => [k, permutation(suffixSpace, key())])) as Record<SuffixKind, (x: number) => number>;
  const qq = permutation(3_900_000_000, key());
  const weibo = permutation(1_000_000_000, key());
  const foreignShort = permutation(1_000_000, key());
  const foreignLong = permutation(100_000_000, key());
  const macs = permutation(MAC_OUIS.length * 2 ** 24, key());
  const idKey = key();
  const wxKey = key();

  const mainland = (idx: number): string => {
    const k = mobile(idx);
    const prefix = MOBILE_PREFIXES[k % MOBILE_PREFIXES.length]!;
    const rest = Math.floor(k / MOBILE_PREFIXES.length);
    const body = String(Math.floor(rest / 3)).padStart(7, '0');
    const r = (3 - (digitSum(prefix + body) % 3)) % 3;
    const n = `${prefix}${body}${r + 3 * (rest % 3)}`;
    const clash = PLACEHOLDER_MOBILES.indexOf(n);
    // The top of the range is never reached by a person index: room for the few clashes.
    return clash < 0 ? n : mainland(mobileSpace - 1 - clash);
  };

  return {
    mainland,
    typoThatHits(national) {
      return national.slice(0, 10) + String(Number(national[10]) + 1);
    },
    typoThatMisses(national, r) {
      // A digit off by -1, +2, -4, +5, ...: the digit sum moves by 2 mod 3, into the class no one owns.
      for (;;) {
        const pos = r.between(3, 10);
        const d = Number(national[pos]) + r.pick([-1, 2, -4, 5, -7, 8]);
        if (d >= 0 && d <= 9) return national.slice(0, pos) + String(d) + national.slice(pos + 1);
      }
    },
    foreign(j) {
      const k = Math.floor(j / 3);
      const region = j % 3;
      const list = region === 0 ? HK_PREFIXES : region === 1 ? MO_PREFIXES : UK_PREFIXES;
      const prefix = list[k % list.length]!;
      const q = Math.floor(k / list.length);
      if (region === 2) return { country: '44', national: `${prefix}${String(foreignLong(q)).padStart(8, '0')}` };
      return { country: region === 0 ? '852' : '853', national: `${prefix}${String(foreignShort(q)).padStart(6, '0')}` };
    },
    suffix(index, kind) {
      return 4 * suffixes[kind](index) + SUFFIX_KINDS[kind];
    },
    qq(index) {
      return String(100_000_000 + qq(index));
    },
    weibo(index, r) {
      return String(r.between(1, 7)) + String(weibo(index)).padStart(9, '0');
    },
    wechatLogin(index, r) {
      return `wx_${r.chars(HEX, 2)}${permute32((index ^ wxKey) >>> 0).toString(16).padStart(8, '0')}`;
    },
    cloudAccountId(counter) {
      return `u_${permute32((counter + idKey) >>> 0).toString(16).padStart(8, '0')}`;
    },
    mac(device) {
      const k = macs(device);
      return MAC_OUIS[k % MAC_OUIS.length]! + Math.floor(k / MAC_OUIS.length).toString(16).toUpperCase().padStart(6, '0');
    },
  };
}
