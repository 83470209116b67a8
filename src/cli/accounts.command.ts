import type { Command } from 'commander';
import { withDatabase } from './context.ts';
import type { Output } from './output.ts';
import { findAccounts, explainAccount, type Explanation } from '../merge/explain.ts';

function describe(x: Explanation): string {
  return [
    `account ${x.account.id} (${x.account.status}), created ${x.account.createdAt}`,
    ...(x.mergedAway.length ? [`  merged into it: ${x.mergedAway.join(', ')}`] : []),
    '  identifiers:',
    ...x.identifiers.map((i) => `    ${i.kind} ${i.value}${i.verified ? ' (verified)' : ''} from ${i.source}${i.run ? ` run ${i.run}` : ''}`),
    '  legacy records:',
    ...x.records.map((r) => `    ${r.ref} by ${r.rule} in run ${r.run}${r.evidence.length ? `: ${r.evidence.map((e) => `${e.kind} ${e.value}${e.verified ? '' : ' (unverified)'}`).join(', ')}` : ''}${r.viaAccount !== x.account.id ? ` (via merged account ${r.viaAccount})` : ''}${r.unparsed.length ? `; could not be read: ${r.unparsed.join(', ')}` : ''}`),
    ...(x.devices.length ? ['  devices:', ...x.devices.map((d) => `    ${d.mac} ${d.model ?? ''} (${d.source})`)] : []),
    `  profile: ${JSON.stringify(x.account.profile)}`,
  ].join('\n');
}

export function registerAccounts(program: Command, out: () => Output) {
  const accounts = program.command('accounts').description('Changhong ID accounts, as the merge engine built them');
  accounts.command('explain <query>')
    .description('an account (by id, phone or email) with its legacy records and the evidence, rule and run that joined each')
    .option('--all', 'also the accounts holding that phone or email unverified', false)
    .action(async (query: string, o) => {
      const { result, others } = await withDatabase(async (c) => {
        const ids = await findAccounts(c.db, query, { everyHolder: o.all });
        const every = o.all ? ids : await findAccounts(c.db, query, { everyHolder: true });
        return { result: await Promise.all(ids.map((id) => explainAccount(c.db, id))), others: every.length - ids.length };
      });
      const found = result.filter((x): x is Explanation => x !== undefined);
      if (!found.length) {
        out().result([], () => `no account found for "${query}"`);
        process.exitCode = 1;
        return;
      }
      out().result(found, () => [
        ...found.map(describe),
        ...(others > 0 ? [`(${others} other account(s) hold "${query}" unverified: chucs accounts explain --all ${query})`] : []),
      ].join('\n\n'));
    });
}
