import { isEmbedded, type Db } from '../db/database.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { LegacySource } from './sources/source.ts';
import type { Placeholders } from './evidence.ts';
import type { LegacyRecord } from './record.ts';
import { openRejectsFile } from './rejects-file.ts';
import { ASYNC_COMMIT } from './async-commit.ts';
import { startImport, finishImport, seenInImport, upsertRecords } from './legacy-records.repo.ts';

/** Rows written per transaction: large enough for throughput, small enough to stream. */
export const IMPORT_BATCH_ROWS = 5000;

export interface ImportSummary {
  importId: number;
  source: string;
  file: string;
  read: number;
  imported: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** Placeholder values dropped from evidence, with how often each was seen. */
  placeholders: Record<string, number>;
  /** Rows holding a phone or email that could not be normalised (kept as profile text). */
  unparsedValues: number;
  rejectsFile: string;
}

export interface ImportOptions {
  db: Db;
  source: LegacySource;
  file: string;
  rejectsFile: string;
  placeholders: Placeholders;
  actor: string;
  /** Records per batch (transaction); IMPORT_BATCH_ROWS unless given. */
  batchRows?: number;
  /** Rows read so far and bytes of the file read so far. */
  onProgress?: (rowsRead: number, bytesRead: number) => void;
}

/**
 * Imports one legacy export: every row is imported or rejected with its line and reason,
 * read = imported + rejected always. Re-importing the same file changes nothing; a newer
 * export updates the records that changed.
 */
export async function importLegacyFile(o: ImportOptions): Promise<ImportSummary> {
  const { db, source } = o;
  const importId = await startImport(db, source.name, o.file, o.actor);
  const rejects = openRejectsFile(o.rejectsFile);
  const s: ImportSummary = {
    importId, source: source.name, file: o.file, read: 0, imported: 0, inserted: 0, updated: 0, unchanged: 0,
    rejected: 0, placeholders: {}, unparsedValues: 0, rejectsFile: o.rejectsFile,
  };
  let batch: LegacyRecord[] = [];

  // While the file is read, earlier batches are written: on PostgreSQL two at once, each in
  // its own transaction on its own connection (the server works on each with a backend of
  // its own). Duplicates are still decided in file order: each batch is checked, one after
  // another, against what is written already and what the batches still being written hold.
  const concurrency = isEmbedded(db) ? 1 : 2;
  const writing = new Set<{ ids: Map<string, number>; done: Promise<void> }>();
  let checked: Promise<void> = Promise.resolve();
  let failure: unknown;
  const write = (records: LegacyRecord[]) => {
    const entry = { ids: new Map<string, number>(), done: Promise.resolve() };
    const earlier = checked;
    let checkedThis!: () => void;
    checked = new Promise<void>((resolve) => { checkedThis = resolve; });
    entry.done = (async () => {
      let unique: LegacyRecord[];
      try {
        await earlier;
        // The batches being written are taken first: one that commits meanwhile is then
        // either among them or, committed before the query runs, seen by it.
        const inFlight = [...writing].filter((w) => w !== entry).map((w) => w.ids);
        const seen = await seenInImport(db, source.name, importId, records.map((r) => r.sourceId));
        unique = [];
        for (const r of records) {
          const first = entry.ids.get(r.sourceId) ?? seen.get(r.sourceId) ?? inFlight.map((ids) => ids.get(r.sourceId)).find((l) => l !== undefined);
          if (first !== undefined) {
            s.rejected++;
            await rejects.write(r.line, r.sourceId, `duplicate ${source.name} id ${r.sourceId} (first at line ${first})`);
            continue;
          }
          entry.ids.set(r.sourceId, r.line);
          unique.push(r);
        }
      } finally {
        checkedThis();
      }
      const { inserted, updated } = await db.transaction(async (trx) => {
        await trx.raw(ASYNC_COMMIT);
        return upsertRecords(trx, importId, unique);
      });
      s.inserted += inserted;
      s.updated += updated;
      s.unchanged += unique.length - inserted - updated;
      s.imported += unique.length;
      writing.delete(entry);
    })();
    entry.done.catch((err) => { failure ??= err; });
    writing.add(entry);
  };
  const flush = async () => {
    const records = batch;
    batch = [];
    while (writing.size >= concurrency && failure === undefined) await Promise.race([...writing].map((w) => w.done.catch(() => {})));
    if (failure !== undefined) throw failure;
    if (records.length) write(records);
  };
  const settle = async () => {
    await Promise.allSettled([...writing].map((w) => w.done));
    if (failure !== undefined) throw failure;
  };

  try {
    let bytes = 0;
    for await (const result of source.read(o.file, { placeholders: o.placeholders, onBytes: (n) => { bytes += n; } })) {
      s.read++;
      for (const p of result.placeholders ?? []) s.placeholders[p] = (s.placeholders[p] ?? 0) + 1;
      if (!result.ok) {
        s.rejected++;
        await rejects.write(result.line, result.sourceId, result.reason);
      } else {
        if (result.record.profile.unparsed?.length) s.unparsedValues++;
        batch.push(result.record);
        if (batch.length >= (o.batchRows ?? IMPORT_BATCH_ROWS)) await flush();
      }
      if (s.read % 1000 === 0) o.onProgress?.(s.read, bytes);
    }
    await flush();
    await settle();
    o.onProgress?.(s.read, bytes);
  } catch (err) {
    await Promise.allSettled([...writing].map((w) => w.done));
    await rejects.close();
    await finishImport(db, importId, 'failed', { ...s, error: (err as Error).message });
    throw err;
  }
  await rejects.close();
  if (s.read !== s.imported + s.rejected) throw new Error(`import ${importId}: read ${s.read} != imported ${s.imported} + rejected ${s.rejected}`);
  await finishImport(db, importId, 'done', s);
  await recordAudit(db, { actor: o.actor, action: 'legacy.imported', subject: `import:${importId}`, detail: { ...s } });
  return s;
}
