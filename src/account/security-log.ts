import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { UAParser } from 'ua-parser-js';
import type { Db } from '../db/database.ts';

export interface SecurityEvent {
  at: Date;
  action: string;
  method: string | undefined;
  client: string | undefined;
  ip: string | null;
  place: string | undefined;
  device: string | undefined;
}

/** Actions a person recognises as their own doings; the rest of the audit log is for staff. */
const SHOWN_ACTIONS = [
  'login.succeeded', 'login.failed', 'account.created', 'profile.updated', 'password.set', 'password.changed',
  'identifier.added', 'identifier.removed', 'identifier.primary_changed', 'app.revoked', 'device.unbound',
  'sessions.ended_everywhere', 'sessions.ended_elsewhere', 'step_up.succeeded',
];

/** Finds an approximate place for an address from configured ranges (e.g. company networks). */
export function createPlaceLookup(ranges: ReadonlyArray<{ cidr: string; place: string }>) {
  const lists = ranges.map(({ cidr, place }) => {
    const [network, bits] = cidr.split('/') as [string, string];
    const list = new BlockList();
    list.addSubnet(network, Number(bits), isIPv6(network) ? 'ipv6' : 'ipv4');
    return { list, place, family: isIPv6(network) ? 'ipv6' as const : 'ipv4' as const };
  });
  return (ip: string | null): string | undefined => {
    if (!ip) return undefined;
    const address = ip.replace(/^::ffff:/, '');
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    if (!family) return undefined;
    return lists.find((l) => l.family === family && l.list.check(address, family))?.place;
  };
}

/** "Chrome 120 · Android 14" from a User-Agent header; undefined when it says nothing useful. */
export function describeDevice(userAgent: string | null): string | undefined {
  if (!userAgent) return undefined;
  const ua = new UAParser(userAgent).getResult();
  const browser = [ua.browser.name, ua.browser.major].filter(Boolean).join(' ');
  const os = [ua.os.name, ua.os.version].filter(Boolean).join(' ');
  const text = [browser, os].filter(Boolean).join(' · ');
  return text || undefined;
}

/** The latest sign-ins and changes of an account, newest first. */
export async function recentSecurityEvents(db: Db, accountId: string, placeOf: (ip: string | null) => string | undefined, limit = 50): Promise<SecurityEvent[]> {
  const rows = await db('audit_log').where({ subject: accountId }).whereIn('action', SHOWN_ACTIONS)
    .orderBy('id', 'desc').limit(limit).select('at', 'action', 'ip', 'user_agent', 'detail');
  return rows.map((r) => ({
    at: new Date(r.at),
    action: r.action,
    method: r.detail?.method,
    client: r.detail?.client,
    ip: r.ip,
    place: placeOf(r.ip),
    device: describeDevice(r.user_agent),
  }));
}
