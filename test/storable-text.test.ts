import { isStorable, truncate, unstorableIn, MAX_DEPTH } from '../src/storable-text.ts';

test('NUL and lone surrogates cannot be stored; pairs and ordinary text can', () => {
  expect(isStorable('长虹 😀')).toBe(true);
  expect(isStorable('a\u0000b')).toBe(false);
  expect(isStorable('\ud800')).toBe(false);
  expect(isStorable('x\udc00')).toBe(false);
});

test('a document is checked at every depth, keys too, without recursing past the limit', () => {
  expect(unstorableIn({ a: [{ b: '好' }], n: 1, t: true, z: null })).toBeUndefined();
  expect(unstorableIn({ a: [{ b: 'x\u0000' }] })).toMatch(/NUL/);
  expect(unstorableIn({ ['k\ud800']: 1 })).toMatch(/surrogate/);
  let deep: unknown = 'leaf';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  expect(unstorableIn(deep)).toBe(`nesting deeper than ${MAX_DEPTH}`);
});

test('truncating never cuts an emoji in half', () => {
  const text = `${'a'.repeat(63)}😀b`;
  expect(truncate(text, 64)).toBe(`${'a'.repeat(63)}😀`);
  expect(isStorable(truncate(text, 64))).toBe(true);
  expect(truncate('短', 64)).toBe('短');
});
