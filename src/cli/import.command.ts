import path from 'node:path';
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { withDatabase, operator } from './context.ts';
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
    `  values that could not be normalised (kept as profile text): ${s.unparsedValues} rows`,
    ...(placeholders.length ? [`  placeholder values dropped: ${placeholders.map(([v, n]) => `${v} (${n})`).join(', ')}`] : []),
    `  rejected rows with line and reason: ${s.rejectsFile}`,
  ].join('\n');
}

export function registerImport(program: Command, out: () => Output) {
  program.command('import')
    .description('import a legacy export: crm, bbs, cloud or mall, or any other center with --mapping')
    .argument('[source]', 'crm | bbs | cloud | mall (omit with --mapping)')
    .argument('<file>', 'the export file')
    .option('--mapping <file>', 'a mapping file describing another user center\'s export (JSON)')
    .option('--rejects <file>', 'where to write rejected rows (default: <file name>.rejects.csv in the current folder)')
    .action(async (sourceName: string | undefined, file: string, o) => {
      const source = o.mapping ? loadMappingSource(o.mapping) : BUILT_IN_SOURCES[sourceName ?? ''];
      if (!source) throw new UsageError(`unknown source "${sourceName}": use crm, bbs, cloud or mall, or --mapping <file>`);
      if (o.mapping && sourceName) throw new UsageError('give either a source name or --mapping, not both');
      let size: number;
      try { size = statSync(file).size; } catch { throw new UsageError(`cannot read ${file}`); }
      const rejectsFile = o.rejects ?? path.join(process.cwd(), `${path.basename(file)}.rejects.csv`);
      const bar = progressBar(`importing ${source.name}`, 'bytes', size);
      const summary = await withDatabase((c) => importLegacyFile({
        db: c.db, source, file, rejectsFile, actor: operator(),
        placeholders: { phone: new Set(c.config.merge.placeholders.phone), email: new Set(c.config.merge.placeholders.email) },
        onProgress: (_rows, bytes) => bar.update(bytes),
      })).finally(() => bar.stop());
      out().result(summary, () => describeImport(summary));
    });
}
