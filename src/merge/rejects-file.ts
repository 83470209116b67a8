import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { csvField } from './csv-field.ts';


/** The rejects report: one CSV line per row that was not imported, with its reason. */
export function openRejectsFile(path: string) {
  const out: WriteStream = createWriteStream(path, 'utf8');
  out.write('line,source_id,reason\n');
  return {
    path,
    async write(line: number, sourceId: string | null, reason: string) {
      if (!out.write(`${line},${csvField(sourceId ?? '')},${csvField(reason)}\n`)) await once(out, 'drain');
    },
    async close() {
      out.end();
      await once(out, 'finish');
    },
  };
}
