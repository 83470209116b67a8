import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { readCsv, readJsonLines } from './read-lines.ts';
import { chinaTime, unixTime, isoTime, calendarDate } from './times.ts';
import { evidenceBuilder } from '../evidence.ts';
import { legacyCredential } from './credential.ts';
import { reject, type LegacySource } from './source.ts';
import { parseAlgorithmName } from '../../identity/legacy-hashers.ts';
import type { LegacyProfile, ReadResult } from '../record.ts';

/**
 * Any other user center, described by a mapping file (JSON): which field is the key, which
 * fields carry which evidence and how their verified flag reads, the profile fields, and
 * the password field with its algorithm. Fields of JSON Lines may be dotted paths.
 */
const field = z.string().min(1);
const flag = z.union([z.boolean(), z.object({ field, equals: z.array(z.string()).min(1) })]);
const time = z.object({ field, format: z.enum(['iso', 'china', 'unix']) });

export const mappingSchema = z.object({
  source: z.string().regex(/^[a-z][a-z0-9_-]*$/, 'lower-case letters, digits, - and _').refine((s) => !['crm', 'bbs', 'cloud', 'mall'].includes(s), 'built-in sources need no mapping'),
  format: z.enum(['csv', 'jsonl']),
  encoding: z.string().default('utf-8'),
  key: field,
  evidence: z.object({
    phone: z.object({ field, verified: flag }).optional(),
    email: z.object({ field, verified: flag }).optional(),
    wechat_unionid: z.object({ field }).optional(),
    qq_openid: z.object({ field }).optional(),
    weibo_uid: z.object({ field }).optional(),
    username: z.object({ field }).optional(),
    mac: z.object({ field }).optional(),
  }).default({}),
  profile: z.object({
    name: field.optional(), nickname: field.optional(), birthdate: field.optional(), region: field.optional(),
    gender: z.object({ field, map: z.record(z.string(), z.enum(['male', 'female', 'unknown'])) }).optional(),
  }).default({}),
  password: z.object({ field, algorithm: z.string(), salt: field.optional() }).optional(),
  createdAt: time.optional(),
  updatedAt: time.optional(),
  banned: z.object({ field, equals: z.array(z.string()).min(1) }).optional(),
});

export type Mapping = z.infer<typeof mappingSchema>;

/** A field: a column named exactly so (a CSV header may hold dots), else a dotted path into JSON. */
function get(row: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(row, path)) return row[path];
  return path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), row);
}
const text = (v: unknown) => (v === null || v === undefined ? '' : String(v).trim());
const readFlag = (row: Record<string, unknown>, f: z.infer<typeof flag>) => (typeof f === 'boolean' ? f : f.equals.includes(text(get(row, f.field))));
const readTime = (row: Record<string, unknown>, t?: z.infer<typeof time>) => {
  if (!t) return null;
  const v = text(get(row, t.field));
  return t.format === 'unix' ? unixTime(v) : t.format === 'china' ? chinaTime(v) : isoTime(v);
};

export function mappingSource(m: Mapping): LegacySource {
  const algorithm = m.password ? parseAlgorithmName(m.password.algorithm) : null;
  function toRecord(line: number, row: Record<string, unknown>, placeholders: Parameters<LegacySource['read']>[1]['placeholders']): ReadResult & { placeholders?: string[] } {
    const id = text(get(row, m.key));
    if (!id) return reject(line, null, `${m.key} missing`);
    let credential = null;
    if (m.password && algorithm) {
      const checked = legacyCredential(algorithm, get(row, m.password.field), m.password.salt ? text(get(row, m.password.salt)) : undefined);
      if (!checked.ok) return reject(line, id, checked.reason);
      credential = checked.credential;
    }
    const ev = evidenceBuilder(placeholders);
    const e = m.evidence;
    if (e.phone) ev.phones(get(row, e.phone.field), readFlag(row, e.phone.verified));
    if (e.email) ev.email(get(row, e.email.field), readFlag(row, e.email.verified));
    for (const kind of ['wechat_unionid', 'qq_openid', 'weibo_uid'] as const) if (e[kind]) ev.social(kind, get(row, e[kind]!.field));
    if (e.username) ev.username(get(row, e.username.field));
    if (e.mac) ev.mac(get(row, e.mac.field));
    const p = m.profile;
    const profile: LegacyProfile = {
      ...(p.name && text(get(row, p.name)) ? { name: text(get(row, p.name)) } : {}),
      ...(p.nickname && text(get(row, p.nickname)) ? { nickname: text(get(row, p.nickname)) } : {}),
      ...(p.region && text(get(row, p.region)) ? { region: text(get(row, p.region)) } : {}),
      ...(p.birthdate && calendarDate(text(get(row, p.birthdate))) ? { birthdate: calendarDate(text(get(row, p.birthdate)))! } : {}),
      ...(p.gender && p.gender.map[text(get(row, p.gender.field))] ? { gender: p.gender.map[text(get(row, p.gender.field))] } : {}),
      ...(ev.unparsed.length ? { unparsed: ev.unparsed } : {}),
    };
    return {
      ok: true, placeholders: ev.placeholders,
      record: {
        source: m.source, sourceId: id, line, raw: row, evidence: ev.evidence, credential, profile,
        devices: ev.evidence.filter((x) => x.kind === 'mac').map((x) => ({ mac: x.value, type: 'other' as const, model: null, serial: null, activatedAt: null })),
        banned: m.banned ? m.banned.equals.includes(text(get(row, m.banned.field))) : false,
        points: null, level: null, createdAt: readTime(row, m.createdAt), updatedAt: readTime(row, m.updatedAt),
      },
    };
  }
  return {
    name: m.source,
    async *read(file, { placeholders, onBytes }) {
      if (m.format === 'csv') {
        for await (const row of readCsv(file, m.encoding, onBytes, [m.key])) {
          yield row.error !== undefined ? reject(row.line, null, row.error) : toRecord(row.line, row.fields, placeholders);
        }
      } else {
        for await (const line of readJsonLines(file, onBytes)) {
          if (line.error !== undefined) { yield reject(line.line, null, line.error); continue; }
          if (typeof line.value !== 'object' || line.value === null || Array.isArray(line.value)) { yield reject(line.line, null, 'line is not a JSON object'); continue; }
          yield toRecord(line.line, line.value as Record<string, unknown>, placeholders);
        }
      }
    },
  };
}

export class MappingError extends Error {
  override name = 'MappingError';
}

/** Reads and checks a mapping file; the error names the bad key. */
export function loadMappingSource(file: string): LegacySource {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new MappingError(`mapping file ${file}: ${(err as Error).message}`);
  }
  const parsed = mappingSchema.safeParse(json);
  if (!parsed.success) {
    throw new MappingError(`mapping file ${file}:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  try {
    if (parsed.data.password) parseAlgorithmName(parsed.data.password.algorithm);
  } catch (err) {
    throw new MappingError(`mapping file ${file}: password.algorithm: ${(err as Error).message}`);
  }
  return mappingSource(parsed.data);
}
