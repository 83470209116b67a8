import { closeSync, openSync, writeSync } from 'node:fs';
import type { Rng } from './prng.ts';

// Text is gathered up to this size, encoded and written in one call: fewer syscalls, bounded memory.
const FLUSH_CHARS = 1 << 16;

/**
 * A file written as the generator goes, in constant memory. Counts line breaks so every record
 * knows the line it starts on (importers report rejects by line).
 */
export class TextSink {
  #fd: number;
  #parts: string[] = [];
  #chars = 0;
  #encode: (text: string) => Uint8Array;
  /** Lines written so far (line breaks seen). */
  lines = 0;

  constructor(path: string, encode: (text: string) => Uint8Array = (t) => Buffer.from(t, 'utf8')) {
    this.#fd = openSync(path, 'w');
    this.#encode = encode;
  }

  /** Appends text; returns the 1-based line it starts on. */
  write(text: string): number {
    const start = this.lines + 1;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.lines++;
    this.#parts.push(text);
    this.#chars += text.length;
    if (this.#chars >= FLUSH_CHARS) this.flush();
    return start;
  }

  flush(): void {
    if (this.#parts.length === 0) return;
    writeSync(this.#fd, this.#encode(this.#parts.join('')));
    this.#parts = [];
    this.#chars = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.#fd);
  }
}

/**
 * Lets records out in a shuffled order through a window of fixed size, so a person's records
 * (and a trap's) do not sit side by side in every file, without holding a file in memory.
 */
export class ShuffleWindow<T> {
  #items: T[] = [];
  #size: number;
  #rng: Rng;
  #emit: (item: T) => void;

  constructor(size: number, rng: Rng, emit: (item: T) => void) {
    this.#size = size;
    this.#rng = rng;
    this.#emit = emit;
  }

  push(item: T): void {
    if (this.#items.length < this.#size) {
      this.#items.push(item);
      return;
    }
    const i = this.#rng.int(this.#size);
    const out = this.#items[i]!;
    this.#items[i] = item;
    this.#emit(out);
  }

  drain(): void {
    const items = this.#items;
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.#rng.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    for (const item of items) this.#emit(item);
    this.#items = [];
  }
}
