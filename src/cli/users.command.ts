import type { Command } from 'commander';
import { withChucs, operator } from './context.ts';
import type { Output } from './output.ts';
import { normaliseEmail, normalisePhone, normaliseUsername } from '../identity/normalise.ts';
import type { NewIdentifier } from '../identity/identifiers.repo.ts';
import { UsageError } from './usage-error.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function registerUsers(program: Command, out: () => Output) {
  const users = program.command('users').description('Changhong ID accounts');

  users.command('add')
    .description('create an account (for bootstrapping); the identifiers given are taken as verified by the operator')
    .option('--phone <phone>', 'mobile number, any common shape')
    .option('--email <email>', 'email address')
    .option('--username <name>', 'login name')
    .option('--name <name>', 'display name')
    .option('--password-stdin', 'read the password from standard input (keeps it out of the process list)')
    .option('--password <password>', 'the password (visible to other users of this machine: prefer --password-stdin)')
    .action(async (o) => {
      const identifiers: NewIdentifier[] = [];
      const add = (kind: NewIdentifier['kind'], raw: string | undefined, normalise: (s: string) => string | null) => {
        if (raw === undefined) return;
        const value = normalise(raw);
        if (!value) throw new UsageError(`--${kind}: "${raw}" is not a valid ${kind}`);
        identifiers.push({ kind, value, verified: true, source: 'cli' });
      };
      add('phone', o.phone, normalisePhone);
      add('email', o.email, normaliseEmail);
      add('username', o.username, normaliseUsername);
      if (identifiers.length === 0) throw new UsageError('give at least one of --phone, --email, --username');
      const password: string | undefined = o.passwordStdin ? await readStdin() : o.password;
      const account = await withChucs((c) => c.identity.createAccount({
        identifiers, password, profile: o.name ? { name: o.name } : {}, actor: operator(),
      }));
      const shown = { id: account.id, identifiers: account.identifiers.map((i) => ({ kind: i.kind, value: i.value, verified: i.verified })), password: password !== undefined };
      out().result(shown, () => [
        `account: ${account.id}`,
        ...shown.identifiers.map((i) => `  ${i.kind}: ${i.value}${i.verified ? ' (verified)' : ''}`),
        `  password: ${shown.password ? 'set' : 'none'}`,
      ].join('\n'));
    });
}
