import type { ReadResult } from '../record.ts';
import type { Placeholders } from '../evidence.ts';

export interface SourceContext {
  placeholders: Placeholders;
  /** Called with the bytes of the file read so far (for progress). */
  onBytes?: (bytes: number) => void;
}

/** One reader per legacy format: streams a file into records or rejects. */
export interface LegacySource {
  name: string;
  read(file: string, ctx: SourceContext): AsyncGenerator<ReadResult & { placeholders?: string[] }>;
}

export function reject(line: number, sourceId: string | null, reason: string): ReadResult {
  return { ok: false, line, sourceId, reason };
}
