import { BASE64URL, HEX } from './prng.ts';
import { e164, ymdCompact, type Phone } from './shapes.ts';
import {
  COMPOUNDS, EMAIL_DOMAINS, GIVEN_FEMALE, GIVEN_MALE, NICKNAMES, PLACES, PRODUCTS, RARE_GIVEN, ROADS, SURNAMES,
  UYGHUR_NAMES, type DeviceType, type Syllable,
} from './vocabulary.ts';
import { EXPORT_TIME, FIRST_RECORD, timeBetween, type World } from './world.ts';

/** One synthetic person: the truth every record of theirs is drawn from. */
export interface Person {
  index: number;
  /** truth.csv's person_id. */
  id: string;
  name: string;
  surname: Syllable;
  /** Letters-only bases for login and mailbox names (no digits: a suffix number makes them unique). */
  pinyin: string;
  initials: string;
  /** The Chinese name as a login-name base, when it is one (not for Uyghur names with the dot). */
  hanziBase: string;
  gender: 'M' | 'F';
  birthYear: number;
  birthday: string | null;
  phone: Phone;
  phone2: Phone | null;
  /** Every person has a mailbox (the forum requires one); `emailShared` says whether they give it elsewhere. */
  email: string;
  email2: string | null;
  emailShared: boolean;
  unionid: string | null;
  qqOpenid: string | null;
  weiboUid: string | null;
  nickname: string;
  place: readonly [string, string, string, string];
  address: string;
  landline: string | null;
  devices: Device[];
  /** First contact with Changhong (epoch seconds): records start after it. */
  since: number;
  /** Index of the password they use most (PasswordPool.entries). */
  password: number;
}

export interface Device { mac: string; type: DeviceType; model: string; sn: string; activatedAt: number }

export interface PersonOptions {
  mainland?: boolean;
  phone?: Phone;
  unionid?: string | null | 'always';
  surname?: Syllable;
  home?: Pick<Person, 'place' | 'address' | 'landline'>;
  since?: number;
  /** They changed number and mailbox at some point: phone2 and email2 always exist. */
  changed?: boolean;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

export function makePerson(w: World, opts: PersonOptions = {}): Person {
  const { rng, numbering } = w;
  const index = w.counters.person++;
  const gender = rng.chance(0.5) ? 'M' : 'F';
  const uyghur = rng.chance(0.01) ? rng.pick(UYGHUR_NAMES.filter((u) => u[2] === gender)) : null;
  const surname = opts.surname ?? rng.pick(SURNAMES);
  const pool = gender === 'M' ? GIVEN_MALE : GIVEN_FEMALE;
  const given: Syllable[] = rng.chance(0.3) ? [rng.pick(pool)] : [rng.pick(pool), rng.pick(pool)];
  if (rng.chance(0.015)) given[given.length - 1] = rng.pick(RARE_GIVEN);
  const name = uyghur ? uyghur[0] : surname[0] + given.map((g) => g[0]).join('');
  const pinyin = uyghur ? uyghur[1] : surname[1] + given.map((g) => g[1]).join('');
  const initials = uyghur ? uyghur[1].slice(0, 3) : surname[1][0]! + given.map((g) => g[1][0]).join('');

  const birthYear = rng.between(1950, 2005);
  const birthday = rng.chance(0.8) ? `${birthYear}-${pad(rng.between(1, 12), 2)}-${pad(rng.between(1, 28), 2)}` : null;

  const foreign = !opts.phone && !opts.mainland && rng.chance(0.015);
  const phone: Phone = opts.phone ?? (foreign
    ? (() => { const f = numbering.foreign(w.counters.foreign++); return { country: f.country, national: f.national }; })()
    : { country: '86', national: numbering.mainland(index) });
  // Index + 10^8: a second range of the same bijection, so second numbers never meet first ones.
  const phone2: Phone | null = opts.changed || rng.chance(0.1) ? { country: '86', national: numbering.mainland(100_000_000 + index) } : null;

  const letterBase = rng.pick([pinyin, pinyin, initials, `${surname[1]}_${pinyin.slice(surname[1].length) || 'x'}`, `${pinyin.slice(surname[1].length) || 'x'}.${surname[1]}`]);
  const boxNumber = numbering.suffix(index, 'email');
  const domain = rng.weighted(EMAIL_DOMAINS);
  const named = `${letterBase}${boxNumber}${rng.chance(0.03) ? rng.pick(['+shop', '+tv', '+bbs']) : ''}@${domain === 'qq.com' ? '163.com' : domain}`;
  const qqMail = `${numbering.qq(index)}@qq.com`;
  const qqFirst = rng.chance(0.35);
  const email = qqFirst ? qqMail : named;
  const email2 = opts.changed || rng.chance(0.12) ? (qqFirst ? named : qqMail) : null;

  // opts.unionid: 'always' makes one, null forbids one, a string is given, undefined is chance.
  const unionid = opts.unionid === 'always' || (opts.unionid === undefined && rng.chance(0.45))
    ? newUnionid(w)
    : opts.unionid ?? null;

  const since = opts.since ?? timeBetween(rng, FIRST_RECORD, EXPORT_TIME - 200 * 86400);
  const home = opts.home ?? makeHome(w);
  const devices: Device[] = [];
  for (let n = rng.weighted([[0, 15], [1, 45], [2, 28], [3, 12]] as const); n > 0; n--) devices.push(makeDevice(w, since));

  const nickname = rng.chance(0.5) ? rng.pick(NICKNAMES)
    : rng.chance(0.5) ? `${rng.pick(['小', '老', '阿'])}${given[given.length - 1]![0]}`
    : name;

  return {
    index,
    id: `P${pad(index + 1, 7)}`,
    name, surname, pinyin, initials,
    hanziBase: uyghur ? '' : name,
    gender, birthYear, birthday,
    phone, phone2,
    email, email2, emailShared: rng.chance(0.75),
    unionid,
    qqOpenid: rng.chance(0.18) ? rng.chars(HEX, 32).toUpperCase() : null,
    weiboUid: rng.chance(0.08) ? numbering.weibo(index, rng) : null,
    nickname,
    ...home,
    devices,
    since,
    password: rng.int(w.pool.entries.length),
  };
}

function makeHome(w: World): Pick<Person, 'place' | 'address' | 'landline'> {
  const { rng } = w;
  const place = rng.pick(PLACES);
  const address = `${place[2]}${rng.pick(ROADS)}${rng.between(1, 2000)}号${rng.pick(COMPOUNDS)}${rng.between(1, 30)}栋${rng.between(1, 6)}单元${rng.between(1, 33)}${pad(rng.between(1, 4), 2)}`;
  const digits = String(rng.between(2, 8)) + rng.chars('0123456789', 7);
  const landline = rng.chance(0.3) ? (rng.chance(0.8) ? `${place[3]}-${digits}` : `(${place[3]})${digits}`) : null;
  return { place, address, landline };
}

/** A device of the person's, with a MAC no other device has. */
export function makeDevice(w: World, after: number, type?: DeviceType, before = EXPORT_TIME - 86400): Device {
  const { rng } = w;
  const choices = type ? PRODUCTS.filter((p) => p[0] === type) : PRODUCTS;
  const [kind, model, snPrefix] = rng.pick(choices);
  const activatedAt = timeBetween(rng, after, before);
  return {
    mac: w.numbering.mac(w.counters.device++),
    type: kind, model,
    sn: `${snPrefix}${ymdCompact(activatedAt)}${rng.chars('0123456789', 5)}`,
    activatedAt,
  };
}

/** WeChat unionids: 28 characters, mostly one open platform's `o6_bmj` prefix; case-sensitive. */
export function newUnionid(w: World): string {
  const { rng } = w;
  return (rng.chance(0.92) ? 'o6_bmj' : rng.pick(['oTTfps', 'o8gJhe'])) + rng.chars(BASE64URL, 22);
}

export const isMainland = (p: Person): boolean => p.phone.country === '86';
export const phoneE164 = (p: Person): string => e164(p.phone);
