import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { Db } from '../db/database.ts';
import { streamRows } from './cursor.ts';
import { csvField } from './csv-field.ts';


/**
 * Writes `source,source_id,account_id` for every imported record: what each legacy app needs
 * to re-key its own data. A merged-away account is written as its survivor; a record not
 * linked yet (held for an operator) has an empty account_id. Streams in constant memory.
 */
export async function exportLegacyMap(db: Db, out: Writable): Promise<number> {
  let n = 0;
  const write = async (line: string) => { if (!out.write(line)) await once(out, 'drain'); };
  await write('source,source_id,account_id\n');
  await db.transaction(async (trx) => {
    for await (const rows of streamRows<{ source: string; source_id: string; account_id: string | null }>(trx, `
      select r.source, r.source_id, coalesce(a.merged_into, a.id) as account_id
      from legacy_records r left join record_links l on l.record_id = r.id left join accounts a on a.id = l.account_id
      order by r.source, r.id`)) {
      await write(rows.map((r) => `${csvField(r.source)},${csvField(r.source_id)},${r.account_id ?? ''}\n`).join(''));
      n += rows.length;
    }
  });
  return n;
}
