import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { rotateKeys, readKeys, publicKeyIds, keysFileOf } from '../oidc/keys.ts';
import { table, type Output } from './output.ts';

export function registerKeys(program: Command, out: () => Output) {
  const keys = program.command('keys').description('token signing keys');

  keys.command('rotate')
    .description('add a new signing key (used from the next start); older keys keep verifying the tokens they signed')
    .action(async () => {
      const file = keysFileOf(loadConfig());
      const { added, retired, jwks } = await rotateKeys(file);
      out().result({ file, added, retired, keys: publicKeyIds(jwks) }, () => [
        `added ${added.join(', ')} to ${file}`,
        ...(retired.length ? [`retired ${retired.join(', ')}`] : []),
        'restart CHUCS (every node) to sign with the new keys',
      ].join('\n'));
    });

  keys.command('list').description('list the signing keys, signing ones first').action(async () => {
    const file = keysFileOf(loadConfig());
    const jwks = readKeys(file);
    const list = jwks ? publicKeyIds(jwks) : [];
    out().result({ file, keys: list }, () => table(list, ['kid', 'alg']));
  });
}
