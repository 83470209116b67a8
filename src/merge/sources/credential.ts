import { validateLegacyHash, type LegacyAlgorithm, type LegacyHash } from '../../identity/legacy-hashers.ts';

/** A legacy hash checked at import: absent, valid (normalised), or the reason it is not. */
export function legacyCredential(algorithm: LegacyAlgorithm, hash: unknown, salt?: unknown):
  { ok: true; credential: LegacyHash | null } | { ok: false; reason: string } {
  if (hash === null || hash === undefined || (typeof hash === 'string' && hash.trim() === '')) return { ok: true, credential: null };
  if (typeof hash !== 'string') return { ok: false, reason: `password hash is not text` };
  const checked = validateLegacyHash({ algorithm, hash: hash.trim(), salt: typeof salt === 'string' ? salt : null });
  return checked.ok ? { ok: true, credential: checked.hash } : { ok: false, reason: checked.reason };
}
