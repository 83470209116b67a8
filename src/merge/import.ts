import type { Db } from '../db/database.ts';
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

  // One batch is written while the next is read: the file and the database work at once.
  // Batches still reach the database one after another, so duplicates are seen in order.
  let writing: Promise<void> = Promise.resolve();
  const write = async (records: LegacyRecord[]) => {
    if (records.length === 0) return;
    const inFile = new Map<string, number>();
    const unique: LegacyRecord[] = [];
    const seen = await seenInImport(db, source.name, importId, records.map((r) => r.sourceId));
    for (const r of records) {
      const first = inFile.get(r.sourceId) ?? seen.get(r.sourceId);
      if (first !== undefined) {
        s.rejected++;
        await rejects.write(r.line, r.sourceId, `duplicate ${source.name} id ${r.sourceId} (first at line ${first})`);
        continue;
      }
      inFile.set(r.sourceId, r.line);
      unique.push(r);
    }
    const { inserted, updated } = await db.transaction(async (trx) => {
      await trx.raw(ASYNC_COMMIT);
      return upsertRecords(trx, importId, unique);
    });
    s.inserted += inserted;
    s.updated += updated;
    s.unchanged += unique.length - inserted - updated;
    s.imported += unique.length;
  };
  const flush = async () => {
    const records = batch;
    batch = [];
    await writing;
    writing = write(records);
    writing.catch(() => {}); // failures surface at the next await of `writing`
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
        if (batch.length >= IMPORT_BATCH_ROWS) await flush();
      }
      if (s.read % 1000 === 0) o.onProgress?.(s.read, bytes);
    }
    await flush();
    await writing;
    o.onProgress?.(s.read, bytes);
  } catch (err) {
    await writing.catch(() => {});
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
