import type { ReadResult } from '../record.ts';
import type { Placeholders } from '../evidence.ts';

/** One reader per legacy format: streams a file into records or rejects. */
export interface LegacySource {
  name: string;
  read(file: string, ctx: { placeholders: Placeholders }): AsyncGenerator<ReadResult & { placeholders?: string[] }>;
}

export function reject(line: number, sourceId: string | null, reason: string): ReadResult {
  return { ok: false, line, sourceId, reason };
}
