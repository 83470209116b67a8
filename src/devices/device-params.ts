import { normaliseMac } from '../identity/normalise.ts';
import type { DeviceFacts } from './devices.service.ts';

/** Parameters a device client may add to its device authorization (and anonymous token) request. */
export const DEVICE_PARAMS = ['mac', 'device_type', 'device_model', 'device_serial', 'device_room'] as const;

const TYPES = new Set(['tv', 'fridge', 'aircon', 'washer', 'other']);

/** A short, printable text from a device, or undefined. */
function label(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.normalize('NFKC').replace(/\p{Cc}/gu, '').trim().slice(0, 64);
  return text.length > 0 ? text : undefined;
}

export class BadDeviceParams extends Error {
  override name = 'BadDeviceParams';
}

/**
 * What a device says about itself, from request parameters; undefined without a MAC.
 * A MAC that is not one is refused (the caller answers invalid_request).
 */
export function deviceFactsOf(params: Record<string, unknown>): DeviceFacts | undefined {
  if (params.mac === undefined || params.mac === '') return undefined;
  const mac = typeof params.mac === 'string' ? normaliseMac(params.mac) : null;
  if (!mac) throw new BadDeviceParams('mac must be a MAC address (12 hex digits, separators allowed)');
  const type = typeof params.device_type === 'string' && TYPES.has(params.device_type) ? params.device_type as DeviceFacts['type'] : undefined;
  return { mac, type, model: label(params.device_model), serial: label(params.device_serial), room: label(params.device_room) };
}
