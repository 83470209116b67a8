import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError } from './load.ts';
import type { Config } from './schema.ts';

export interface RuntimeSecrets {
  /** Cookie signing keys, newest first (also the CSRF token key). */
  cookieKeys: string[];
  /** Encrypts client secrets and upstream tokens at rest. */
  encryptionKey: string;
}

/**
 * Secrets from config; outside production, missing ones are generated once into
 * `<dataDir>/secrets.json` (mode 0600) so a fresh checkout starts with one command.
 */
export function resolveSecrets(config: Config): RuntimeSecrets {
  if (config.cookieKeys && config.encryptionKey) {
    return { cookieKeys: [...config.cookieKeys], encryptionKey: config.encryptionKey };
  }
  if (config.env === 'production') {
    throw new ConfigError('CHUCS_COOKIE_KEYS and CHUCS_ENCRYPTION_KEY are required in production');
  }
  const file = path.join(config.dataDir, 'secrets.json');
  let stored: Partial<RuntimeSecrets> = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8'));
  const secrets: RuntimeSecrets = {
    cookieKeys: config.cookieKeys ? [...config.cookieKeys] : stored.cookieKeys ?? [randomBytes(32).toString('base64url')],
    encryptionKey: config.encryptionKey ?? stored.encryptionKey ?? randomBytes(32).toString('base64'),
  };
  if (JSON.stringify(secrets) !== JSON.stringify(stored)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}
