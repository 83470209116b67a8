import { execFileSync } from 'node:child_process';
import { createHash, pbkdf2Sync } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import bcrypt from 'bcryptjs';
import { projectRoot } from '../../src/paths.ts';
import { TRAP_KINDS } from '../../src/merge/generator/traps.ts';

/** The synthetic-data generator: its files must follow legacy-sources.md and its truth must hold. */

const PEOPLE = 300;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'chucs-gen-'));
const dirA = path.join(tmp, 'a');
const dirB = path.join(tmp, 'b');
const dirOtherSeed = path.join(tmp, 'c');

function generate(out: string, seed: number): string {
  return execFileSync(process.execPath, ['scripts/generate-legacy.ts', '--people', String(PEOPLE), '--seed', String(seed), '--out', out], {
    cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** RFC 4180 rows (quoted fields with commas, quotes and line breaks; CRLF or LF), with each row's first line. */
function parseCsv(text: string): Array<{ line: number; fields: string[] }> {
  const rows: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false;
      else { field += c; if (c === '\n') line++; }
    } else if (c === '"') quoted = true;
    else if (c === ',') { fields.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') continue;
    else if (c === '\n') {
      fields.push(field);
      rows.push({ line: start, fields });
      fields = [];
      field = '';
      start = ++line;
    } else field += c;
  }
  if (field !== '' || fields.length > 0) { fields.push(field); rows.push({ line: start, fields }); }
  return rows;
}

const read = (dir: string, file: string) => readFileSync(path.join(dir, file));
const table = (dir: string, file: string) => {
  const [header, ...rows] = parseCsv(read(dir, file).toString('utf8'));
  return rows.map((r) => Object.fromEntries(header!.fields.map((h, i) => [h, r.fields[i] ?? ''])));
};

interface TruthRow { source: string; source_id: string; person_id: string; expect: string; reason: string; line: string }
let truth: TruthRow[];
let notes: Array<Record<string, string>>;

beforeAll(() => {
  generate(dirA, 7);
  generate(dirB, 7);
  generate(dirOtherSeed, 8);
  truth = table(dirA, 'truth.csv') as unknown as TruthRow[];
  notes = table(dirA, 'truth-notes.csv');
}, 60_000);

test('the same seed gives the same files, byte for byte; another seed does not', () => {
  const files = readdirSync(dirA).filter((f) => f !== 'summary.json').sort();
  expect(files).toEqual(['bbs.csv', 'cloud.jsonl', 'crm.csv', 'mall.csv', 'passwords.csv', 'truth-notes.csv', 'truth.csv']);
  for (const f of files) expect(read(dirB, f).equals(read(dirA, f))).toBe(true);
  expect(read(dirOtherSeed, 'mall.csv').equals(read(dirA, 'mall.csv'))).toBe(false);
  const summary = (dir: string) => ({ ...JSON.parse(read(dir, 'summary.json').toString('utf8')), elapsedMs: 0 });
  expect(summary(dirB)).toEqual(summary(dirA));
});

test('crm is GB18030 with CRLF line ends and the Chinese header', () => {
  const bytes = read(dirA, 'crm.csv');
  const text = iconv.decode(bytes, 'gb18030');
  expect(text).not.toContain('\uFFFD');
  expect(iconv.encode(text, 'gb18030').equals(bytes)).toBe(true);
  // Not UTF-8: the Chinese header would read differently.
  expect(bytes.toString('utf8').startsWith('客户编号')).toBe(false);
  expect(text.startsWith('客户编号,姓名,手机,固话,邮箱,省份,城市,地址,购买产品,产品序列号,建档时间\r\n')).toBe(true);
  const rows = parseCsv(text);
  // Every row ends in CRLF; a bare LF only appears inside a quoted address.
  expect(text.split('\r\n').length - 1).toBe(rows.length);
  expect(rows.every((r) => r.fields.length === 11)).toBe(true);
  expect(rows.some((r) => r.fields[7]!.includes('\n'))).toBe(true);
  // Characters outside GBK (4 bytes in GB18030) survive the round trip.
  expect(/[\u{20000}-\u{2FFFF}\u3400-\u4DBF]/u.test(text)).toBe(true);
});

test('bbs starts with the UTF-8 BOM and uses LF; mall has the header of legacy-sources.md', () => {
  const bbs = read(dirA, 'bbs.csv');
  expect([...bbs.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  expect(bbs.toString('utf8').slice(1).startsWith('uid,username,email,password,salt,emailstatus,mobile,regip,regdate,lastlogintime,status\n')).toBe(true);
  expect(bbs.includes('\r')).toBe(false);
  const mall = read(dirA, 'mall.csv').toString('utf8');
  expect(mall.split('\n')[0]).toBe('member_id,login_name,mobile,mobile_verified,email,email_verified,password_hash,nickname,real_name,gender,birthday,wechat_unionid,qq_openid,weibo_uid,points,level,created_at,last_login_at');
});

test('every cloud line is JSON except the lines truth.csv marks rejected', () => {
  const rejected = new Set(truth.filter((t) => t.source === 'cloud' && t.expect === 'rejected').map((t) => Number(t.line)));
  expect(rejected.size).toBeGreaterThan(0);
  const lines = read(dirA, 'cloud.jsonl').toString('utf8').split('\n');
  expect(lines.pop()).toBe('');
  lines.forEach((text, i) => {
    let parsed: unknown = null;
    try { parsed = JSON.parse(text); } catch { /* checked below */ }
    if (rejected.has(i + 1)) expect(parsed).toBeNull();
    else expect(Object.keys(parsed as object)).toEqual([
      'account_id', 'phone', 'phone_verified', 'email', 'email_verified', 'password', 'nickname', 'wechat_unionid', 'devices', 'created_at', 'updated_at',
    ]);
  });
});

/** Each source's rows as [id, line, fields], straight from the files. */
type Rows = Array<{ id: string; line: number; row: Record<string, string> }>;
function sourceRows(): { crm: Rows; bbs: Rows; cloud: Rows; mall: Rows } {
  const csv = (text: string, key: string): Rows => {
    const [header, ...rows] = parseCsv(text);
    return rows.map((r) => {
      const row = Object.fromEntries(header!.fields.map((h, i) => [h.replace(/^\uFEFF/, ''), r.fields[i] ?? '']));
      return { id: row[key]!, line: r.line, row };
    });
  };
  const cloud = read(dirA, 'cloud.jsonl').toString('utf8').split('\n').slice(0, -1).map((text, i) => {
    const id = /"account_id":"(u_[0-9a-f]{8})"|account_id:"(u_[0-9a-f]{8})"/.exec(text);
    let row: Record<string, string> = {};
    try { row = JSON.parse(text) as Record<string, string>; } catch { /* a rejected line */ }
    return { id: id?.[1] ?? id?.[2] ?? '', line: i + 1, row };
  });
  return {
    crm: csv(iconv.decode(read(dirA, 'crm.csv'), 'gb18030'), '客户编号'),
    bbs: csv(read(dirA, 'bbs.csv').toString('utf8'), 'uid'),
    cloud,
    mall: csv(read(dirA, 'mall.csv').toString('utf8'), 'member_id'),
  };
}

test('every record is in truth.csv, at its line, and only the marked rows are malformed', () => {
  const rows = sourceRows();
  const byKey = new Map(truth.map((t) => [`${t.source}@${t.line}`, t]));
  let total = 0;
  for (const [source, list] of Object.entries(rows)) {
    total += list.length;
    for (const { id, line, row } of list) {
      const t = byKey.get(`${source}@${line}`);
      expect(t).toBeDefined();
      expect(t!.source_id).toBe(id);
      expect(t!.person_id).toMatch(/^P\d{7}$/);
      if (t!.expect === 'rejected') {
        expect(t!.reason).not.toBe('');
        continue;
      }
      expect(t!.expect).toBe('imported');
      if (source === 'crm') expect(id).toMatch(/^C\d{10}$/);
      if (source === 'bbs') expect(Object.keys(row)).toHaveLength(11);
      if (source === 'mall') expect(row.password_hash).toMatch(/^\$2[ay]\$\d\d\$[./A-Za-z0-9]{53}$/);
    }
  }
  expect(truth).toHaveLength(total);
  const rejected = truth.filter((t) => t.expect === 'rejected');
  expect(new Set(rejected.map((t) => t.source))).toEqual(new Set(['crm', 'bbs', 'cloud', 'mall']));
  expect(rejected.find((t) => t.source === 'crm')!.source_id).toBe('');
});

test('every password row verifies against its record\'s hash, and every credentialed record has one', () => {
  const rows = sourceRows();
  const index = new Map(Object.entries(rows).flatMap(([s, list]) => list.map((r) => [`${s}:${r.id}`, r.row] as const)));
  const passwords = table(dirA, 'passwords.csv');
  const rejected = new Set(truth.filter((t) => t.expect === 'rejected').map((t) => `${t.source}:${t.source_id}`));
  const hashed = [...index.entries()].filter(([k, r]) => !rejected.has(k) && (r.password || r.password_hash)).map(([k]) => k);
  expect(passwords.map((p) => `${p.source}:${p.source_id}`).sort()).toEqual(hashed.sort());
  const seen = new Set<string>();
  for (const p of passwords) {
    const row = index.get(`${p.source}:${p.source_id}`)!;
    const plain = p.password!;
    seen.add(plain);
    if (p.source === 'bbs') {
      const inner = createHash('md5').update(plain, 'utf8').digest('hex');
      expect(createHash('md5').update(inner + row.salt, 'utf8').digest('hex')).toBe(row.password);
      expect(p.login_identifier).toBe(row.username);
    } else if (p.source === 'cloud') {
      const [algorithm, iterations, salt, key] = row.password!.split('$');
      expect(algorithm).toBe('pbkdf2_sha256');
      expect(pbkdf2Sync(plain, salt!, Number(iterations), 32, 'sha256').toString('base64')).toBe(key);
      expect(p.login_identifier).toBe(row.phone ?? (row.email as string).trim());
    } else {
      expect(bcrypt.compareSync(plain, row.password_hash!)).toBe(true);
      expect(p.login_identifier).toBe(row.login_name);
    }
  }
  expect([...seen].some((s) => /[^\x00-\x7f]/.test(s))).toBe(true);
  expect([...seen].some((s) => s.includes(' '))).toBe(true);
  expect(rows.cloud.some((r) => r.row.account_id && r.row.password === null)).toBe(true);
});

test('every trap kind occurs, and the notes tell the truth they claim', () => {
  const summary = JSON.parse(read(dirA, 'summary.json').toString('utf8'));
  for (const kind of TRAP_KINDS) {
    expect(summary.traps[kind].instances).toBeGreaterThanOrEqual(1);
    expect(notes.some((n) => n.kind === kind)).toBe(true);
  }
  const byTrap = new Map<string, Array<Record<string, string>>>();
  for (const n of notes) byTrap.set(n.trap_id!, [...(byTrap.get(n.trap_id!) ?? []), n]);
  const people = (members: Array<Record<string, string>>, role?: string) =>
    new Set(members.filter((m) => !role || m.role === role).map((m) => m.person_id));
  for (const members of byTrap.values()) {
    const kind = members[0]!.kind;
    switch (kind) {
      // Two people, never one: merging them would be wrong.
      case 'recycled_phone': case 'resold_tv': case 'username_collision': case 'pre_hijack_phone':
      case 'pre_hijack_email': case 'unionid_case': case 'crm_typo_hits_other': case 'shared_tv':
        expect(members.length).toBeGreaterThanOrEqual(2);
        expect(people(members).size).toBe(members.length);
        break;
      // One person twice: the truth joins what the evidence cannot.
      case 'mall_duplicate': case 'crm_duplicate': case 'unprovable_same_person':
        expect(members).toHaveLength(2);
        expect(people(members).size).toBe(1);
        break;
      default:
        expect(members).toHaveLength(1);
    }
  }
  const rejectedNotes = notes.filter((n) => n.role === 'rejected').map((n) => `${n.source}@${n.line}`).sort();
  expect(rejectedNotes).toEqual(truth.filter((t) => t.expect === 'rejected').map((t) => `${t.source}@${t.line}`).sort());
  // The attackers' bait rows hold the victim's phone or email but are not verified there.
  const mall = new Map(sourceRows().mall.map((r) => [r.id, r.row]));
  for (const n of notes.filter((x) => x.role === 'attacker')) {
    const row = mall.get(n.source_id!)!;
    expect(n.source).toBe('mall');
    expect(n.kind === 'pre_hijack_phone' ? row.mobile_verified : row.email_verified).toBe('N');
    expect(row.password_hash).toMatch(/^\$2/);
  }
});

/** A row's identity evidence, roughly normalised (enough to compare values inside these files). */
interface Evidence { phones: Map<string, boolean>; emails: Map<string, boolean>; social: Set<string>; password: boolean }
const digits = (text: string) => text.replace(/[\uFF10-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\D/g, '');
const phoneKey = (text: string) => {
  const d = digits(text);
  return d.startsWith('0086') ? d.slice(4) : d.startsWith('86') && d.length === 13 ? d.slice(2) : d;
};
function evidence(source: string, row: Record<string, unknown>): Evidence {
  const e: Evidence = { phones: new Map(), emails: new Map(), social: new Set(), password: false };
  const str = (k: string) => (typeof row[k] === 'string' ? (row[k] as string) : '');
  const add = (map: Map<string, boolean>, value: string, verified: boolean, key: (v: string) => string) => {
    if (value.trim()) map.set(key(value), verified || (map.get(key(value)) ?? false));
  };
  const mail = (v: string) => v.trim().toLowerCase();
  if (source === 'cloud') {
    add(e.phones, str('phone'), row.phone_verified === true, phoneKey);
    add(e.emails, str('email'), row.email_verified === true, mail);
    if (str('wechat_unionid')) e.social.add(`wx:${str('wechat_unionid')}`);
    e.password = row.password !== null;
  } else if (source === 'mall') {
    add(e.phones, str('mobile'), str('mobile_verified') === 'Y', phoneKey);
    add(e.emails, str('email'), str('email_verified') === 'Y', mail);
    for (const k of ['wechat_unionid', 'qq_openid', 'weibo_uid']) if (str(k)) e.social.add(`${k}:${str(k)}`);
    e.password = str('password_hash') !== '';
  } else if (source === 'bbs') {
    add(e.phones, str('mobile'), false, phoneKey);
    add(e.emails, str('email'), str('emailstatus') === '1', mail);
    e.password = str('password') !== '';
  } else {
    for (const part of str('手机').split(/[/;；,]/)) add(e.phones, part, false, phoneKey);
    add(e.emails, str('邮箱'), false, mail);
  }
  return e;
}

test('traps that the contract must detect or cannot prove carry exactly that evidence', () => {
  const rows = sourceRows();
  const row = (source: string, id: string) => (rows as Record<string, Rows>)[source]!.find((r) => r.id === id)!.row;
  const byTrap = new Map<string, Array<Record<string, string>>>();
  for (const n of notes) byTrap.set(n.trap_id!, [...(byTrap.get(n.trap_id!) ?? []), n]);
  const variants = new Set<string>();
  for (const members of byTrap.values()) {
    const kind = members[0]!.kind;
    if (kind === 'recycled_phone') {
      // Both owners verify the number; across sources both carry their own unionid (a contradiction).
      const [a, b] = members.map((m) => ({ source: m.source!, e: evidence(m.source!, row(m.source!, m.source_id!)) }));
      const shared = [...a!.e.phones].filter(([k, v]) => v && b!.e.phones.get(k) === true);
      expect(shared).toHaveLength(1);
      const cross = a!.source !== b!.source;
      variants.add(cross ? 'cross' : 'same');
      expect(members[0]!.detail).toContain(cross ? 'cross source' : 'same source');
      if (cross) {
        const unionids = [a!, b!].map((x) => [...x.e.social].find((v) => v.startsWith('wx:') || v.startsWith('wechat_unionid:'))?.split(':')[1]);
        expect(unionids.every((u) => u)).toBe(true);
        expect(unionids[0]).not.toBe(unionids[1]);
      }
    }
    if (kind === 'unprovable_same_person') {
      // Another source, a password, no social id, and no phone, email or id in common with the first.
      const first = members.find((m) => m.role === 'first')!;
      const second = members.find((m) => m.role === 'second')!;
      expect(second.source).not.toBe(first.source);
      const a = evidence(first.source!, row(first.source!, first.source_id!));
      const b = evidence(second.source!, row(second.source!, second.source_id!));
      expect(b.password).toBe(true);
      expect(b.social.size).toBe(0);
      expect([...a.phones.values()]).toContain(true);
      expect([...b.phones.values(), ...b.emails.values()]).toContain(true);
      for (const k of b.phones.keys()) expect(a.phones.has(k)).toBe(false);
      for (const k of b.emails.keys()) expect(a.emails.has(k)).toBe(false);
    }
  }
  expect(variants).toEqual(new Set(['cross', 'same']));
});

test('ordinary people are provable: their cloud, mall and forum records verify what joins them', () => {
  const rows = sourceRows();
  const trapped = new Set(notes.map((n) => n.person_id));
  const byPerson = new Map<string, Array<{ source: string; e: Evidence }>>();
  const rejected = new Set(truth.filter((t) => t.expect === 'rejected').map((t) => `${t.source}@${t.line}`));
  const personAt = new Map(truth.map((t) => [`${t.source}@${t.line}`, t.person_id]));
  for (const [source, list] of Object.entries(rows)) {
    for (const r of list) {
      const key = `${source}@${r.line}`;
      const person = personAt.get(key)!;
      if (rejected.has(key) || trapped.has(person)) continue;
      byPerson.set(person, [...(byPerson.get(person) ?? []), { source, e: evidence(source, r.row) }]);
    }
  }
  const all = [...byPerson.values()].flat();
  const share = (source: string, ok: (e: Evidence) => boolean, has: (e: Evidence) => boolean = () => true) => {
    const of = all.filter((x) => x.source === source && has(x.e));
    return of.filter((x) => ok(x.e)).length / of.length;
  };
  const verifiedPhone = (e: Evidence) => [...e.phones.values()].some(Boolean);
  const verifiedEmail = (e: Evidence) => [...e.emails.values()].some(Boolean);
  expect(share('cloud', verifiedPhone, (e) => e.phones.size > 0)).toBeGreaterThan(0.98);
  expect(share('mall', verifiedPhone, (e) => e.phones.size > 0)).toBeGreaterThan(0.95);
  expect(share('bbs', verifiedEmail)).toBeGreaterThan(0.9);
  expect(share('crm', (e) => e.phones.size > 0)).toBeGreaterThan(0.95);
  expect(share('crm', (e) => !verifiedPhone(e) && !verifiedEmail(e))).toBe(1);
  // A forum account always has a cloud or mall record beside it that verifies an email; mostly the forum's.
  let forum = 0;
  let proven = 0;
  for (const records of byPerson.values()) {
    const bbs = records.find((x) => x.source === 'bbs');
    const others = records.filter((x) => x.source === 'cloud' || x.source === 'mall');
    if (!bbs || others.length === 0) continue;
    forum++;
    expect(others.some((x) => verifiedEmail(x.e))).toBe(true);
    if (others.some((x) => [...bbs.e.emails.keys()].some((k) => x.e.emails.get(k) === true))) proven++;
  }
  expect(forum).toBeGreaterThan(50);
  expect(proven / forum).toBeGreaterThan(0.95);
});
