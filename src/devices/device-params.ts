import { truncate } from '../storable-text.ts';
import { normaliseMac } from '../identity/normalise.ts';
import type { DeviceFacts } from './devices.service.ts';

/** Parameters a device client may add to its device authorization (and anonymous token) request. */
export const DEVICE_PARAMS = ['mac', 'device_secret', 'device_type', 'device_model', 'device_serial', 'device_room'] as const;

/**
 * MACs that are not one device's: all zeros, broadcast, multicast (lowest bit of the first
 * octet), and Android's 02:00:00:00:00:00, which it reports to apps instead of the real one.
 * Taken as real, each would make strangers' TVs one device.
 */
export function placeholderMac(mac: string): boolean {
  return mac === '000000000000' || mac === 'ffffffffffff' || mac === '020000000000' || (parseInt(mac.slice(0, 2), 16) & 1) === 1;
}

const TYPES = new Set(['tv', 'fridge', 'aircon', 'washer', 'other']);

/** A short, printable text from a device, or undefined. */
function label(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  // No control or format characters (right-to-left overrides, zero-width spaces): what the
  // person reads on the confirm page is what the device sent, visibly.
  const text = truncate(value.normalize('NFKC').replace(/[\p{Cc}\p{Cf}]/gu, '').trim(), 64);
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
  if (placeholderMac(mac)) throw new BadDeviceParams('mac is a placeholder or multicast address, not the device\'s own');
  const type = typeof params.device_type === 'string' && TYPES.has(params.device_type) ? params.device_type as DeviceFacts['type'] : undefined;
  return { mac, type, model: label(params.device_model), serial: label(params.device_serial), room: label(params.device_room) };
}

/** The device secret a request presents (see devices.service anonymousSubject). */
export function deviceSecretOf(params: Record<string, unknown>): string | undefined {
  return typeof params.device_secret === 'string' && params.device_secret.length > 0 && params.device_secret.length <= 128 ? params.device_secret : undefined;
}
