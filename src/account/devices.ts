import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { emitEvent } from '../events/outbox.ts';
import { revokeBindingGrants } from '../devices/devices.service.ts';
import { deviceData } from '../devices/devices.service.ts';
import type { Actor } from '../identity/account-settings.ts';

export interface BoundDevice {
  id: number;
  type: string;
  model: string | null;
  room: string | null;
  /** The MAC shown the way it is printed on the label. */
  mac: string;
  boundAt: Date;
  source: string;
}

export async function listBoundDevices(db: Db, accountId: string): Promise<BoundDevice[]> {
  const rows = await db('device_bindings as b').join('devices as d', 'd.id', 'b.device_id')
    .where('b.account_id', accountId).orderBy('b.bound_at', 'desc')
    .select('d.id', 'd.type', 'd.model', 'd.room', 'd.mac', 'b.bound_at', 'b.source');
  return rows.map((r) => ({
    id: Number(r.id), type: r.type, model: r.model, room: r.room, mac: String(r.mac).match(/../g)!.join(':').toUpperCase(),
    boundAt: new Date(r.bound_at), source: r.source,
  }));
}

/** Unbinds one device from this account only; other members of the household keep it. */
export async function unbindDevice(db: Db, accountId: string, deviceId: number, by: Actor): Promise<void> {
  await db.transaction(async (trx) => {
    const removed: Array<{ grant_id: string | null }> = await trx('device_bindings').where({ account_id: accountId, device_id: deviceId }).delete().returning('grant_id');
    if (removed.length === 0) throw new AppError('account.device_not_found');
    await revokeBindingGrants(trx, removed.map((r) => r.grant_id)); // the TV no longer acts for this account
    await recordAudit(trx, { ...by, action: 'device.unbound', subject: accountId, detail: { device: deviceId } });
    const device = await trx('devices').where({ id: deviceId }).first('id', 'mac', 'type', 'model');
    await emitEvent(trx, { type: 'device.unbound', accountId, data: { ...deviceData(device), reason: 'account' } });
  });
}
