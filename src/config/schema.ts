import { z } from 'zod';

const throttleRule = z.object({
  freeFailures: z.number().int().min(1),
  baseDelaySeconds: z.number().positive(),
  maxDelaySeconds: z.number().positive(),
  forgetAfterSeconds: z.number().positive(),
});

export const configSchema = z.object({
  env: z.enum(['development', 'production', 'test']),
  issuer: z.url({ protocol: /^https?$/ }).refine((u) => !u.endsWith('/'), 'must not end with "/"'),
  port: z.number().int().min(0).max(65535),
  /** PostgreSQL 15+; absent means the embedded PGlite database in `dataDir`. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres://').optional(),
  /** Schema to use on PostgreSQL (tests give each file its own). */
  databaseSchema: z.string().regex(/^[a-z_][a-z0-9_]*$/).optional(),
  dataDir: z.string().min(1),
  trustProxy: z.boolean(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  /** JWKS file with the private signing keys; defaults to `<dataDir>/jwks.json`. */
  keysFile: z.string().min(1).optional(),
  /** Cookie signing keys, newest first; generated into the data folder outside production. */
  cookieKeys: z.array(z.string().min(32, 'each cookie key needs at least 32 characters')).min(1).optional(),
  /** 32 bytes, base64: encrypts client secrets at rest. */
  encryptionKey: z.string().refine((k) => Buffer.from(k, 'base64').length === 32, 'must be 32 bytes in base64').optional(),
  argon2: z.object({
    memoryKib: z.number().int().min(1024),
    timeCost: z.number().int().min(1),
    parallelism: z.number().int().min(1),
  }),
  throttle: z.object({ identifier: throttleRule, ip: throttleRule }),
  ttl: z.object({
    accessTokenSeconds: z.number().int().positive(),
    refreshTokenSeconds: z.number().int().positive(),
    sessionSeconds: z.number().int().positive(),
    authorizationCodeSeconds: z.number().int().positive().max(600),
  }),
  /**
   * Hosts that CHUCS may call although they resolve to private or loopback addresses
   * (back-channel logout to apps on the company network). Exact names or `*.suffix`.
   * Everything else is guarded against server-side request forgery.
   */
  privateNetworkHosts: z.array(z.string().regex(/^(\*\.)?[\w.-]+$/, 'a host name or *.suffix')),
  merge: z.object({
    /** Values that glue strangers together (demo numbers, test addresses): never evidence. */
    placeholders: z.object({ phone: z.array(z.string()), email: z.array(z.string()) }),
    /** A value shared by more records than this is not one person's: reported, not used. */
    maxRecordsPerValue: z.number().int().min(2),
    /** Which source's profile values win when verification does not decide. */
    sourcePriority: z.array(z.string()),
    /** Records per transaction when applying a plan (a checkpoint after each). */
    batchSize: z.number().int().min(1),
  }),
  /** Seconds a node serves an app's settings from memory (0: always from the database). */
  clientCacheSeconds: z.number().int().min(0).max(300),
  sweepIntervalSeconds: z.number().int().positive(),
  requestTimeoutMs: z.number().int().positive(),
});

export type Config = z.infer<typeof configSchema>;
