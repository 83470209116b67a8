import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db, DbOrTx } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { emitEvent } from '../events/outbox.ts';
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
  secret_hash: string | null;
}

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('base64url');

/** What a request proves about a device secret, kept instead of the secret (e.g. with a device code). */
export const deviceProofOf = (secret: string | undefined) => (secret ? hashSecret(secret) : undefined);

/** Whether `secret` is the device's; a device that never got one has nothing to prove. */
export function deviceProven(device: Pick<DeviceRow, 'secret_hash'> | undefined, secret: string | undefined): 'proven' | 'unproven' | 'wrong' {
  return proofMatches(device, deviceProofOf(secret));
}

/** The same, from a proof (deviceProofOf) rather than the secret. */
export function proofMatches(device: Pick<DeviceRow, 'secret_hash'> | undefined, proof: string | undefined): 'proven' | 'unproven' | 'wrong' {
  if (!device?.secret_hash) return 'unproven';
  if (!proof) return 'wrong';
  const given = Buffer.from(proof);
  const expected = Buffer.from(device.secret_hash);
  return given.length === expected.length && timingSafeEqual(given, expected) ? 'proven' : 'wrong';
}

/** Unbinding takes back what the device got through that binding: its grant and every token. */
async function revokeBindingGrants(trx: DbOrTx, grantIds: Array<string | null>): Promise<void> {
  const ids = grantIds.filter((g): g is string => g !== null);
  if (ids.length === 0) return;
  await trx('oidc_models').whereIn('grant_id', ids).delete();
  await trx('oidc_models').where({ model: 'Grant' }).whereIn('id', ids).delete();
}
export { revokeBindingGrants };

export type Devices = ReturnType<typeof createDevices>;

/**
 * TVs and appliances, known by MAC. A device is bound to every account that signed in on it
 * (a household); binding never merges accounts. Before anyone signs in, a device has an
 * anonymous subject for attributing its use; the first account to sign in on it claims it,
 * and the account keeps its own `sub`. A device reported resold loses every binding and
 * gets a fresh anonymous subject.
 */
export function createDevices({ db, clock }: { db: Db; clock: () => Date }) {
  /**
   * Creates the device, or refreshes what it says about itself when it proved it is that
   * device (a request naming someone else's MAC must not relabel their TV).
   */
  async function upsert(trx: DbOrTx, facts: DeviceFacts, proven: boolean): Promise<DeviceRow> {
    const q = trx('devices')
      .insert({ mac: facts.mac, type: facts.type ?? 'other', model: facts.model ?? null, serial: facts.serial ?? null, room: facts.room ?? null })
      .onConflict('mac');
    const [row] = proven
      ? await q.merge({
        model: trx.raw('coalesce(excluded.model, devices.model)'),
        serial: trx.raw('coalesce(excluded.serial, devices.serial)'),
        room: trx.raw('coalesce(excluded.room, devices.room)'),
        type: trx.raw("case when excluded.type = 'other' then devices.type else excluded.type end"),
        updated_at: trx.fn.now(),
      }).returning('*')
      : await q.merge({ updated_at: trx.raw('devices.updated_at') }).returning('*');
    return { ...row, id: Number(row.id) };
  }

  return {
    async find(mac: string): Promise<DeviceRow | undefined> {
      const row = await db('devices').where({ mac }).first();
      return row ? { ...row, id: Number(row.id) } : undefined;
    },

    /**
     * The device's anonymous subject: attribution before sign-in. The first request registers
     * the device and hands it a secret (once); later requests for that MAC must present it,
     * and so must its device authorizations (trust on first use: a MAC alone proves nothing).
     */
    async anonymousSubject(facts: DeviceFacts, secret: string | undefined, clientId: string): Promise<{ subject: string; deviceSecret?: string }> {
      return db.transaction(async (trx) => {
        const existing = await trx('devices').where({ mac: facts.mac }).forUpdate().first();
        const proof = deviceProven(existing, secret);
        if (proof === 'wrong') throw new AppError('devices.unproven', { detail: `wrong or missing device_secret for ${facts.mac}` });
        const device = await upsert(trx, facts, true);
        if (proof === 'proven' && device.anonymous_subject) return { subject: device.anonymous_subject };
        const subject = device.anonymous_subject ?? `anon_${randomBytes(16).toString('base64url')}`;
        const deviceSecret = randomBytes(32).toString('base64url');
        await trx('devices').where({ id: device.id }).update({ anonymous_subject: subject, secret_hash: hashSecret(deviceSecret) });
        await recordAudit(trx, { actor: `client:${clientId}`, action: 'device.registered', subject: `device:${device.id}` });
        return { subject, deviceSecret };
      });
    },

    /**
     * Binds the device to the account someone just signed in with on it. The first account
     * claims the device's anonymous subject (audited as device.anonymous_claimed).
     */
    async bind(facts: DeviceFacts, proven: boolean, accountId: string, grantId: string | undefined, by: Actor & { clientId?: string }): Promise<{ bound: boolean; claimedAnonymous: string | undefined }> {
      return db.transaction(async (trx) => {
        const device = await upsert(trx, facts, proven);
        const binding = { device_id: device.id, account_id: accountId };
        const bound = !await trx('device_bindings').where(binding).first('device_id');
        if (bound) await trx('device_bindings').insert({ ...binding, source: 'device_flow', grant_id: grantId ?? null });
        else await trx('device_bindings').where(binding).update({ grant_id: grantId ?? null }); // the latest grant is the one to revoke
        if (bound) {
          await recordAudit(trx, { ...by, action: 'device.bound', subject: accountId, detail: { device: device.id, model: device.model, client: by.clientId } });
          await emitEvent(trx, { type: 'device.bound', accountId, data: { ...deviceData(device), source: 'device_flow' } });
        }
        let claimedAnonymous: string | undefined;
        // Only a device that proved it is that device hands its anonymous subject to the account.
        if (proven && device.anonymous_subject && !device.anonymous_account_id) {
          await trx('devices').where({ id: device.id }).update({ anonymous_account_id: accountId, anonymous_claimed_at: clock() });
          await recordAudit(trx, { ...by, action: 'device.anonymous_claimed', subject: accountId, detail: { device: device.id, anonymous_subject: device.anonymous_subject } });
          // Systems that attributed the TV's use to its anonymous subject move it to the account.
          await emitEvent(trx, { type: 'device.anonymous_claimed', accountId, data: { ...deviceData(device), anonymous_subject: device.anonymous_subject } });
          claimedAnonymous = device.anonymous_subject;
        }
        return { bound, claimedAnonymous };
      });
    },

    /** A device sold on: unbound from everyone, and a new anonymous subject for its next owner. */
    async reportResold(mac: string, by: Actor): Promise<{ unbound: number }> {
      return db.transaction(async (trx) => {
        const device = await trx('devices').where({ mac }).forUpdate().first('id', 'mac', 'type', 'model');
        if (!device) throw new AppError('account.device_not_found', { detail: `no device ${mac}` });
        const removed: Array<{ account_id: string; grant_id: string | null }> = await trx('device_bindings').where({ device_id: device.id }).delete().returning(['account_id', 'grant_id']);
        const unbound = removed.length;
        await revokeBindingGrants(trx, removed.map((r) => r.grant_id));
        for (const r of removed) await emitEvent(trx, { type: 'device.unbound', accountId: r.account_id, data: { ...deviceData(device), reason: 'resold' } });
        await trx('devices').where({ id: device.id }).update({ anonymous_subject: null, anonymous_account_id: null, anonymous_claimed_at: null, room: null, secret_hash: null, updated_at: trx.fn.now() });
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

/** A device as events describe it: the MAC is how IoT and service systems know it. */
export function deviceData(d: { id: number | string; mac: string; type: string; model: string | null }): Record<string, unknown> {
  return { device_id: Number(d.id), mac: d.mac, type: d.type, model: d.model };
}
