/**
 * PostgreSQL text and jsonb hold neither NUL nor a lone UTF-16 surrogate (half an emoji):
 * such a value reaching an insert fails it, a server error instead of a refused request.
 * These helpers keep request data storable: refuse it early, and cut text whole.
 */

/** Whether a string can be stored: no NUL, no lone surrogate. */
export function isStorable(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

/** How deep a stored document (a payload, an admin request body) may nest. */
export const MAX_DEPTH = 32;

/**
 * Why a JSON-like value cannot be stored as jsonb, or undefined if it can: a string or key
 * with a NUL or a lone surrogate, or nesting deeper than MAX_DEPTH. Never recurses deeper
 * than that, so a hostile document cannot overflow the stack.
 */
export function unstorableIn(value: unknown, depth = 0): string | undefined {
  if (typeof value === 'string') return isStorable(value) ? undefined : 'a NUL or an unpaired surrogate';
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_DEPTH) return `nesting deeper than ${MAX_DEPTH}`;
  for (const [key, item] of Object.entries(value)) {
    if (!isStorable(key)) return 'a NUL or an unpaired surrogate';
    const why = unstorableIn(item, depth + 1);
    if (why) return why;
  }
  return undefined;
}

/** The first `max` characters (code points, so an emoji is never cut in half). */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return Array.from(text).slice(0, max).join('');
}
