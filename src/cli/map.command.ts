import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { withDatabase, operatorPath } from './context.ts';
import type { Output } from './output.ts';
import { exportLegacyMap } from '../merge/map-export.ts';

export function registerMap(program: Command, out: () => Output) {
  const map = program.command('map').description('the legacy-id map');
  map.command('export')
    .description('write source,source_id,account_id for every imported record (standard output, or --out)')
    .option('--out <file>', 'write to a file instead')
    .action(async (o) => {
      const file = o.out ? operatorPath(o.out) : undefined;
      const target = file ? createWriteStream(file) : process.stdout;
      const rows = await withDatabase((c) => exportLegacyMap(c.db, target));
      if (file) {
        target.end();
        await once(target, 'finish');
        out().result({ rows, file }, () => `${rows} records written to ${file}`);
      }
    });
}
