import type { Person } from './people.ts';
import { COMPOUNDS, PRODUCTS } from './vocabulary.ts';
import { note, type DraftBase, type DraftOptions } from './draft.ts';
import {
  STAFF_SHAPES, crmTime, csvField, malformedEmail, pickShape, shapePhone, typedEmail, ymdCompact, type Phone,
} from './shapes.ts';
import { YEAR_S, timeBetween, type World } from './world.ts';

/** crm: GB18030, CRLF, Chinese header; staff-typed phones and emails, never verified; no login. */

export const CRM_HEADER = '客户编号,姓名,手机,固话,邮箱,省份,城市,地址,购买产品,产品序列号,建档时间\r\n';
export const CRM_FILE = 'crm.csv';

export interface CrmDraft extends DraftBase {
  source: 'crm';
  emptyId: boolean;
  fields: [name: string, phones: string, landline: string, email: string, province: string, city: string,
    address: string, product: string, serial: string, created: string];
}

export interface CrmOptions extends DraftOptions {
  /** The 手机 field exactly as typed (a typo, a placeholder). */
  phoneText?: string;
  name?: string;
}

export const crmId = (n: number): string => `C${1_000_000_000 + n}`;

// Staff type the customer's main number (a technician must call), unverified: a weak link that attaches the record.
/** Rows where staff left 手机 empty (the samples' C1000000009): rare, since a visit needs a number. */
export const CRM_NO_PHONE = 0.005;
/** Rows whose number no normaliser can read (a digit dropped or doubled): kept as profile text. */
export const CRM_UNREADABLE_PHONE = 0.005;

export function crmDraft(w: World, p: Person, opts: CrmOptions = {}): CrmDraft {
  const { rng } = w;
  const name = opts.name ?? (rng.chance(0.05) ? '' : rng.chance(0.03) ? `${p.surname[0]}${p.gender === 'M' ? '先生' : '女士'}` : p.name);
  const email = opts.email !== undefined ? opts.email ?? ''
    : p.emailShared && rng.chance(0.25) ? typedEmail(rng, p.email, 0.3)
    : rng.chance(0.01) ? malformedEmail(rng, p.email) : '';
  let address = p.address;
  const noise = rng.float();
  if (noise < 0.03) address = address.replace('号', '号,');
  else if (noise < 0.05) address = `${address}(原"${rng.pick(COMPOUNDS)}")`;
  else if (noise < 0.07) address = `${address}\n备注:${rng.pick(['找物业', '白天不在家', '先打电话', '周末上门'])}`;
  const device = p.devices.length > 0 && rng.chance(0.8) ? rng.pick(p.devices) : null;
  const product = device ?? (() => {
    const [, model, prefix] = rng.pick(PRODUCTS);
    const t = timeBetween(rng, p.since, p.since + 2 * YEAR_S);
    return { model, sn: `${prefix}${ymdCompact(t)}${rng.chars('0123456789', 5)}` };
  })();
  const created = opts.window ? timeBetween(rng, opts.window[0], opts.window[1]) : timeBetween(rng, p.since, p.since + 3 * YEAR_S);
  return {
    source: 'crm', personId: p.id, notes: [], rejected: null, login: null, plain: null, emptyId: false,
    fields: [
      name, phoneText(w, p, opts), p.landline ?? '', email, p.place[0], p.place[1], address,
      product.model, product.sn, crmTime(created, rng.chance(0.5)),
    ],
  };
}

const SEPARATORS = ['/', ';', '；', ',', ' / ', '； '];

function phoneText(w: World, p: Person, opts: CrmOptions): string {
  const { rng } = w;
  if (opts.phoneText !== undefined) return opts.phoneText;
  const forced = opts.phone !== undefined;
  const phone = forced ? opts.phone : p.phone;
  if (phone === null || phone === undefined) return '';
  if (!forced && rng.chance(CRM_NO_PHONE)) return '';
  if (!forced && rng.chance(CRM_UNREADABLE_PHONE)) return unreadable(w, phone);
  const text = shapePhone(phone, opts.phoneShape ?? pickShape(rng, STAFF_SHAPES));
  if (forced || !p.phone2 || !rng.chance(0.5)) return text;
  const other = shapePhone(p.phone2, pickShape(rng, STAFF_SHAPES));
  return rng.chance(0.7) ? `${text}${rng.pick(SEPARATORS)}${other}` : `${other}${rng.pick(SEPARATORS)}${text}`;
}

/** A number no normaliser can read: a digit dropped or doubled, or a country code without its `+`. */
function unreadable(w: World, phone: Phone): string {
  const { rng } = w;
  const n = phone.national;
  if (phone.country !== '86') return `${phone.country}${n.slice(0, -1)}`;
  const at = rng.between(3, 9);
  return rng.chance(0.5) ? n.slice(0, at) + n.slice(at + 1) : n.slice(0, at) + n[at] + n.slice(at);
}

/** A row without its 客户编号, which the importer must reject. */
export function breakCrm(d: CrmDraft, trapId: string): void {
  d.emptyId = true;
  d.rejected = 'empty 客户编号';
  note(d, trapId, 'crm_empty_id', 'rejected', 'empty 客户编号');
}

export function renderCrm(d: CrmDraft, id: string): string {
  return `${d.emptyId ? '' : id},${d.fields.map(csvField).join(',')}\r\n`;
}
