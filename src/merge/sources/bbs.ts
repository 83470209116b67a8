import { readCsv } from './read-lines.ts';
import { unixTime } from './times.ts';
import { evidenceBuilder } from '../evidence.ts';
import { legacyCredential } from './credential.ts';
import { reject, type LegacySource } from './source.ts';

/** bbs: the Discuz! forum. UTF-8 CSV (maybe with a BOM); email verified when emailstatus = 1. */
export const bbsSource: LegacySource = {
  name: 'bbs',
  async *read(file, { placeholders, onBytes }) {
    for await (const row of readCsv(file, 'utf-8', onBytes, ['uid'])) {
      if (row.error !== undefined) { yield reject(row.line, null, row.error); continue; }
      const f = row.fields;
      const id = (f.uid ?? '').trim();
      if (!/^\d+$/.test(id)) { yield reject(row.line, id || null, `uid "${id}" is not an integer`); continue; }
      if (!['0', '1'].includes((f.emailstatus ?? '').trim())) { yield reject(row.line, id, `emailstatus "${f.emailstatus}" is not 0 or 1`); continue; }
      const credential = legacyCredential('md5_md5_salt', f.password, f.salt);
      if (!credential.ok) { yield reject(row.line, id, credential.reason); continue; }
      const ev = evidenceBuilder(placeholders);
      ev.email(f.email, f.emailstatus?.trim() === '1');
      ev.phones(f.mobile, false);
      ev.username(f.username);
      yield {
        ok: true,
        placeholders: ev.placeholders,
        record: {
          source: 'bbs', sourceId: id, line: row.line, raw: f,
          evidence: ev.evidence,
          credential: credential.credential,
          profile: { nickname: f.username?.trim() || undefined, ...(ev.unparsed.length ? { unparsed: ev.unparsed } : {}) },
          devices: [],
          banned: f.status?.trim() === '-1',
          points: null, level: null,
          createdAt: unixTime(f.regdate ?? ''),
          updatedAt: unixTime(f.lastlogintime ?? ''),
        },
      };
    }
  },
};
