/**
 * The server side of bench/oidc.bench.ts, run in a child process so that the server's
 * event loop does not share a thread with the load generator. Started with an IPC channel;
 * the parent sends one `start` message, then `stats`/`mint` requests, then `stop`.
 *
 * kinds:
 *  - chucs-pglite: createChucs on a fresh PGlite data folder (the production path: config.dataDir)
 *  - chucs-pg:     createChucs on PostgreSQL, in a fresh schema (dropped by the parent)
 *  - bare:         oidc-provider 9 with its default in-memory adapter and static clients
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hash, verify } from '@node-rs/argon2';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import Provider, { type Configuration } from 'oidc-provider';
import { loadConfig } from '../src/config/load.ts';
import { createChucs, type Chucs } from '../src/app.ts';
import { createLogger } from '../src/logger.ts';
import { openDatabase, type Db } from '../src/db/database.ts';
import { generateSigningKeys } from '../src/oidc/keys.ts';

export type ServerKind = 'chucs-pglite' | 'chucs-pg' | 'bare';

export interface StartMessage {
  cmd: 'start';
  kind: ServerKind;
  /** chucs-pglite: the (empty) data folder. */
  dataDir?: string;
  /** chucs-pg: server URL, schema and pool size. */
  pgUrl?: string;
  schema?: string;
  poolMax?: number;
  /** CHUCS env: production (https issuer behind a TLS proxy, cached views) or development. */
  env: 'production' | 'development';
  users: number;
  password: string;
}

export interface ClientCreds { clientId: string; clientSecret: string }

export interface Ready {
  type: 'ready';
  url: string;
  issuer: string;
  /** Confidential client allowed client_credentials. */
  service: ClientCreds;
  /** Confidential first-party web client (code + refresh). */
  web: ClientCreds & { redirectUri: string };
  /** Login identifiers of the bench users (all with `password`). */
  identifiers: string[];
  startupMs: number;
}

export interface Stats {
  type: 'stats';
  cpuMicros: number;
  queries: number;
  sql: Record<string, number>;
  elu: number;
}

const REDIRECT_URI = 'http://127.0.0.1:9/cb';

let server: Server | undefined;
let chucs: Chucs | undefined;
let ownDb: Db | undefined;
let provider: Provider | undefined;
let queries = 0;
let sql = new Map<string, number>();
let lastElu = performance.eventLoopUtilization();
let profiler: Session | undefined;

function send(msg: unknown) {
  process.send!(msg);
}

function countQueries(db: Db) {
  // Cheap: one counter and one map entry per distinct SQL text (the same text for a query shape).
  db.on('query', (q: { sql: string }) => {
    queries++;
    sql.set(q.sql, (sql.get(q.sql) ?? 0) + 1);
  });
}

/** Requests being handled: a load generator that stops leaves some in flight. */
let inFlight = 0;

async function listen(): Promise<{ server: Server; port: number }> {
  const s = createServer();
  s.on('request', (_req, res) => {
    inFlight++;
    res.once('close', () => inFlight--);
  });
  s.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { server: s, port: (s.address() as AddressInfo).port };
}

async function startChucs(msg: StartMessage): Promise<Omit<Ready, 'type' | 'startupMs'>> {
  const listening = await listen();
  server = listening.server;
  const url = `http://127.0.0.1:${listening.port}`;
  // In production CHUCS runs behind a TLS-terminating proxy: an https issuer, trustProxy, and
  // the load generator sends X-Forwarded-Proto: https (as the proxy would).
  const production = msg.env === 'production';
  const issuer = production ? `https://127.0.0.1:${listening.port}` : url;
  const config = loadConfig({}, {
    env: msg.env,
    issuer,
    trustProxy: production,
    logLevel: 'silent',
    dataDir: msg.dataDir ?? '/nonexistent-bench-data-dir',
    cookieKeys: [randomBytes(32).toString('base64url')],
    encryptionKey: randomBytes(32).toString('base64'),
    // Production refuses the development SMS/email providers; the benchmark sends no codes,
    // so these point at a closed port.
    messaging: {
      sms: { provider: 'http', url: 'http://127.0.0.1:9/sms', codeTemplateId: 'bench', signName: '【长虹】', accessKeyId: 'bench', secret: randomBytes(16).toString('hex'), timeoutMs: 1000, retries: 0 },
      email: { provider: 'smtp', host: '127.0.0.1', port: 9, secure: false, from: 'bench@example.com', timeoutMs: 1000 },
    },
    ...(msg.kind === 'chucs-pg' ? { databaseUrl: msg.pgUrl, databaseSchema: msg.schema } : {}),
  });
  if (msg.kind === 'chucs-pg') {
    ownDb = await openDatabase({ url: msg.pgUrl, schema: msg.schema, poolMax: msg.poolMax ?? 10 });
  }
  chucs = await createChucs(config, { db: ownDb, jwks: { keys: await generateSigningKeys() }, logger: createLogger('silent') });
  countQueries(chucs.db);
  server.on('request', chucs.app.callback());

  const service = await chucs.clients.add({ name: 'Bench service', grantTypes: ['client_credentials'] }, 'bench');
  const web = await chucs.clients.add({
    name: 'Bench web', firstParty: true, redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token'],
  }, 'bench');
  const identifiers: string[] = [];
  for (let i = 0; i < msg.users; i++) {
    const email = `bench-${i}@example.com`;
    await chucs.identity.createAccount({
      identifiers: [{ kind: 'email', value: email, verified: true, source: 'bench' }],
      password: msg.password, actor: 'bench', profile: { name: `压测用户 ${i}`, nickname: `压测${i}` },
    });
    identifiers.push(email);
  }
  return {
    url, issuer,
    service: { clientId: service.clientId, clientSecret: service.clientSecret! },
    web: { clientId: web.clientId, clientSecret: web.clientSecret!, redirectUri: REDIRECT_URI },
    identifiers,
  };
}

const BARE_ACCOUNT = 'bench-account';

async function startBare(password: string): Promise<Omit<Ready, 'type' | 'startupMs'>> {
  const listening = await listen();
  server = listening.server;
  const url = `http://127.0.0.1:${listening.port}`;
  const service = { clientId: 'bench-service', clientSecret: randomBytes(32).toString('base64url') };
  const web = { clientId: 'bench-web', clientSecret: randomBytes(32).toString('base64url'), redirectUri: REDIRECT_URI };
  const configuration: Configuration = {
    clients: [
      { client_id: service.clientId, client_secret: service.clientSecret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' },
      { client_id: web.clientId, client_secret: web.clientSecret, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT_URI], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'RS256' },
    ],
    // The same kind of keys CHUCS signs with (RS256 ID tokens), so refresh does the same crypto.
    jwks: { keys: await generateSigningKeys() } as Configuration['jwks'],
    scopes: ['openid', 'offline_access', 'profile', 'email', 'phone'],
    async findAccount(_ctx, sub) {
      return { accountId: sub, claims: async () => ({ sub, name: '压测用户', nickname: '压测', email: 'bench@example.com', email_verified: true }) };
    },
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
    },
  };
  provider = new Provider(url, configuration);
  const login = await bareLogin(provider, password);
  const callback = provider.callback();
  server.on('request', (req, res) => (req.url?.startsWith('/interaction/') ? login(req, res) : callback(req, res)));
  return { url, issuer: url, service, web, identifiers: [BARE_ACCOUNT] };
}

/**
 * bare only: the least a password login can be, as the ceiling of a login flow: a form with
 * a CSRF token, an argon2id verification (same parameters as CHUCS), the grant given without
 * a consent page (as CHUCS does for first-party apps). No database, no throttling, no audit.
 */
async function bareLogin(p: Provider, password: string) {
  const { argon2 } = loadConfig({}, {});
  const stored = await hash(password, { algorithm: 2, memoryCost: argon2.memoryKib, timeCost: argon2.timeCost, parallelism: argon2.parallelism } as Parameters<typeof hash>[1]);
  const csrf = new Map<string, string>();
  return async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const details = await p.interactionDetails(req, res);
      if (req.method === 'GET') {
        const token = randomBytes(16).toString('base64url');
        csrf.set(details.uid, token);
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(`<form method="post" action="/interaction/${details.uid}/login"><input type="hidden" name="_csrf" value="${token}">` +
          '<input name="identifier" autocomplete="username"><input name="password" type="password" autocomplete="current-password"></form>');
        return;
      }
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      if (form.get('_csrf') !== csrf.get(details.uid)) throw new Error('bad csrf');
      csrf.delete(details.uid);
      if (form.get('identifier') !== BARE_ACCOUNT || !(await verify(stored, form.get('password') ?? ''))) throw new Error('wrong password');
      const grant = new p.Grant({ accountId: BARE_ACCOUNT, clientId: details.params.client_id as string });
      grant.addOIDCScope(String(details.params.scope));
      await p.interactionFinished(req, res, { login: { accountId: BARE_ACCOUNT }, consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: false });
    } catch (err) {
      res.statusCode = 400;
      res.end((err as Error).message);
    }
  };
}

/** bare only: access and refresh tokens minted through the provider's models (no login UI). */
async function mint(n: number): Promise<{ accessToken: string; refreshTokens: string[] }> {
  const p = provider!;
  const client = (await p.Client.find('bench-web'))!;
  const grant = new p.Grant({ accountId: BARE_ACCOUNT, clientId: client.clientId });
  grant.addOIDCScope('openid offline_access profile email');
  const grantId = await grant.save();
  const scope = 'openid offline_access profile email';
  const accessToken = await new p.AccessToken({ accountId: BARE_ACCOUNT, client, grantId, scope, gty: 'authorization_code' }).save();
  const refreshTokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const g = new p.Grant({ accountId: BARE_ACCOUNT, clientId: client.clientId });
    g.addOIDCScope(scope);
    const gid = await g.save();
    const authTime = Math.floor(Date.now() / 1000);
    refreshTokens.push(await new p.RefreshToken({
      accountId: BARE_ACCOUNT, client, grantId: gid, scope, gty: 'authorization_code', authTime, iiat: authTime, rotations: 0,
    } as ConstructorParameters<typeof p.RefreshToken>[0]).save());
  }
  return { accessToken, refreshTokens };
}

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  stopping ??= doStop();
  return stopping;
}

async function doStop() {
  if (server) {
    // Let abandoned requests (the load generator stops mid-request) finish before the database
    // goes: no open responses and no queries in the pool, at most 5 s.
    const pool = (chucs?.db ?? ownDb)?.client.pool as { numUsed(): number; numPendingAcquires(): number } | undefined;
    const busy = () => inFlight > 0 || (pool ? pool.numUsed() + pool.numPendingAcquires() > 0 : false);
    for (let i = 0; i < 50 && busy(); i++) await new Promise((r) => setTimeout(r, 100));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
  }
  await chucs?.close();
  await ownDb?.destroy();
}

process.on('message', async (msg: { cmd: string; [k: string]: unknown }) => {
  try {
    if (msg.cmd === 'start') {
      const started = performance.now();
      const m = msg as unknown as StartMessage;
      const ready = m.kind === 'bare' ? await startBare(m.password) : await startChucs(m);
      send({ type: 'ready', ...ready, startupMs: Math.round(performance.now() - started) } satisfies Ready);
    } else if (msg.cmd === 'stats') {
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization(lastElu);
      lastElu = performance.eventLoopUtilization();
      const shapes: Record<string, number> = {};
      for (const [text, n] of sql) {
        const shape = text.replace(/\s+/g, ' ').slice(0, 160);
        shapes[shape] = (shapes[shape] ?? 0) + n;
      }
      send({ type: 'stats', cpuMicros: cpu.user + cpu.system, queries, sql: shapes, elu: elu.utilization } satisfies Stats);
      sql = new Map();
    } else if (msg.cmd === 'prof-start') {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 250 });
      await profiler.post('Profiler.start');
      send({ type: 'prof-started' });
    } else if (msg.cmd === 'prof-stop') {
      const { profile } = await profiler!.post('Profiler.stop');
      profiler!.disconnect();
      writeFileSync(String(msg.file), JSON.stringify(profile));
      send({ type: 'prof-stopped' });
    } else if (msg.cmd === 'mint') {
      send({ type: 'minted', ...(await mint(Number(msg.n))) });
    } else if (msg.cmd === 'stop') {
      await stop();
      send({ type: 'stopped' });
      process.disconnect();
    }
  } catch (err) {
    send({ type: 'error', message: (err as Error).stack ?? String(err) });
  }
});

// The parent going away (crash, Ctrl-C) ends this process too.
process.on('disconnect', () => {
  void stop().finally(() => process.exit(0));
});
