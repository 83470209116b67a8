import { readCsv } from './read-lines.ts';
import { chinaTime } from './times.ts';
import { evidenceBuilder } from '../evidence.ts';
import { reject, type LegacySource } from './source.ts';

/** crm: the service CRM. GB18030 CSV; staff-typed phones and emails, never verified; no login. */
export const crmSource: LegacySource = {
  name: 'crm',
  async *read(file, { placeholders, onBytes }) {
    for await (const row of readCsv(file, 'gb18030', onBytes, ['客户编号'])) {
      if (row.error !== undefined) { yield reject(row.line, null, row.error); continue; }
      const f = row.fields;
      const id = (f['客户编号'] ?? '').trim();
      if (!/^C\d{10}$/.test(id)) { yield reject(row.line, id || null, `客户编号 "${id}" is not C followed by 10 digits`); continue; }
      const ev = evidenceBuilder(placeholders);
      ev.phones(f['手机'], false);
      ev.email(f['邮箱'], false);
      const name = (f['姓名'] ?? '').trim();
      yield {
        ok: true,
        placeholders: ev.placeholders,
        record: {
          source: 'crm', sourceId: id, line: row.line, raw: f,
          evidence: ev.evidence,
          credential: null,
          profile: {
            // "X先生"/"X女士" is how staff note an unknown name: not a name.
            ...(name && !/^.(先生|女士|小姐)$/.test(name) ? { name } : {}),
            region: [f['省份'], f['城市']].filter(Boolean).join(' ') || undefined,
            address: f['地址'] || undefined,
            landline: f['固话'] || undefined,
            ...(ev.unparsed.length ? { unparsed: ev.unparsed } : {}),
          },
          devices: [],
          banned: false, points: null, level: null,
          createdAt: chinaTime(f['建档时间'] ?? ''),
          updatedAt: null,
        },
      };
    }
  },
};
