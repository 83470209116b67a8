import { z } from 'zod';
import { EVENT_TYPES } from '../events/event-types.ts';

const throttleRule = z.object({
  freeFailures: z.number().int().min(1),
  baseDelaySeconds: z.number().positive(),
  maxDelaySeconds: z.number().positive(),
  forgetAfterSeconds: z.number().positive(),
});

const smsSettings = z.discriminatedUnion('provider', [
  /** Writes messages to the log and an in-memory outbox (tests, a developer's machine). */
  z.object({ provider: z.literal('development') }),
  /** An HTTP SMS gateway: a signed JSON POST per message, with a timeout and retries. */
  z.object({
    provider: z.literal('http'),
    url: z.url({ protocol: /^https?$/ }),
    /** The gateway's template for verification codes (its text is registered with the carrier). */
    codeTemplateId: z.string().min(1),
    /** Signature name registered with the carrier, e.g. 【长虹】. */
    signName: z.string().min(1),
    accessKeyId: z.string().min(1),
    /** HMAC-SHA256 key for the request signature (CHUCS_SMS_SECRET). */
    secret: z.string().min(16, 'needs at least 16 characters'),
    timeoutMs: z.number().int().positive(),
    retries: z.number().int().min(0).max(5),
  }),
]);

const emailSettings = z.discriminatedUnion('provider', [
  z.object({ provider: z.literal('development') }),
  z.object({
    provider: z.literal('smtp'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
    secure: z.boolean(),
    user: z.string().min(1).optional(),
    /** CHUCS_SMTP_PASSWORD */
    password: z.string().min(1).optional(),
    from: z.string().min(3),
    timeoutMs: z.number().int().positive(),
  }),
]);

const upstreamCommon = {
  /** Also the last part of the callback URL: `<issuer>/upstream/callback/<id>`. */
  id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/),
  name: z.object({ zh: z.string().min(1), en: z.string().min(1) }).optional(),
  clientId: z.string().min(1),
  /** Read from `CHUCS_UPSTREAM_<ID>_SECRET` when absent here (ID upper-cased, - as _). */
  clientSecret: z.string().min(1).optional(),
  /**
   * Link automatically to the account holding the same verified email or phone when this
   * upstream asserts it verified them. Off by default: only for upstreams trusted that far.
   */
  trustVerifiedEmail: z.boolean().default(false),
  trustVerifiedPhone: z.boolean().default(false),
  timeoutMs: z.number().int().positive().default(8000),
};
/** https, or plain http to this machine only (tests): the app secret travels in these requests. */
const secureUrl = z.url().refine((u) => u.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(u), 'must be https (plain http only to 127.0.0.1 or localhost)');
/** Endpoint overrides of the Chinese providers (tests, proxies); their public URLs by default. */
const endpoints = z.object({ authorize: secureUrl, token: secureUrl, userinfo: secureUrl, openid: secureUrl.optional() }).partial();

export const upstreamSchema = z.discriminatedUnion('kind', [
  /** WeChat website QR login (open platform): clientId is the AppID, clientSecret the AppSecret. */
  z.object({ kind: z.literal('wechat'), ...upstreamCommon, endpoints: endpoints.optional() }),
  /** QQ Connect: clientId is the APP ID, clientSecret the APP Key. */
  z.object({ kind: z.literal('qq'), ...upstreamCommon, endpoints: endpoints.optional() }),
  /** Weibo: clientId is the App Key, clientSecret the App Secret. */
  z.object({ kind: z.literal('weibo'), ...upstreamCommon, endpoints: endpoints.optional() }),
  /** Any OpenID Connect provider, by discovery. */
  z.object({ kind: z.literal('oidc'), ...upstreamCommon, issuer: z.url(), scope: z.string().default('openid profile email') }),
  /** Any OAuth 2.0 provider with a user-info endpoint. */
  z.object({
    kind: z.literal('oauth2'), ...upstreamCommon,
    authorizationUrl: z.url(), tokenUrl: z.url(), userinfoUrl: z.url(),
    scope: z.string().default(''),
    /** Field of the user-info answer that identifies the person (dots for nesting). */
    subjectField: z.string().min(1).default('id'),
    nicknameField: z.string().optional(),
    emailField: z.string().optional(),
  }),
]);

export type UpstreamSettings = z.infer<typeof upstreamSchema>;

const webhookCommon = {
  /** Names the subscriber in delivery state, logs and `chucs events replay --subscriber`. */
  id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/),
  /** https; plain http only to this machine or a host in privateNetworkHosts (checked in load.ts). */
  url: z.url({ protocol: /^https?$/ }),
  /** The event types this subscriber receives; all when absent. */
  events: z.array(z.enum(EVENT_TYPES)).min(1).optional(),
};

/** A downstream system that receives signed events (src/events/webhooks.ts). */
export const webhookSchema = z.discriminatedUnion('signing', [
  /** A detached JWS over the body with CHUCS's signing key: verified against `<issuer>/jwks`. */
  z.object({ ...webhookCommon, signing: z.literal('jws') }),
  /** HMAC-SHA256 over the body; the secret is read from `CHUCS_WEBHOOK_<ID>_SECRET` when absent here. */
  z.object({ ...webhookCommon, signing: z.literal('hmac'), secret: z.string().min(32, 'needs at least 32 characters (CHUCS_WEBHOOK_<ID>_SECRET)') }),
]);

export type WebhookSettings = z.infer<typeof webhookSchema>;

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
  /**
   * How many proxies in front of CHUCS append to X-Forwarded-For (with trustProxy): the
   * client address is read that many entries from the right, never from what the client wrote.
   */
  proxyHops: z.number().int().min(1).max(10),
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
  /**
   * identifier and ip: password sign-ins. userCode: device codes typed at /device, per address
   * (the codes are 8 digits; a stranger guessing them could confirm someone's TV).
   */
  throttle: z.object({ identifier: throttleRule, ip: throttleRule, userCode: throttleRule }),
  /**
   * A failed password sign-in answers no sooner than this after it began, whatever it cost:
   * an unknown identifier, an argon2id account and a bcrypt or PBKDF2 legacy account then fail
   * alike, so the time of a failure does not tell who has an account.
   */
  passwordFailureFloorMs: z.number().int().min(0).max(10_000),
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
    /**
     * Batches written at once when applying on PostgreSQL, each on a connection of its own.
     * Two uses both cores of a 2-core database server; more helps only with more cores.
     */
    applyWorkers: z.number().int().min(1).max(16),
  }),
  /** One-time codes by SMS and email (sign-in, verifying an identifier, step-up). */
  codes: z.object({
    ttlSeconds: z.number().int().min(60).max(1800),
    /** Wrong entries a code survives; the next one burns it. */
    maxAttempts: z.number().int().min(1).max(10),
    /** Seconds before another code may go to the same phone or email. */
    resendSeconds: z.number().int().min(0),
    /** Codes per phone or email in 24 hours. */
    dailyPerTarget: z.number().int().min(1),
    /** Codes requested from one client address in 24 hours. */
    dailyPerIp: z.number().int().min(1),
    /** Codes per channel in one hour, all people together; reaching it opens the circuit breaker. */
    hourlyGlobal: z.object({ sms: z.number().int().min(1), email: z.number().int().min(1) }),
    /** How long an open breaker refuses to send before it tries again. */
    breakerSeconds: z.number().int().min(1),
    /**
     * Country calling codes SMS codes may go to. Premium-rate and satellite ranges are what
     * SMS pumping targets; a number elsewhere gets a clear refusal, never a message.
     */
    smsCountryCodes: z.array(z.string().regex(/^[1-9]\d{0,2}$/)).min(1),
  }),
  messaging: z.object({ sms: smsSettings, email: emailSettings }),
  accountCenter: z.object({
    /** Seconds after a sign-in (or a fresh code) during which passwords and identifiers may change. */
    stepUpSeconds: z.number().int().min(60),
    /**
     * Where the account center reaches the provider's token endpoint; defaults to the issuer.
     * Set it when the issuer's public address is not reachable from the server itself.
     */
    providerUrl: z.url({ protocol: /^https?$/ }).optional(),
  }),
  /** Upstream identity providers people may sign in with (each app may narrow the list). */
  upstreams: z.array(upstreamSchema).refine((list) => new Set(list.map((u) => u.id)).size === list.length, 'upstream ids must be unique'),
  /** Links shown where people register; without them the terms are named but not linked. */
  legal: z.object({ termsUrl: z.url().optional(), privacyUrl: z.url().optional() }),
  /** Approximate places for address ranges, shown in the security log (e.g. company networks). */
  ipPlaces: z.array(z.object({ cidr: z.string().regex(/^[0-9a-f.:]+\/\d{1,3}$/i, 'an address range like 10.0.0.0/8'), place: z.string().min(1) })),
  /** Seconds a node serves an app's settings from memory (0: always from the database). */
  clientCacheSeconds: z.number().int().min(0).max(300),
  sweepIntervalSeconds: z.number().int().positive(),
  /** Downstream systems that receive events; each keeps its own delivery state. */
  webhooks: z.array(webhookSchema).refine((list) => new Set(list.map((w) => w.id)).size === list.length, 'webhook ids must be unique'),
  /** Delivery of events to the webhooks: at least once, an account's in order. */
  events: z.object({
    /** How often a node looks for events to deliver when there was nothing to do. */
    pollMs: z.number().int().min(10),
    /** Deliveries claimed (and sent in parallel) per round. */
    batchSize: z.number().int().min(1).max(500),
    /** A receiver that has not answered by then has failed this attempt. */
    timeoutMs: z.number().int().positive(),
    /** Wait after the first failed attempt; doubled after each further one, up to retryMaxMs. */
    retryBaseMs: z.number().int().positive(),
    retryMaxMs: z.number().int().positive(),
    /**
     * Events every subscriber has received are deleted this many days after they were written
     * (by the sweep): how far back `chucs events replay` and `events tail` reach.
     */
    retentionDays: z.number().int().min(1),
  }),
  requestTimeoutMs: z.number().int().positive(),
  /** PostgreSQL connection limits: what makes requests fail fast while the database is away. */
  database: z.object({
    /** A new connection not established by then has failed (server down or unreachable). */
    connectTimeoutMs: z.number().int().positive(),
    /** A query with no answer by then has failed; its connection is closed. Not applied to the CLI. */
    queryTimeoutMs: z.number().int().positive(),
    poolMax: z.number().int().min(1),
  }),
  /** Prometheus metrics at /metrics (src/ops/metrics.ts). */
  metrics: z.object({
    enabled: z.boolean(),
    /**
     * Bearer token the scraper sends (CHUCS_METRICS_TOKEN). Without one, /metrics answers only
     * requests from loopback or private addresses that did not come through a proxy.
     */
    token: z.string().min(24, 'needs at least 24 characters').optional(),
  }),
});

export type Config = z.infer<typeof configSchema>;
