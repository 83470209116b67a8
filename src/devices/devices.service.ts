import { randomBytes } from 'node:crypto';
import type { Db, DbOrTx } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { Actor } from '../identity/account-settings.ts';

/** What a device says about itself (with a device authorization or an anonymous token request). */
export interface DeviceFacts {
  /** Normalised: 12 lower-case hex digits. */
  mac: string;
  type?: 'tv' | 'fridge' | 'aircon' | 'washer' | 'other' | undefined;
  model?: string | undefined;
  serial?: string | undefined;
  room?: string | undefined;
}

export interface DeviceRow {
  id: number;
  mac: string;
  type: string;
  model: string | null;
  serial: string | null;
  room: string | null;
  anonymous_subject: string | null;
  anonymous_account_id: string | null;
}

export type Devices = ReturnType<typeof createDevices>;

/**
 * TVs and appliances, known by MAC. A device is bound to every account that signed in on it
 * (a household); binding never merges accounts. Before anyone signs in, a device has an
 * anonymous subject for attributing its use; the first account to sign in on it claims it,
 * and the account keeps its own `sub`. A device reported resold loses every binding and
 * gets a fresh anonymous subject.
 */
export function createDevices({ db, clock }: { db: Db; clock: () => Date }) {
  /** Creates the device or refreshes what it says about itself (a reported model wins over none). */
  async function upsert(trx: DbOrTx, facts: DeviceFacts): Promise<DeviceRow> {
    const [row] = await trx('devices')
      .insert({ mac: facts.mac, type: facts.type ?? 'other', model: facts.model ?? null, serial: facts.serial ?? null, room: facts.room ?? null })
      .onConflict('mac').merge({
        model: trx.raw('coalesce(excluded.model, devices.model)'),
        serial: trx.raw('coalesce(excluded.serial, devices.serial)'),
        room: trx.raw('coalesce(excluded.room, devices.room)'),
        type: trx.raw("case when excluded.type = 'other' then devices.type else excluded.type end"),
        updated_at: trx.fn.now(),
      })
      .returning('*');
    return { ...row, id: Number(row.id) };
  }

  return {
    async find(mac: string): Promise<DeviceRow | undefined> {
      const row = await db('devices').where({ mac }).first();
      return row ? { ...row, id: Number(row.id) } : undefined;
    },

    /** The device's anonymous subject, created on first request: attribution before sign-in. */
    async anonymousSubject(facts: DeviceFacts, clientId: string): Promise<string> {
      return db.transaction(async (trx) => {
        const device = await upsert(trx, facts);
        if (device.anonymous_subject) return device.anonymous_subject;
        const subject = `anon_${randomBytes(16).toString('base64url')}`;
        await trx('devices').where({ id: device.id }).update({ anonymous_subject: subject });
        await recordAudit(trx, { actor: `client:${clientId}`, action: 'device.anonymous_created', subject: `device:${device.id}` });
        return subject;
      });
    },

    /**
     * Binds the device to the account someone just signed in with on it. The first account
     * claims the device's anonymous subject (audited as device.anonymous_claimed).
     */
    async bind(facts: DeviceFacts, accountId: string, by: Actor & { clientId?: string }): Promise<{ bound: boolean; claimedAnonymous: string | undefined }> {
      return db.transaction(async (trx) => {
        const device = await upsert(trx, facts);
        const inserted = await trx('device_bindings').insert({ device_id: device.id, account_id: accountId, source: 'device_flow' })
          .onConflict(['device_id', 'account_id']).ignore().returning('device_id');
        const bound = inserted.length > 0;
        if (bound) {
          await recordAudit(trx, { ...by, action: 'device.bound', subject: accountId, detail: { device: device.id, model: device.model, client: by.clientId } });
        }
        let claimedAnonymous: string | undefined;
        if (device.anonymous_subject && !device.anonymous_account_id) {
          await trx('devices').where({ id: device.id }).update({ anonymous_account_id: accountId, anonymous_claimed_at: clock() });
          await recordAudit(trx, { ...by, action: 'device.anonymous_claimed', subject: accountId, detail: { device: device.id, anonymous_subject: device.anonymous_subject } });
          claimedAnonymous = device.anonymous_subject;
        }
        return { bound, claimedAnonymous };
      });
    },

    /** A device sold on: unbound from everyone, and a new anonymous subject for its next owner. */
    async reportResold(mac: string, by: Actor): Promise<{ unbound: number }> {
      return db.transaction(async (trx) => {
        const device = await trx('devices').where({ mac }).forUpdate().first('id');
        if (!device) throw new AppError('account.device_not_found', { detail: `no device ${mac}` });
        const unbound = await trx('device_bindings').where({ device_id: device.id }).delete();
        await trx('devices').where({ id: device.id }).update({ anonymous_subject: null, anonymous_account_id: null, anonymous_claimed_at: null, room: null, updated_at: trx.fn.now() });
        await recordAudit(trx, { ...by, action: 'device.resold', subject: `device:${device.id}`, detail: { unbound } });
        return { unbound };
      });
    },

    async bindings(mac: string): Promise<Array<{ accountId: string; boundAt: Date; source: string }>> {
      const rows = await db('device_bindings as b').join('devices as d', 'd.id', 'b.device_id').where('d.mac', mac).orderBy('b.bound_at')
        .select('b.account_id', 'b.bound_at', 'b.source');
      return rows.map((r) => ({ accountId: r.account_id, boundAt: new Date(r.bound_at), source: r.source }));
    },
  };
}
