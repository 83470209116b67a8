import { readCsv } from './read-lines.ts';
import { calendarDate, chinaTime } from './times.ts';
import { evidenceBuilder } from '../evidence.ts';
import { legacyCredential } from './credential.ts';
import { reject, type LegacySource } from './source.ts';
import type { LegacyProfile } from '../record.ts';

const GENDER: Record<string, LegacyProfile['gender']> = { M: 'male', F: 'female', U: 'unknown' };
const YES_NO = new Set(['Y', 'N']);

/** mall: the online store. UTF-8 CSV; phone and email verified when flagged Y; bcrypt. */
export const mallSource: LegacySource = {
  name: 'mall',
  async *read(file, { placeholders, onBytes }) {
    for await (const row of readCsv(file, 'utf-8', onBytes, ['member_id'])) {
      if (row.error !== undefined) { yield reject(row.line, null, row.error); continue; }
      const f = row.fields;
      const id = (f.member_id ?? '').trim();
      if (!/^\d+$/.test(id)) { yield reject(row.line, id || null, `member_id "${id}" is not an integer`); continue; }
      const flags = [f.mobile_verified, f.email_verified].map((v) => (v ?? '').trim());
      if (!flags.every((v) => YES_NO.has(v))) { yield reject(row.line, id, `verified flags must be Y or N, found ${flags.join('/')}`); continue; }
      const points = (f.points ?? '').trim();
      if (points && !/^-?\d+$/.test(points)) { yield reject(row.line, id, `points "${points}" is not an integer`); continue; }
      const credential = legacyCredential('bcrypt', f.password_hash);
      if (!credential.ok) { yield reject(row.line, id, credential.reason); continue; }
      const ev = evidenceBuilder(placeholders);
      ev.phones(f.mobile, flags[0] === 'Y');
      ev.email(f.email, flags[1] === 'Y');
      ev.social('wechat_unionid', f.wechat_unionid);
      ev.social('qq_openid', f.qq_openid);
      ev.social('weibo_uid', f.weibo_uid);
      ev.username(f.login_name);
      yield {
        ok: true,
        placeholders: ev.placeholders,
        record: {
          source: 'mall', sourceId: id, line: row.line, raw: f,
          evidence: ev.evidence,
          credential: credential.credential,
          profile: {
            name: f.real_name?.trim() || undefined,
            nickname: f.nickname?.trim() || undefined,
            gender: GENDER[(f.gender ?? '').trim()],
            birthdate: calendarDate(f.birthday ?? '') ?? undefined,
            ...(ev.unparsed.length ? { unparsed: ev.unparsed } : {}),
          },
          devices: [],
          banned: false,
          points: points ? Number(points) : null,
          level: f.level?.trim() || null,
          createdAt: chinaTime(f.created_at ?? ''),
          updatedAt: chinaTime(f.last_login_at ?? ''),
        },
      };
    }
  },
};
