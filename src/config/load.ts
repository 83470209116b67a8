import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { configSchema, type Config } from './schema.ts';
import { projectRoot } from '../paths.ts';

/** Environment variables and the config key each one sets. The only place that reads process.env. */
const ENV_KEYS = {
  NODE_ENV: ['env', String],
  ISSUER: ['issuer', String],
  PORT: ['port', Number],
  DATABASE_URL: ['databaseUrl', String],
  CHUCS_DB_SCHEMA: ['databaseSchema', String],
  CHUCS_DATA_DIR: ['dataDir', String],
  TRUST_PROXY: ['trustProxy', (v: string) => v === 'true' || v === '1'],
  PROXY_HOPS: ['proxyHops', Number],
  LOG_LEVEL: ['logLevel', String],
  CHUCS_KEYS_FILE: ['keysFile', String],
  CHUCS_COOKIE_KEYS: ['cookieKeys', (v: string) => v.split(',').map((k) => k.trim())],
  CHUCS_ENCRYPTION_KEY: ['encryptionKey', String],
  CHUCS_SMS_SECRET: ['messaging.sms.secret', String],
  CHUCS_SMTP_PASSWORD: ['messaging.email.password', String],
  CHUCS_METRICS_TOKEN: ['metrics.token', String],
} as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets a dotted key (`messaging.sms.secret`) in a nested object. */
function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = isObject(prev) && isObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

/**
 * Builds the configuration: config/default.json, then the file named by CHUCS_CONFIG,
 * then environment variables, then `overrides` (tests). Fails with a message naming the key.
 */
export function loadConfig(env: Env = process.env, overrides: Record<string, unknown> = {}): Readonly<Config> {
  let raw = readJson(path.join(projectRoot, 'config', 'default.json'));
  if (env.CHUCS_CONFIG) {
    if (!existsSync(env.CHUCS_CONFIG)) throw new ConfigError(`CHUCS_CONFIG: file not found: ${env.CHUCS_CONFIG}`);
    raw = deepMerge(raw, readJson(env.CHUCS_CONFIG));
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [name, [key, parse]] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(fromEnv, key, parse(value));
  }
  raw = deepMerge(raw, fromEnv);
  raw = deepMerge(raw, overrides);
  // Each upstream's secret may come from CHUCS_UPSTREAM_<ID>_SECRET rather than a file.
  if (Array.isArray(raw.upstreams)) {
    raw.upstreams = raw.upstreams.map((u: Record<string, unknown>) => {
      const name = `CHUCS_UPSTREAM_${String(u.id ?? '').toUpperCase().replaceAll('-', '_')}_SECRET`;
      return isObject(u) && u.clientSecret === undefined && env[name] ? { ...u, clientSecret: env[name] } : u;
    });
  }
  // Each HMAC webhook's secret may come from CHUCS_WEBHOOK_<ID>_SECRET rather than a file.
  if (Array.isArray(raw.webhooks)) {
    raw.webhooks = raw.webhooks.map((w: Record<string, unknown>) => {
      const name = `CHUCS_WEBHOOK_${String(w.id ?? '').toUpperCase().replaceAll('-', '_')}_SECRET`;
      return isObject(w) && w.secret === undefined && env[name] ? { ...w, secret: env[name] } : w;
    });
  }
  raw.env ??= 'development';
  raw.issuer ??= `http://localhost:${raw.port ?? 3000}`;

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const config = parsed.data;
  if (config.env === 'production' && !config.issuer.startsWith('https://')) {
    throw new ConfigError('issuer: must be https:// in production');
  }
  // Events carry personal data: plain http only to this machine or a host the operator named.
  for (const [i, webhook] of config.webhooks.entries()) {
    const { protocol, hostname } = new URL(webhook.url);
    const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
    const named = config.privateNetworkHosts.some((p) => (p.startsWith('*.') ? host.endsWith(p.slice(1).toLowerCase()) : host === p.toLowerCase()));
    if (protocol === 'http:' && !['127.0.0.1', 'localhost', '::1'].includes(host) && !named) {
      throw new ConfigError(`invalid configuration:\n  webhooks.${i}.url: must be https (plain http only to this machine or a host in privateNetworkHosts)`);
    }
  }
  // The development providers print codes to the log: never where real people sign in.
  for (const channel of ['sms', 'email'] as const) {
    if (config.env === 'production' && config.messaging[channel].provider === 'development') {
      throw new ConfigError(`messaging.${channel}: the development provider cannot be used in production`);
    }
  }
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (isObject(value) || Array.isArray(value)) {
    for (const v of Object.values(value as object)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Config values that are secret, for log redaction. */
export const SECRET_CONFIG_PATHS = ['cookieKeys', 'encryptionKey', 'databaseUrl', 'messaging.sms.secret', 'messaging.email.password', 'metrics.token'];

/**
 * What serving HTTP needs beyond a valid configuration (the CLI does not serve). CHUCS speaks
 * plain http; in production a TLS proxy stands in front. Without trusting it, every request
 * looks insecure (cookies lose Secure) and comes from the proxy's address (throttles would
 * count everyone as one).
 */
export function assertServable(config: Config): void {
  if (config.env === 'production' && !config.trustProxy) {
    throw new ConfigError('trustProxy: must be true in production (TRUST_PROXY=true behind the TLS proxy)');
  }
}

export function describeConfig(config: Config): Record<string, unknown> {
  const shown = structuredClone(config) as Record<string, unknown>;
  for (const dotted of SECRET_CONFIG_PATHS) {
    const keys = dotted.split('.');
    const parent = keys.slice(0, -1).reduce<Record<string, unknown> | undefined>((node, k) => node?.[k] as Record<string, unknown> | undefined, shown);
    if (parent?.[keys.at(-1)!] !== undefined) parent[keys.at(-1)!] = '[redacted]';
  }
  for (const upstream of shown.upstreams as Array<Record<string, unknown>>) if (upstream.clientSecret) upstream.clientSecret = '[redacted]';
  for (const webhook of shown.webhooks as Array<Record<string, unknown>>) if (webhook.secret) webhook.secret = '[redacted]';
  return shown;
}


