import type { Person } from './people.ts';
import { IP_FIRST_OCTETS } from './vocabulary.ts';
import { note, type DraftBase, type DraftOptions } from './draft.ts';
import { discuzHash, discuzSalt } from './password-pool.ts';
import { TYPED_SHAPES, csvField, malformedEmail, pickShape, shapePhone, typedEmail } from './shapes.ts';
import { EXPORT_TIME, lifespan, type World } from './world.ts';

/** bbs: Discuz! X / UCenter. UTF-8 with a BOM, LF; md5(md5(p)+salt); email verified when emailstatus=1. */

export const BBS_HEADER = '\uFEFFuid,username,email,password,salt,emailstatus,mobile,regip,regdate,lastlogintime,status\n';
export const BBS_FILE = 'bbs.csv';

export interface BbsDraft extends DraftBase {
  source: 'bbs';
  username: string;
  email: string;
  hash: string;
  salt: string;
  emailstatus: '0' | '1';
  mobile: string;
  regip: string;
  regdate: number;
  lastlogin: number;
  status: '0' | '-1';
  /** A deliberately broken row: a field too many or too few. */
  fieldError: 'extra' | 'missing' | null;
}

export interface BbsOptions extends DraftOptions {
  /** Login name made of Latin letters (and the unique number), never the Chinese name. */
  latinUsername?: boolean;
}

export const bbsId = (n: number): string => String(n);

// Ordinary forum accounts are provable: the email is the main one, which a cloud or mall record of the person verifies too.
/** UCenter requires a mailbox and people give their usual one; the rest gave a malformed or their second address. */
export const BBS_MAIN_EMAIL = 0.995;
/** The share with a malformed address (below BBS_MAIN_EMAIL; the accounts above it gave their second mailbox, if any). */
export const BBS_MALFORMED_EMAIL = 0.003;
/** Discuz's activation mail: most accounts clicked it (emailstatus 1). */
export const BBS_EMAIL_VERIFIED = 0.995;

export function bbsUsername(w: World, p: Person, latin = false): string {
  const { rng } = w;
  const bases = [p.pinyin, p.pinyin, p.initials, `${p.surname[1]}_${p.pinyin.slice(p.surname[1].length) || 'x'}`];
  const base = !latin && p.hanziBase && rng.chance(0.3) ? p.hanziBase : rng.pick(bases);
  return `${base}${w.numbering.suffix(p.index, 'bbs')}`;
}

export function bbsDraft(w: World, p: Person, opts: BbsOptions = {}): BbsDraft {
  const { rng, pool } = w;
  const username = bbsUsername(w, p, opts.latinUsername);
  let email: string;
  let verified: boolean;
  if (opts.email !== undefined) {
    email = opts.email ?? '';
    verified = opts.emailVerified ?? false;
  } else {
    const r = rng.float();
    if (r < BBS_MALFORMED_EMAIL) {
      email = malformedEmail(rng, p.email);
      verified = false;
    } else {
      email = typedEmail(rng, r >= BBS_MAIN_EMAIL && p.email2 ? p.email2 : p.email, 0.15);
      verified = opts.emailVerified ?? rng.chance(BBS_EMAIL_VERIFIED);
    }
  }
  const r = rng.float();
  const plain = r < 0.45 ? pool.entries[p.password]!.plain
    : r < 0.65 ? rng.pick(pool.entries).plain
    : rng.pick([`${p.pinyin}${p.birthYear}`, `${p.initials}${p.phone.national.slice(-6)}`, p.phone.national.slice(-8), `${p.pinyin}123`]);
  const salt = discuzSalt(rng);
  const mobile = opts.phone !== undefined
    ? (opts.phone ? shapePhone(opts.phone, opts.phoneShape ?? 'plain') : '')
    : rng.chance(0.15) ? shapePhone(p.phone, pickShape(rng, TYPED_SHAPES)) : '';
  const [regdate, lastlogin] = lifespan(rng, opts.window?.[0] ?? p.since, opts.window?.[1] ?? EXPORT_TIME);
  return {
    source: 'bbs', personId: p.id, notes: [], rejected: null, login: username, plain,
    username, email, hash: discuzHash(plain, salt), salt,
    emailstatus: verified ? '1' : '0',
    mobile,
    regip: `${rng.pick(IP_FIRST_OCTETS)}.${rng.int(256)}.${rng.int(256)}.${rng.between(1, 254)}`,
    regdate,
    lastlogin: rng.chance(0.08) ? 0 : lastlogin,
    status: rng.chance(0.03) ? '-1' : '0',
    fieldError: null,
  };
}

/** A row with a field too many (an unquoted comma in the name) or too few (the salt left out). */
export function breakBbs(d: BbsDraft, trapId: string, variant: 'extra' | 'missing'): void {
  d.fieldError = variant;
  d.rejected = variant === 'extra' ? 'wrong number of fields (12, expected 11)' : 'wrong number of fields (10, expected 11)';
  d.login = null;
  d.plain = null;
  note(d, trapId, 'bbs_wrong_field_count', 'rejected', d.rejected);
}

export function renderBbs(d: BbsDraft, id: string): string {
  const username = d.fieldError === 'extra' ? d.username.replace(/(\d)/, ',$1') : csvField(d.username);
  const fields = [id, username, csvField(d.email), d.hash];
  if (d.fieldError !== 'missing') fields.push(d.salt);
  fields.push(d.emailstatus, csvField(d.mobile), d.regip, String(d.regdate), String(d.lastlogin), d.status);
  return `${fields.join(',')}\n`;
}
