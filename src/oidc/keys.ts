import { existsSync, readFileSync, writeFileSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { generateKeyPair, exportJWK, type JWK } from 'jose';

/**
 * Signing keys (a private JWKS). oidc-provider signs with the first key of each algorithm
 * and publishes all of them, so rotation puts new keys first and keeps the old ones: tokens
 * signed before the rotation still verify against the JWKS.
 */
export interface PrivateJwks { keys: JWK[] }

/** RS256 for ID tokens (every RP must support it), ES256 for faster JWT access tokens. */
export const SIGNING_ALGS = ['RS256', 'ES256'] as const;

/** How many generations of keys to keep published after a rotation. */
export const KEY_GENERATIONS_KEPT = 3;

export async function generateSigningKeys(): Promise<JWK[]> {
  const createdAt = new Date().toISOString().slice(0, 10);
  return Promise.all(SIGNING_ALGS.map(async (alg) => {
    const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const jwk = await exportJWK(privateKey);
    return { ...jwk, alg, use: 'sig', kid: `${createdAt}-${alg.toLowerCase()}-${randomUUID().slice(0, 8)}` };
  }));
}

export function readKeys(file: string): PrivateJwks | null {
  if (!existsSync(file)) return null;
  const jwks = JSON.parse(readFileSync(file, 'utf8')) as PrivateJwks;
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error(`${file}: no keys in this JWKS`);
  return jwks;
}

function writeKeys(file: string, jwks: PrivateJwks): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(jwks, null, 2), { mode: 0o600 });
  renameSync(tmp, file);
}

/** Loads the keys, creating the file on first start when `create` allows it. */
export async function loadOrCreateKeys(file: string, create: boolean): Promise<PrivateJwks> {
  const existing = readKeys(file);
  if (existing) return existing;
  if (!create) throw new Error(`signing keys not found at ${file}: run "chucs keys rotate" to create them`);
  const jwks = { keys: await generateSigningKeys() };
  writeKeys(file, jwks);
  return jwks;
}

/** Adds a new generation of keys in front; drops generations beyond KEY_GENERATIONS_KEPT. */
export async function rotateKeys(file: string): Promise<{ added: string[]; retired: string[]; jwks: PrivateJwks }> {
  const fresh = await generateSigningKeys();
  const old = readKeys(file)?.keys ?? [];
  const keep = SIGNING_ALGS.length * (KEY_GENERATIONS_KEPT - 1);
  const jwks = { keys: [...fresh, ...old.slice(0, keep)] };
  writeKeys(file, jwks);
  return { added: fresh.map((k) => k.kid!), retired: old.slice(keep).map((k) => k.kid!), jwks };
}

/** The public half of each key, for display. */
export function publicKeyIds(jwks: PrivateJwks): Array<{ kid: string; alg: string }> {
  return jwks.keys.map((k) => ({ kid: k.kid ?? '', alg: k.alg ?? '' }));
}

const PRIVATE_JWK_PARTS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);

/** The public half of every key, for verifying what CHUCS signed (its own tokens) in-process. */
export function publicJwks(jwks: PrivateJwks): PrivateJwks {
  return { keys: jwks.keys.map((k) => Object.fromEntries(Object.entries(k).filter(([name]) => !PRIVATE_JWK_PARTS.has(name))) as JWK) };
}

/** Where the signing keys are kept: the configured file, or jwks.json in the data folder. */
export function keysFileOf(config: { keysFile?: string | undefined; dataDir: string }): string {
  return config.keysFile ?? path.join(config.dataDir, 'jwks.json');
}
