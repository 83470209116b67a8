import type { Person } from './people.ts';
import { note, type DraftBase, type DraftOptions } from './draft.ts';
import { TYPED_SHAPES, csvField, malformedEmail, mallTime, pickShape, shapePhone, typedEmail, type Phone } from './shapes.ts';
import { EXPORT_TIME, lifespan, type World } from './world.ts';

/** mall: UTF-8 CSV, LF; bcrypt $2a$/$2y$; phone and email verified when flagged Y. */

export const MALL_HEADER = 'member_id,login_name,mobile,mobile_verified,email,email_verified,password_hash,nickname,real_name,gender,birthday,wechat_unionid,qq_openid,weibo_uid,points,level,created_at,last_login_at\n';
export const MALL_FILE = 'mall.csv';

export interface MallDraft extends DraftBase {
  source: 'mall';
  loginName: string;
  mobile: string;
  mobileVerified: boolean;
  email: string;
  emailVerified: boolean;
  hash: string;
  nickname: string;
  realName: string;
  gender: 'M' | 'F' | 'U';
  birthday: string;
  unionid: string;
  qqOpenid: string;
  weiboUid: string;
  points: number;
  created: number;
  lastLogin: number;
}

export interface MallOptions extends DraftOptions {
  loginName?: string;
  /** The person's second mall account: a login name of its own, never the phone or wx_ one. */
  second?: boolean;
  /** Keep the phone number out of the login name (it must stay unique inside the mall). */
  noPhoneLogin?: boolean;
}

export const mallId = (n: number): string => String(100_000 + n);

// Ordinary members are provable: the phone (and the email, when given) is one another record of the person verifies too.
/** Deliveries need a reachable number: the mall proves the main number by SMS for nearly every member. */
export const MALL_PHONE_VERIFIED = 0.995;
/** Of the people who give their email out (75%), this many gave it to the mall: about 30% of members. */
export const MALL_EMAIL_GIVEN = 0.4;
/** The given email is the main one; order mails made most members confirm it. */
export const MALL_EMAIL_VERIFIED = 0.9;

export function mallLoginName(w: World, p: Person, opts: MallOptions = {}): string {
  const { rng, numbering } = w;
  const suffix = numbering.suffix(p.index, opts.second ? 'mallSecond' : 'mall');
  const r = rng.float();
  if (!opts.second && !opts.noPhoneLogin && p.phone.country === '86' && r < 0.12) return p.phone.national;
  if (!opts.second && p.unionid && r < 0.27) return numbering.wechatLogin(p.index, rng);
  if (p.hanziBase && r < 0.45) return `${p.hanziBase}${suffix}`;
  if (r < 0.6) return `${p.initials}${suffix}`;
  return `${p.pinyin}${suffix}`;
}

export function mallDraft(w: World, p: Person, opts: MallOptions = {}): MallDraft {
  const { rng, pool } = w;
  const loginName = opts.loginName ?? mallLoginName(w, p, opts);
  const phone: Phone | null = opts.phone !== undefined ? opts.phone : p.phone;
  let email = '';
  let emailVerified = false;
  if (opts.email !== undefined) {
    email = opts.email ?? '';
    emailVerified = email !== '' && (opts.emailVerified ?? false);
  } else if (opts.mainEmailVerified) {
    email = typedEmail(rng, p.email, 0.15);
    emailVerified = true;
  } else if (p.emailShared && rng.chance(MALL_EMAIL_GIVEN)) {
    email = typedEmail(rng, p.email, 0.15);
    emailVerified = rng.chance(MALL_EMAIL_VERIFIED);
  } else if (rng.chance(0.01)) {
    email = malformedEmail(rng, p.email);
  }
  const entry = rng.chance(0.5) ? pool.entries[p.password]! : rng.pick(pool.entries);
  const social = opts.social;
  const points = Math.floor(Math.exp(rng.float() * 10.3)) - 1;
  const [created, lastLogin] = lifespan(rng, opts.window?.[0] ?? p.since, opts.window?.[1] ?? EXPORT_TIME);
  return {
    source: 'mall', personId: p.id, notes: [], rejected: null, login: loginName, plain: entry.plain,
    loginName,
    mobile: phone ? shapePhone(phone, opts.phoneShape ?? pickShape(rng, TYPED_SHAPES)) : '',
    mobileVerified: phone !== null && (opts.phoneVerified ?? rng.chance(MALL_PHONE_VERIFIED)),
    email, emailVerified,
    hash: rng.chance(0.7) ? entry.mall2a : entry.mall2y,
    nickname: rng.chance(0.8) ? p.nickname : '',
    realName: rng.chance(0.6) ? p.name : '',
    gender: rng.chance(0.9) ? p.gender : 'U',
    birthday: rng.chance(0.7) ? p.birthday ?? '' : '',
    unionid: (social ?? rng.chance(0.6)) ? p.unionid ?? '' : '',
    qqOpenid: (social ?? rng.chance(0.8)) ? p.qqOpenid ?? '' : '',
    weiboUid: (social ?? rng.chance(0.8)) ? p.weiboUid ?? '' : '',
    points,
    created, lastLogin,
  };
}

export type BadBcrypt = 'truncated' | 'one_digit_cost' | 'bad_character' | 'no_prefix';

/** A hash that is not bcrypt's `$2a$<cost>$<53 characters>`: the importer rejects the row. */
export function breakMall(d: MallDraft, trapId: string, variant: BadBcrypt): void {
  const m = /^\$(2[aby])\$(\d\d)\$(.{53})$/.exec(d.hash)!;
  const [, version, cost, rest] = m as unknown as [string, string, string, string];
  d.hash = variant === 'truncated' ? d.hash.slice(0, -3)
    : variant === 'one_digit_cost' ? `$${version}$${Number(cost) % 10 || 4}$${rest}`
    : variant === 'bad_character' ? `$${version}$${cost}$${rest.slice(0, 20)}!${rest.slice(21)}`
    : rest;
  d.rejected = `bad bcrypt format (${variant.replace(/_/g, ' ')})`;
  d.login = null;
  d.plain = null;
  note(d, trapId, 'mall_bad_bcrypt', 'rejected', d.rejected);
}

function level(points: number): string {
  return points >= 20000 ? '金卡会员' : points >= 5000 ? '银卡会员' : '普通会员';
}

export function renderMall(d: MallDraft, id: string): string {
  return `${[
    id, csvField(d.loginName), csvField(d.mobile), d.mobileVerified ? 'Y' : 'N', csvField(d.email), d.emailVerified ? 'Y' : 'N',
    d.hash, csvField(d.nickname), csvField(d.realName), d.gender, d.birthday, d.unionid, d.qqOpenid, d.weiboUid,
    String(d.points), level(d.points), mallTime(d.created), mallTime(d.lastLogin),
  ].join(',')}\n`;
}
