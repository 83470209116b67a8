import { readJsonLines } from './read-lines.ts';
import { isoTime } from './times.ts';
import { evidenceBuilder } from '../evidence.ts';
import { legacyCredential } from './credential.ts';
import { reject, type LegacySource } from './source.ts';
import type { LegacyDevice } from '../record.ts';

const DEVICE_TYPES = new Set<LegacyDevice['type']>(['tv', 'fridge', 'aircon', 'washer', 'other']);
const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);

/** cloud: the cloud account of TVs and appliances. JSON Lines; Django pbkdf2; devices by MAC. */
export const cloudSource: LegacySource = {
  name: 'cloud',
  async *read(file, { placeholders, onBytes }) {
    for await (const line of readJsonLines(file, onBytes)) {
      if (line.error !== undefined) { yield reject(line.line, null, line.error); continue; }
      const o = line.value as Record<string, unknown>;
      if (typeof o !== 'object' || o === null || Array.isArray(o)) { yield reject(line.line, null, 'line is not a JSON object'); continue; }
      const id = str(o.account_id);
      if (!id) { yield reject(line.line, null, 'account_id missing'); continue; }
      const credential = legacyCredential('pbkdf2_sha256', o.password);
      if (!credential.ok) { yield reject(line.line, id, credential.reason); continue; }
      if (o.devices !== undefined && o.devices !== null && !Array.isArray(o.devices)) { yield reject(line.line, id, 'devices is not a list'); continue; }
      const ev = evidenceBuilder(placeholders);
      if (str(o.phone)) ev.phones(o.phone, o.phone_verified === true);
      ev.email(o.email, o.email_verified === true);
      ev.social('wechat_unionid', o.wechat_unionid);
      const devices: LegacyDevice[] = [];
      const badMacs: string[] = [];
      for (const d of (o.devices ?? []) as Array<Record<string, unknown>>) {
        const mac = ev.mac(d?.mac);
        if (!mac) { badMacs.push(String(d?.mac)); continue; }
        const type = DEVICE_TYPES.has(d.type as LegacyDevice['type']) ? d.type as LegacyDevice['type'] : 'other';
        devices.push({ mac, type, model: str(d.model), serial: str(d.sn), activatedAt: isoTime(d.activated_at) });
      }
      if (badMacs.length) ev.unparsed.push(...badMacs.map((m) => `mac:${m}`));
      yield {
        ok: true,
        placeholders: ev.placeholders,
        record: {
          source: 'cloud', sourceId: id, line: line.line, raw: o,
          evidence: ev.evidence,
          credential: credential.credential,
          profile: { nickname: str(o.nickname) ?? undefined, ...(ev.unparsed.length ? { unparsed: ev.unparsed } : {}) },
          devices,
          banned: false, points: null, level: null,
          createdAt: isoTime(o.created_at),
          updatedAt: isoTime(o.updated_at),
        },
      };
    }
  },
};
