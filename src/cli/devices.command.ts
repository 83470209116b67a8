import type { Command } from 'commander';
import { withChucs, operator } from './context.ts';
import { table, type Output } from './output.ts';
import { confirm } from './confirm.ts';
import { UsageError, RefusedError } from './usage-error.ts';
import { normaliseMac } from '../identity/normalise.ts';

function macOf(input: string): string {
  const mac = normaliseMac(input);
  if (!mac) throw new UsageError(`not a MAC address: "${input}"`);
  return mac;
}

export function registerDevices(program: Command, out: () => Output) {
  const devices = program.command('devices').description('TVs and appliances: who they are bound to; resale');

  devices.command('show').argument('<mac>', 'the MAC, in any common shape').description('a device and the accounts it is bound to')
    .action((input: string) => withChucs(async (c) => {
      const mac = macOf(input);
      const device = await c.devices.find(mac);
      if (!device) throw new UsageError(`no device with the MAC ${mac}`);
      const bindings = await c.devices.bindings(mac);
      out().result({ device, bindings }, () => [
        `device ${device.id}: ${device.type} ${device.model ?? ''} ${device.room ? `(${device.room})` : ''}`.trim(),
        `anonymous subject: ${device.anonymous_subject ?? '-'}${device.anonymous_account_id ? `, claimed by ${device.anonymous_account_id}` : ''}`,
        bindings.length ? table(bindings.map((b) => ({ account: b.accountId, bound: b.boundAt.toISOString(), source: b.source })), ['account', 'bound', 'source']) : 'bound to nobody',
      ].join('\n'));
    }));

  devices.command('resold').argument('<mac>', 'the MAC, in any common shape')
    .description('a device sold on: unbind it from every account and give it a new anonymous subject')
    .option('--yes', 'do not ask for confirmation', false)
    .action((input: string, o: { yes: boolean }) => withChucs(async (c) => {
      const mac = macOf(input);
      const bindings = await c.devices.bindings(mac);
      if (!await c.devices.find(mac)) throw new UsageError(`no device with the MAC ${mac}`);
      if (!await confirm(`Unbind ${mac} from ${bindings.length} account(s)?`, o.yes)) throw new RefusedError('not confirmed; nothing changed');
      const { unbound } = await c.devices.reportResold(mac, { actor: operator() });
      out().result({ mac, unbound }, () => `${mac} unbound from ${unbound} account(s); it starts afresh for its next owner`);
    }));
}
