import { bbsDraft, breakBbs } from './bbs.writer.ts';
import { breakCloud, cloudDraft } from './cloud.writer.ts';
import { breakCrm, crmDraft } from './crm.writer.ts';
import { breakMall, mallDraft, type BadBcrypt } from './mall.writer.ts';
import { makeDevice } from './people.ts';
import { note, type DraftBase } from './draft.ts';
import { chinaEpoch, e164, fullWidth, type Phone, type PhoneShape } from './shapes.ts';
import { EXPORT_TIME, timeBetween } from './world.ts';
import type { Scene } from './scene.ts';
import type { TrapKind } from './traps.ts';

/**
 * One builder per trap kind. Each makes the people involved, forces the records that carry
 * the trap, notes every such record's part (truth-notes.csv), and lets the people have their
 * ordinary records elsewhere. Variants rotate with the occurrence number, so the first few
 * instances of a kind cover all its variants.
 */
export const SCENARIOS: Readonly<Record<TrapKind, (s: Scene) => void>> = {
  recycled_phone, shared_tv, resold_tv, username_collision, pre_hijack_phone, pre_hijack_email,
  crm_typo, crm_typo_hits_other, mall_duplicate, crm_duplicate, unprovable_same_person, placeholder, unionid_case,
  cloud_invalid_json, mall_bad_bcrypt, bbs_wrong_field_count, crm_empty_id,
};

// The carrier gave the number up in between: the old owner's last use is before the new one's first.
const OLD_OWNER_WINDOW = [chinaEpoch(2010, 1, 1), chinaEpoch(2017, 6, 30)] as const;
const NEW_OWNER_WINDOW = [chinaEpoch(2019, 6, 1), EXPORT_TIME] as const;

/**
 * Where the two owners' records are, and which owners have a WeChat unionid on them. A recycled
 * number must be detectable under legacy-sources.md, or it is indistinguishable from one person
 * verifying one number in two sources years apart (the samples' cloud:u_f4c7cb05 + mall:100004,
 * which must merge). So across sources both owners always carry their own unionid (a
 * contradiction in one cluster); inside one source the two records verifying one number are the
 * tell, with any unionids (none, the new owner's only, or both).
 */
const RECYCLED_VARIANTS = [
  ['cross', 'both'], ['same', 'none'], ['same', 'one'], ['cross', 'both'], ['same', 'both'],
] as const;

function recycled_phone(s: Scene): void {
  const { rng } = s.w;
  const { id, n } = s.open('recycled_phone');
  const [where, unionids] = RECYCLED_VARIANTS[n % RECYCLED_VARIANTS.length]!;
  const newOwner = s.person({ mainland: true, unionid: unionids === 'none' ? null : 'always', since: timeBetween(rng, NEW_OWNER_WINDOW[0], chinaEpoch(2024, 1, 1)) });
  const oldOwner = s.person({ mainland: true, unionid: unionids === 'both' ? 'always' : null, since: timeBetween(rng, OLD_OWNER_WINDOW[0], chinaEpoch(2013, 1, 1)) });
  const number = newOwner.phone;
  const oldSource = rng.pick(['cloud', 'mall'] as const);
  const newSource = where === 'same' ? oldSource : oldSource === 'cloud' ? 'mall' : 'cloud';
  const detail = `${e164(number)} ${where} source, unionids: ${unionids}`;
  // The old owner's record is an account they left behind; their current number is their own.
  const old = oldSource === 'cloud'
    ? cloudDraft(s.w, oldOwner, { phone: number, phoneVerified: true, window: OLD_OWNER_WINDOW, social: unionids === 'both', devices: [] })
    : mallDraft(s.w, oldOwner, { phone: number, phoneVerified: true, window: OLD_OWNER_WINDOW, social: unionids === 'both', second: true });
  const current = newSource === 'cloud'
    ? cloudDraft(s.w, newOwner, { phone: number, phoneVerified: true, window: NEW_OWNER_WINDOW, social: unionids !== 'none' })
    : mallDraft(s.w, newOwner, { phone: number, phoneVerified: true, window: NEW_OWNER_WINDOW, social: unionids !== 'none' });
  emitNoted(s, old, id, 'recycled_phone', 'old_owner', detail);
  emitNoted(s, current, id, 'recycled_phone', 'new_owner', detail);
  s.rest(oldOwner, []);
  s.rest(newOwner, [newSource]);
}

const UNPROVABLE_VARIANTS = [['cloud', 'mall'], ['mall', 'bbs'], ['mall', 'cloud'], ['cloud', 'bbs']] as const;

/**
 * One person, two accounts in two sources, made after they changed number and mailbox: the
 * second carries only the new phone and email (and a password, no social id), so nothing
 * strong is shared and no rule-abiding engine can join them. Truth says one person; the
 * engine is expected to keep them apart (an inherent recall loss, documented here).
 */
function unprovable_same_person(s: Scene): void {
  const { rng } = s.w;
  const { id, n } = s.open('unprovable_same_person');
  const [firstSource, secondSource] = UNPROVABLE_VARIANTS[n % UNPROVABLE_VARIANTS.length]!;
  const p = s.person({ mainland: true, changed: true });
  const phone = p.phone2!;
  const email = p.email2!;
  const first = firstSource === 'cloud'
    ? cloudDraft(s.w, p, { phone: p.phone, phoneVerified: true, emailOnly: false })
    : mallDraft(s.w, p, { phone: p.phone, phoneVerified: true });
  const second = secondSource === 'cloud'
    ? cloudDraft(s.w, p, { phone, phoneVerified: true, email, emailVerified: rng.chance(0.5), password: true, social: false })
    : secondSource === 'mall'
      ? mallDraft(s.w, p, { phone, phoneVerified: true, email: rng.chance(0.5) ? email : null, emailVerified: true, social: false, noPhoneLogin: true })
      : bbsDraft(s.w, p, { email, emailVerified: true, phone: rng.chance(0.3) ? phone : null });
  const detail = `${e164(p.phone)} ${p.email} then ${e164(phone)} ${email}`;
  emitNoted(s, first, id, 'unprovable_same_person', 'first', detail);
  emitNoted(s, second, id, 'unprovable_same_person', 'second', detail);
  s.rest(p, [firstSource, secondSource]);
}

function shared_tv(s: Scene): void {
  const { rng } = s.w;
  const { id } = s.open('shared_tv');
  const first = s.person();
  const tv = makeDevice(s.w, first.since, 'tv');
  const members = [first];
  for (let size = rng.between(2, 4); members.length < size;) {
    const home = { place: first.place, address: first.address, landline: first.landline };
    members.push(s.person({ home, surname: rng.chance(0.6) ? first.surname : undefined }));
  }
  for (const m of members) {
    const d = cloudDraft(s.w, m, { devices: [tv, ...m.devices.filter(() => rng.chance(0.8))] });
    emitNoted(s, d, id, 'shared_tv', 'household_member', `mac ${tv.mac.toLowerCase()}, ${members.length} accounts`);
    s.rest(m, ['cloud']);
  }
}

function resold_tv(s: Scene): void {
  const { rng } = s.w;
  const { id } = s.open('resold_tv');
  const seller = s.person({ since: timeBetween(rng, chinaEpoch(2012, 1, 1), chinaEpoch(2016, 1, 1)) });
  const tv = makeDevice(s.w, seller.since, 'tv', chinaEpoch(2018, 6, 1));
  const buyer = s.person({ since: timeBetween(rng, chinaEpoch(2019, 1, 1), chinaEpoch(2023, 6, 1)) });
  const resold = { ...tv, activatedAt: timeBetween(rng, buyer.since, EXPORT_TIME - 86400) };
  const detail = `mac ${tv.mac.toLowerCase()}`;
  emitNoted(s, cloudDraft(s.w, seller, { devices: [tv, ...seller.devices], window: [seller.since, chinaEpoch(2019, 1, 1)] }), id, 'resold_tv', 'seller', detail);
  emitNoted(s, cloudDraft(s.w, buyer, { devices: [resold, ...buyer.devices] }), id, 'resold_tv', 'buyer', detail);
  s.rest(seller, ['cloud']);
  s.rest(buyer, ['cloud']);
}

const USERNAME_VARIANTS = ['same', 'upper', 'full-width'] as const;

function username_collision(s: Scene): void {
  const { id, n } = s.open('username_collision');
  const variant = USERNAME_VARIANTS[n % USERNAME_VARIANTS.length]!;
  const owner = s.person();
  const forum = bbsDraft(s.w, owner, { latinUsername: true });
  const name = variant === 'same' ? forum.username : variant === 'upper' ? forum.username.toUpperCase() : fullWidth(forum.username);
  const stranger = s.person();
  // Login names carry a number unique to (person, source kind): the copy cannot clash inside the mall.
  const shop = mallDraft(s.w, stranger, { loginName: name });
  emitNoted(s, forum, id, 'username_collision', 'bbs_owner', `${forum.username} (${variant})`);
  emitNoted(s, shop, id, 'username_collision', 'mall_owner', `${name} (${variant})`);
  s.rest(owner, ['bbs']);
  s.rest(stranger, ['mall']);
}

const BAIT_PHONE_SHAPES: readonly PhoneShape[] = ['dash86', 'plain', 'plus86Spaced', 'dashes', 'zero086', 'fullWidth'];

function pre_hijack_phone(s: Scene): void {
  const { rng } = s.w;
  const { id, n } = s.open('pre_hijack_phone');
  const victim = s.person({ mainland: true });
  const owned = cloudDraft(s.w, victim, { phone: victim.phone, phoneVerified: true, password: true });
  const attacker = s.person();
  const bait = mallDraft(s.w, attacker, {
    phone: victim.phone, phoneVerified: false, phoneShape: BAIT_PHONE_SHAPES[n % BAIT_PHONE_SHAPES.length]!,
    email: rng.chance(0.5) ? attacker.email : null, emailVerified: rng.chance(0.3), social: false,
  });
  const detail = `phone ${e164(victim.phone)} unverified on the attacker's mall account`;
  emitNoted(s, owned, id, 'pre_hijack_phone', 'victim', detail);
  emitNoted(s, bait, id, 'pre_hijack_phone', 'attacker', detail);
  s.rest(victim, ['cloud']);
  if (rng.chance(0.5)) s.rest(attacker, ['mall', 'bbs', 'crm']);
}

function pre_hijack_email(s: Scene): void {
  const { rng } = s.w;
  const { id, n } = s.open('pre_hijack_email');
  const victim = s.person();
  const inCloud = rng.chance(0.7);
  const owned = inCloud
    ? cloudDraft(s.w, victim, { email: victim.email, emailVerified: true, password: true })
    : bbsDraft(s.w, victim, { email: victim.email, emailVerified: true });
  const attacker = s.person();
  const at = victim.email.indexOf('@');
  const typed = [
    victim.email.toUpperCase(),
    `${victim.email[0]!.toUpperCase()}${victim.email.slice(1, at)}@${victim.email.slice(at + 1).toUpperCase()}`,
    ` ${victim.email}`,
    victim.email,
  ][n % 4]!;
  const bait = mallDraft(s.w, attacker, { email: typed, emailVerified: false, social: false });
  const detail = `email ${victim.email} unverified on the attacker's mall account`;
  emitNoted(s, owned, id, 'pre_hijack_email', 'victim', detail);
  emitNoted(s, bait, id, 'pre_hijack_email', 'attacker', detail);
  s.rest(victim, [inCloud ? 'cloud' : 'bbs']);
  if (rng.chance(0.5)) s.rest(attacker, ['mall', 'bbs', 'crm']);
}

function crm_typo(s: Scene): void {
  const { id } = s.open('crm_typo');
  const owner = s.person({ mainland: true });
  const typo: Phone = { country: '86', national: s.w.numbering.typoThatMisses(owner.phone.national, s.w.rng) };
  const d = crmDraft(s.w, owner, { phone: typo });
  emitNoted(s, d, id, 'crm_typo', 'typo_record', `typed ${typo.national} for ${owner.phone.national}`);
  s.rest(owner, ['crm']);
}

function crm_typo_hits_other(s: Scene): void {
  const { id } = s.open('crm_typo_hits_other');
  const owner = s.person({ mainland: true });
  const hit: Phone = { country: '86', national: s.w.numbering.typoThatHits(owner.phone.national) };
  const numberOwner = s.person({ phone: hit });
  const detail = `typed ${hit.national} for ${owner.phone.national}: ${numberOwner.id}'s verified number`;
  emitNoted(s, crmDraft(s.w, owner, { phone: hit }), id, 'crm_typo_hits_other', 'typo_record', detail);
  emitNoted(s, cloudDraft(s.w, numberOwner, { phone: hit, phoneVerified: true }), id, 'crm_typo_hits_other', 'number_owner', detail);
  s.rest(owner, ['crm']);
  s.rest(numberOwner, ['cloud']);
}

function mall_duplicate(s: Scene): void {
  const { rng } = s.w;
  const { id } = s.open('mall_duplicate');
  const p = s.person();
  const first = mallDraft(s.w, p, { phone: p.phone, phoneVerified: true });
  const second = mallDraft(s.w, p, { second: true, phone: p.phone, phoneVerified: false, phoneShape: rng.pick(['spaces', 'dashes', 'plus86Spaced'] as const), social: false });
  const detail = `${e164(p.phone)} verified on one, unverified on the other`;
  emitNoted(s, first, id, 'mall_duplicate', 'original', detail);
  emitNoted(s, second, id, 'mall_duplicate', 'duplicate', detail);
  s.rest(p, ['mall']);
}

function crm_duplicate(s: Scene): void {
  const { rng } = s.w;
  const { id } = s.open('crm_duplicate');
  const p = s.person();
  const detail = `${e164(p.phone)} entered twice`;
  emitNoted(s, crmDraft(s.w, p, { phone: p.phone }), id, 'crm_duplicate', 'original', detail);
  emitNoted(s, crmDraft(s.w, p, { phone: p.phone, name: rng.chance(0.5) ? '' : p.name }), id, 'crm_duplicate', 'duplicate', detail);
  s.rest(p, ['crm']);
}

const PLACEHOLDERS = [
  ['crm', 'phone', '13800138000'], ['mall', 'email', 'test@test.com'], ['crm', 'phone', '00000000000'],
  ['bbs', 'email', 'test@test.com'], ['mall', 'phone', '13800138000'], ['crm', 'email', 'test@test.com'],
  ['bbs', 'phone', '13800138000'], ['mall', 'phone', '00000000000'],
] as const;

function placeholder(s: Scene): void {
  const { id, n } = s.open('placeholder');
  const [source, field, value] = PLACEHOLDERS[n % PLACEHOLDERS.length]!;
  const p = s.person();
  const phone: Phone = { country: '86', national: value };
  const d = source === 'crm'
    ? crmDraft(s.w, p, field === 'phone' ? { phoneText: value } : { email: value })
    : source === 'bbs'
      ? bbsDraft(s.w, p, field === 'phone' ? { phone, phoneShape: 'plain' } : { email: value, emailVerified: false })
      : mallDraft(s.w, p, field === 'phone' ? { phone, phoneShape: 'plain', phoneVerified: false } : { email: value, emailVerified: false });
  emitNoted(s, d, id, 'placeholder', 'placeholder_record', `${field} ${value}`);
  s.rest(p, [source]);
}

function unionid_case(s: Scene): void {
  const { rng } = s.w;
  const { id } = s.open('unionid_case');
  const a = s.person({ unionid: 'always' });
  const b = s.person({ unionid: flipCase(a.unionid!, rng.between(1, 3), rng) });
  const detail = `${a.unionid} / ${b.unionid}`;
  for (const [p, role] of [[a, 'first'], [b, 'second']] as const) {
    const inCloud = rng.chance(0.5);
    const d = inCloud ? cloudDraft(s.w, p, { social: true }) : mallDraft(s.w, p, { social: true });
    emitNoted(s, d, id, 'unionid_case', role, detail);
    s.rest(p, [inCloud ? 'cloud' : 'mall']);
  }
}

/** Flips the case of `count` letters in the part after the app prefix (there is always one). */
function flipCase(unionid: string, count: number, rng: Scene['w']['rng']): string {
  const chars = [...unionid];
  const letters = chars.map((c, i) => (i >= 6 && /[A-Za-z]/.test(c) ? i : -1)).filter((i) => i >= 0);
  for (let k = 0; k < count && letters.length > 0; k++) {
    const i = letters.splice(rng.int(letters.length), 1)[0]!;
    const c = chars[i]!;
    chars[i] = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
  }
  return chars.join('');
}

function cloud_invalid_json(s: Scene): void {
  const { id, n } = s.open('cloud_invalid_json');
  const p = s.person();
  const d = cloudDraft(s.w, p);
  breakCloud(d, id, (['truncated', 'trailing_comma', 'bare_keys'] as const)[n % 3]!);
  s.emit(d);
  s.rest(p, ['cloud']);
}

function mall_bad_bcrypt(s: Scene): void {
  const { id, n } = s.open('mall_bad_bcrypt');
  const p = s.person();
  const d = mallDraft(s.w, p);
  breakMall(d, id, (['truncated', 'one_digit_cost', 'bad_character', 'no_prefix'] as const satisfies readonly BadBcrypt[])[n % 4]!);
  s.emit(d);
  s.rest(p, ['mall']);
}

function bbs_wrong_field_count(s: Scene): void {
  const { id, n } = s.open('bbs_wrong_field_count');
  const p = s.person();
  const d = bbsDraft(s.w, p);
  breakBbs(d, id, n % 2 === 0 ? 'extra' : 'missing');
  s.emit(d);
  s.rest(p, ['bbs']);
}

function crm_empty_id(s: Scene): void {
  const { id } = s.open('crm_empty_id');
  const p = s.person();
  const d = crmDraft(s.w, p);
  breakCrm(d, id);
  s.emit(d);
  s.rest(p, ['crm']);
}

function emitNoted<D extends DraftBase & Parameters<Scene['emit']>[0]>(s: Scene, d: D, trapId: string, kind: TrapKind, role: string, detail: string): void {
  note(d, trapId, kind, role, detail);
  s.emit(d);
}

