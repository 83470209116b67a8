import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import iconv from 'iconv-lite';

/** A CSV row with its header's names, or a row that could not be parsed; `line` is 1-based. */
export type CsvRow =
  | { line: number; fields: Record<string, string>; error?: undefined }
  | { line: number; fields?: undefined; error: string };

/**
 * The file is not the export it was imported as: its header lacks a column every row needs
 * (another source's file, or the right file in another encoding). Nothing is imported: a
 * file whose every row would be rejected for the same wrong reason says so once instead.
 */
export class WrongFile extends Error {
  override name = 'WrongFile';
}

/**
 * Streams a CSV file in constant memory: any encoding iconv-lite knows (GB18030 for the
 * CRM), a byte-order mark, CRLF or LF, quoted fields with commas, quotes and line breaks.
 * A row with the wrong number of fields, or broken quoting, is reported and skipped; the
 * rest of the file goes on. A header without the `required` columns is a WrongFile.
 */
export async function* readCsv(
  file: string, encoding = 'utf-8', onBytes?: (bytes: number) => void, required: readonly string[] = [],
): AsyncGenerator<CsvRow> {
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, skip_records_with_error: true, info: true });
  const skipped: CsvRow[] = [];
  parser.on('skip', (err: Error & { lines?: number }) => {
    skipped.push({ line: err.lines ?? 0, error: `unreadable CSV: ${err.message.replace(/^Invalid Record Length: /, '')}` });
  });
  const input = createReadStream(file);
  if (onBytes) input.on('data', (chunk) => onBytes(chunk.length));
  const text = encoding.toLowerCase().replace('-', '') === 'utf8' ? input : input.pipe(iconv.decodeStream(encoding));
  text.pipe(parser);
  input.on('error', (err) => parser.destroy(err));

  let header: string[] | undefined;
  let nextLine = 1;
  for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
    while (skipped.length) yield skipped.shift()!;
    const line = nextLine;
    nextLine = info.lines + 1;
    if (!header) {
      header = record.map((h) => h.trim());
      const missing = required.filter((c) => !header!.includes(c));
      if (missing.length) {
        input.destroy();
        parser.destroy();
        const found = header.slice(0, 6).map((h) => JSON.stringify(h.slice(0, 20))).join(', ');
        throw new WrongFile(`${file}: the header has no column ${missing.join(', ')} (it starts ${found}${header.length > 6 ? ', …' : ''}): `
          + `another source's export, or not in ${encoding}?`);
      }
      continue;
    }
    if (record.length !== header.length) {
      yield { line, error: `expected ${header.length} fields, found ${record.length}` };
      continue;
    }
    yield { line, fields: Object.fromEntries(header.map((h, i) => [h, record[i]!])) };
  }
  while (skipped.length) yield skipped.shift()!;
}

/** Streams a JSON Lines file: each line parsed, or reported with its line number. */
export async function* readJsonLines(file: string, onBytes?: (bytes: number) => void): AsyncGenerator<{ line: number; value?: unknown; error?: string }> {
  const input = createReadStream(file, 'utf8');
  if (onBytes) input.on('data', (chunk) => onBytes(Buffer.byteLength(chunk)));
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    const trimmed = n === 1 ? text.replace(/^\uFEFF/, '').trim() : text.trim();
    if (!trimmed) continue;
    try {
      yield { line: n, value: JSON.parse(trimmed) };
    } catch (err) {
      yield { line: n, error: `not valid JSON: ${(err as Error).message}` };
    }
  }
}
