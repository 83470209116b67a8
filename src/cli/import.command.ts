import path from 'node:path';
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { withDatabase, operator, operatorPath } from './context.ts';
import type { Output } from './output.ts';
import { progressBar } from './progress.ts';
import { UsageError } from './usage-error.ts';
import { importLegacyFile, type ImportSummary } from '../merge/import.ts';
import { BUILT_IN_SOURCES } from '../merge/sources/index.ts';
import { loadMappingSource } from '../merge/sources/mapping.ts';

export function describeImport(s: ImportSummary): string {
  const placeholders = Object.entries(s.placeholders);
  return [
    `import ${s.importId}: ${s.source} from ${s.file}`,
    `  read ${s.read} = imported ${s.imported} + rejected ${s.rejected}`,
    `  imported: ${s.inserted} new, ${s.updated} updated, ${s.unchanged} unchanged`,
    `  rows with values that could not be normalised (kept as profile text, shown by accounts explain): ${s.unparsedValues}`,
    ...(placeholders.length ? [`  placeholder values dropped: ${placeholders.map(([v, n]) => `${v} (${n})`).join(', ')}`] : []),
    `  rejected rows with line and reason: ${s.rejectsFile}`,
  ].join('\n');
}

export function registerImport(program: Command, out: () => Output) {
  program.command('import')
    .description('import a legacy export: crm, bbs, cloud or mall, or any other center with --mapping')
    .usage('<crm|bbs|cloud|mall> <file>  |  --mapping <mapping.json> <file>')
    .argument('[source]', 'crm | bbs | cloud | mall (omit with --mapping)')
    .argument('[file]', 'the export file')
    .option('--mapping <file>', 'a mapping file describing another user center\'s export (JSON)')
    .option('--rejects <file>', 'where to write rejected rows (default: <file name>.rejects.csv in the current folder)')
    .action(async (first: string | undefined, second: string | undefined, o) => {
      // With --mapping the only argument is the file; otherwise a source name, then the file.
      if (o.mapping && second !== undefined) throw new UsageError('give either a source name or --mapping, not both');
      const [sourceName, typed] = o.mapping ? [undefined, first] : [first, second];
      if (typed === undefined) throw new UsageError(o.mapping ? 'which file? chucs import --mapping <mapping.json> <file>' : 'which file? chucs import <crm|bbs|cloud|mall> <file>');
      const source = o.mapping ? loadMappingSource(operatorPath(o.mapping)) : BUILT_IN_SOURCES[sourceName ?? ''];
      if (!source) throw new UsageError(`unknown source "${sourceName}": use crm, bbs, cloud or mall, or --mapping <file>`);
      const file = operatorPath(typed);
      let size: number;
      try {
        const stat = statSync(file);
        if (!stat.isFile()) throw new UsageError(`${file} is not a file`);
        size = stat.size;
      } catch (err) {
        if (err instanceof UsageError) throw err;
        throw new UsageError(`cannot read ${file}`);
      }
      const rejectsFile = operatorPath(o.rejects ?? `${path.basename(file)}.rejects.csv`);
      const bar = progressBar(`importing ${source.name}`, 'bytes', size);
      const summary = await withDatabase((c) => importLegacyFile({
        db: c.db, source, file, rejectsFile, actor: operator(),
        placeholders: { phone: new Set(c.config.merge.placeholders.phone), email: new Set(c.config.merge.placeholders.email) },
        onProgress: (_rows, bytes) => bar.update(bytes),
      })).finally(() => bar.stop());
      out().result(summary, () => describeImport(summary));
    });
}
