/**
 * CHUCS throughput benchmark (not a test): `npm run bench [-- --duration 10 ...]`.
 *
 * In one run, side by side:
 *  - CHUCS on PGlite and CHUCS on PostgreSQL, each a real server (createChucs) on a loopback
 *    port in a child process, on a fresh database (a new PGlite data folder / a new schema):
 *    client_credentials, refresh_token, userinfo, introspection (autocannon), and complete
 *    password login flows (a small concurrent loop on node:http, cookies by hand);
 *  - the ceilings: bare oidc-provider 9 with its in-memory adapter on the same endpoints,
 *    and argon2id verifications per second with the same parameters on the same cores.
 * Prints a table and writes it into BENCHMARKS.md (between the bench:begin/end markers).
 *
 * Options (all optional): --duration s, --warmup s, --connections n, --flow-concurrency n,
 * --argon2-concurrency 2,4, --pg-url url, --pg-pool n, --users n, --env production|development,
 * --only argon2,bare,pglite,pg, --endpoints cc,refresh,userinfo,introspection,login,
 * --out file, --no-write, --sql (print the SQL run per request), --server-cpu-prof dir (a CPU
 * profile of the server per window), --repeat n (best of n windows), --quiet-timeout s (how long
 * to wait for other work on the machine to stop before each window).
 */
import { fork, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync, mkdtempSync, mkdirSync, rmSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result, type RawRequest, type RequestSpec } from 'autocannon';
import pg from 'pg';
import { hash, verify } from '@node-rs/argon2';
import { loadConfig } from '../src/config/load.ts';
import type { Ready, ServerKind, Stats, StartMessage, ClientCreds } from './server.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);

// ---------------------------------------------------------------------------------------
// Options

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '10' },
    'flow-concurrency': { type: 'string', default: '8' },
    'argon2-concurrency': { type: 'string', default: '2,4' },
    'pg-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/chucs_bench' },
    'pg-pool': { type: 'string', default: '10' },
    users: { type: 'string', default: '16' },
    env: { type: 'string', default: 'production' },
    only: { type: 'string', default: 'argon2,bare,pglite,pg' },
    endpoints: { type: 'string', default: 'cc,refresh,userinfo,introspection,login' },
    out: { type: 'string', default: path.join(root, 'BENCHMARKS.md') },
    'no-write': { type: 'boolean', default: false },
    sql: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    'quiet-timeout': { type: 'string', default: '90' },
    'server-cpu-prof': { type: 'string' },
  },
  allowPositionals: false,
});

const DURATION = Number(opt.duration);
const WARMUP = Number(opt.warmup);
const CONNECTIONS = Number(opt.connections);
const FLOW_CONCURRENCY = Number(opt['flow-concurrency']);
const ARGON2_CONCURRENCY = opt['argon2-concurrency'].split(',').map(Number);
const PG_POOL = Number(opt['pg-pool']);
const USERS = Number(opt.users);
const ENV = opt.env === 'development' ? 'development' : 'production';
const ONLY = new Set(opt.only.split(','));
const ENDPOINTS = new Set(opt.endpoints.split(','));
const REPEAT = Math.max(1, Number(opt.repeat));
const QUIET_TIMEOUT = Number(opt['quiet-timeout']);
const PASSWORD = 'correct horse battery staple';
const ARGON2 = loadConfig({}, {}).argon2;

const argv = process.argv.slice(2);
const COMMAND = process.env.npm_lifecycle_event === 'bench'
  ? `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`
  : `node bench/oidc.bench.ts${argv.length ? ` ${argv.join(' ')}` : ''}`;

// ---------------------------------------------------------------------------------------
// Cleanup: children, the PostgreSQL schema, PGlite folders. Idempotent; also on Ctrl-C.

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
const schemas = new Set<string>();

async function dropSchemas() {
  if (schemas.size === 0) return;
  const client = new pg.Client({ connectionString: opt['pg-url'] });
  try {
    await client.connect();
    for (const schema of schemas) {
      await client.query(`drop schema if exists "${schema}" cascade`);
      schemas.delete(schema);
    }
  } finally {
    await client.end().catch(() => {});
  }
}

async function cleanup() {
  for (const child of children) child.kill('SIGTERM');
  children.clear();
  await dropSchemas().catch((err) => console.error(`bench: could not drop schema: ${(err as Error).message}`));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------
// CPU accounting: this process (load generator), the server child, PostgreSQL, the machine.

const CLK_TCK = 100;

function machineBusyTicks(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = fields.map(Number);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return total - n[3]! - n[4]!; // minus idle and iowait
}

const BENCH_DB = decodeURIComponent(new URL(opt['pg-url']).pathname.slice(1));

/**
 * CPU ticks of the PostgreSQL processes that work for the benchmark: backends connected to its
 * database and the server's background processes (WAL writer, checkpointer...). Backends of
 * other databases (other people's work on this machine) are left out, so they count as "other".
 */
function postgresTicks(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (!stat.slice(stat.indexOf('(') + 1, close).startsWith('postgres')) continue;
      // Backends are titled "postgres: 15/main: <user> <database> <client> <state>".
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      const backend = /^postgres: [^:]+: (\S+) (\S+) \S+\(\d+\)/.exec(title);
      if (backend && backend[2] !== BENCH_DB) continue;
      const f = stat.slice(close + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
    } catch { /* gone */ }
  }
  return ticks;
}

interface Snapshot { at: number; self: number; machine: number; postgres: number; server: Stats }

interface CpuShare { server: number; loadgen: number; postgres: number; machine: number; elu: number }

/** CPU (in cores) used by processes that are not ours (other work on this machine). */
const otherCpu = (c: CpuShare) => Math.max(0, c.machine - c.server - c.loadgen - c.postgres);

/**
 * Other work on the machine (tests run by other sessions, say) skews every figure. Before each
 * measurement, wait until the machine is nearly idle (at most QUIET_TIMEOUT seconds).
 */
async function waitQuiet(): Promise<void> {
  const deadline = performance.now() + QUIET_TIMEOUT * 1000;
  let waited = false;
  for (;;) {
    const a = machineBusyTicks();
    await new Promise((r) => setTimeout(r, 1000));
    const busy = (machineBusyTicks() - a) / CLK_TCK;
    if (busy < 0.25) break;
    if (performance.now() > deadline) {
      log(`  (machine still busy with other work: ${busy.toFixed(2)} cores; measuring anyway)`);
      break;
    }
    if (!waited) log(`  (waiting for a quiet machine: ${busy.toFixed(2)} cores busy with other work)`);
    waited = true;
  }
}

// ---------------------------------------------------------------------------------------
// A server child process

class ServerProcess {
  child: ChildProcess;
  private waiters: Array<{ type: string; resolve: (m: any) => void; reject: (e: Error) => void }> = [];
  ready!: Ready;
  readonly kind: ServerKind;

  constructor(kind: ServerKind) {
    this.kind = kind;
    this.child = fork(path.join(here, 'server.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(this.child);
    this.child.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'error') {
        const w = this.waiters.shift();
        w?.reject(new Error(`${kind} server: ${m.message}`));
        return;
      }
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    });
    this.child.on('exit', (code) => {
      children.delete(this.child);
      for (const w of this.waiters.splice(0)) w.reject(new Error(`${kind} server exited (${code})`));
    });
  }

  request<T>(msg: Record<string, unknown>, type: string, timeoutMs = 120_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.kind} server: no ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        type,
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.child.send(msg);
    });
  }

  async start(msg: Omit<StartMessage, 'cmd' | 'kind'>): Promise<Ready> {
    this.ready = await this.request<Ready>({ cmd: 'start', kind: this.kind, ...msg }, 'ready');
    return this.ready;
  }

  stats(): Promise<Stats> {
    return this.request<Stats>({ cmd: 'stats' }, 'stats');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.request({ cmd: 'stop' }, 'stopped', 30_000).catch(() => this.child.kill('SIGTERM'));
    await exited;
  }

  async snapshot(): Promise<Snapshot> {
    const server = await this.stats();
    const self = process.cpuUsage();
    return { at: performance.now(), self: self.user + self.system, machine: machineBusyTicks(), postgres: this.kind === 'chucs-pg' ? postgresTicks() : 0, server };
  }
}

function cpuBetween(a: Snapshot, b: Snapshot): CpuShare {
  const seconds = (b.at - a.at) / 1000;
  return {
    server: (b.server.cpuMicros - a.server.cpuMicros) / 1e6 / seconds,
    loadgen: (b.self - a.self) / 1e6 / seconds,
    postgres: Math.max(0, (b.postgres - a.postgres) / CLK_TCK / seconds),
    machine: (b.machine - a.machine) / CLK_TCK / seconds,
    elu: b.server.elu,
  };
}

// ---------------------------------------------------------------------------------------
// Measurements

interface Measurement {
  rate: number;
  p50: number;
  p99: number;
  ok: number;
  failed: number;
  statuses?: Record<string, number>;
  firstError?: string;
  queriesPerOp?: number;
  sql?: Array<[string, number]>;
  cpu?: CpuShare;
}

const basic = (c: ClientCreds) => `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

interface HttpLoad extends RawRequest {
  requests?: Parameters<typeof autocannon>[0]['requests'];
}

let profiles = 0;

/**
 * One measurement window on a server: the rate, latency, and what the server did meanwhile
 * (with --server-cpu-prof DIR, a CPU profile of the server during the window).
 */
async function window(server: ServerProcess, name: string, run: () => Promise<Omit<Measurement, 'cpu'> & { ops: number }>): Promise<Measurement> {
  const profDir = opt['server-cpu-prof'];
  if (profDir) await server.request({ cmd: 'prof-start' }, 'prof-started');
  const before = await server.snapshot();
  const { ops, ...r } = await run();
  const after = await server.snapshot();
  if (profDir) {
    mkdirSync(profDir, { recursive: true });
    const file = path.resolve(profDir, `${server.kind}-${name.split(' ')[0]}-${++profiles}.cpuprofile`);
    await server.request({ cmd: 'prof-stop', file }, 'prof-stopped');
    log(`  (server CPU profile: ${file})`);
  }
  const m: Measurement = { ...r, cpu: cpuBetween(before, after) };
  const queries = after.server.queries - before.server.queries;
  if (queries > 0) {
    m.queriesPerOp = queries / Math.max(1, ops);
    m.sql = Object.entries(after.server.sql).sort((a, b) => b[1] - a[1]).map(([q, n]) => [q, n / Math.max(1, ops)] as [string, number]);
  }
  return m;
}

/** Warm-up, then REPEAT windows each on a quiet machine; keeps the best rate. */
async function bestOf(name: string, warmup: () => Promise<unknown>, measure: () => Promise<Measurement>): Promise<Measurement> {
  if (WARMUP > 0) await warmup();
  let best: Measurement | undefined;
  for (let i = 0; i < REPEAT; i++) {
    await waitQuiet();
    const m = await measure();
    report(name, m);
    if (!best || m.rate > best.rate) best = m;
  }
  return best!;
}

function report(name: string, m: Measurement) {
  const c = m.cpu!;
  const other = otherCpu(c);
  log(`  ${name.padEnd(20)} ${fmtRate(m.rate)}/s  p50 ${fmtMs(m.p50)}  p99 ${fmtMs(m.p99)}  ` +
    `${m.failed ? `FAILED ${m.failed} ${m.statuses ? JSON.stringify(m.statuses) : ''} (${m.firstError}) ` : ''}` +
    `${m.rate > 0 && c.server > 0 ? `server cpu ${fmtMicros(c.server / m.rate)}/op  ` : ''}` +
    `cpu: server ${c.server.toFixed(2)} loadgen ${c.loadgen.toFixed(2)} pg ${c.postgres.toFixed(2)} other ${other.toFixed(2)}` +
    `${m.queriesPerOp ? `  ${m.queriesPerOp.toFixed(1)} queries/op` : ''}${other > DISTURBED ? '  [DISTURBED by other work]' : ''}`);
  if (opt.sql && m.sql) for (const [q, n] of m.sql) log(`      ${n.toFixed(2)}  ${q}`);
}

async function measureHttp(server: ServerProcess, name: string, load: HttpLoad): Promise<Measurement> {
  // autocannon takes the path from `url` or from `requests`, never from a top-level `path`.
  const { requests, ...single } = load;
  let firstError: string | undefined;
  const specs = (requests ?? [single]).map((spec: RequestSpec) => ({
    ...spec,
    onResponse: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => {
      if (status >= 300 && !firstError) firstError = `${status} ${body.slice(0, 300)}`;
      spec.onResponse?.(status, body, context, headers);
    },
  }));
  const base = { url: server.ready.url, connections: CONNECTIONS, requests: specs };
  return bestOf(name, () => autocannon({ ...base, duration: WARMUP }), () => window(server, name, async () => {
    const r: Result = await autocannon({ ...base, duration: DURATION });
    return {
      rate: r['2xx'] / r.duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      ok: r['2xx'],
      failed: r.non2xx + r.errors + r.timeouts,
      statuses: Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count])),
      ...(firstError ? { firstError } : {}),
      ops: r.requests.sent,
    };
  }));
}

// --- Login flows: a browser reduced to a cookie jar and manual redirects ---

interface FlowTarget { url: string; headers: Record<string, string>; web: Ready['web'] }

/**
 * A minimal HTTP client on node:http with keep-alive: several times cheaper in CPU than fetch,
 * which matters because the load generator shares the machine's two cores with the server.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function httpRequest(url: string, method: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
interface Tokens { access_token: string; refresh_token?: string; id_token?: string }

async function loginFlow(t: FlowTarget, identifier: string, scope: string, extra: Record<string, string> = {}): Promise<Tokens> {
  const jar = new Map<string, string>();
  async function go(method: 'GET' | 'POST', p: string, form?: Record<string, string>) {
    const headers: Record<string, string> = { ...t.headers, accept: 'text/html' };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (form) headers['content-type'] = FORM;
    const res = await httpRequest(`${t.url}${p}`, method, headers, form ? new URLSearchParams(form).toString() : undefined);
    for (const c of res.headers['set-cookie'] ?? []) {
      const pair = c.slice(0, c.indexOf(';') < 0 ? undefined : c.indexOf(';'));
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(name);
      else jar.set(name, value);
    }
    return { path: p, status: res.status, location: res.headers.location, text: res.text };
  }

  const q = new URLSearchParams({
    client_id: t.web.clientId, response_type: 'code', redirect_uri: t.web.redirectUri, scope,
    state: randomBytes(8).toString('hex'), nonce: randomBytes(8).toString('hex'), ...extra,
  });
  let res = await go('GET', `/auth?${q}`);
  let code: string | null = null;
  for (let step = 0; step < 12 && !code; step++) {
    if (res.status >= 300 && res.status < 400 && res.location) {
      if (res.location.startsWith(t.web.redirectUri)) {
        const back = new URL(res.location);
        code = back.searchParams.get('code');
        if (!code) throw new Error(`no code: ${res.location}`);
        break;
      }
      const next = new URL(res.location, t.url);
      res = await go('GET', `${next.pathname}${next.search}`);
    } else if (res.status === 200 && res.path.startsWith('/interaction/')) {
      const uid = res.path.split('/')[2]!.split('?')[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(res.text)?.[1];
      if (!csrf) throw new Error(`no _csrf on ${res.path}`);
      if (res.text.includes(`/interaction/${uid}/login`)) {
        res = await go('POST', `/interaction/${uid}/login`, { _csrf: csrf, identifier, password: PASSWORD });
      } else if (res.text.includes(`/interaction/${uid}/confirm`)) {
        res = await go('POST', `/interaction/${uid}/confirm`, { _csrf: csrf });
      } else {
        throw new Error(`unknown page at ${res.path}`);
      }
    } else {
      throw new Error(`flow stopped at ${res.path}: ${res.status} ${res.text.replace(/\s+/g, ' ').slice(0, 300)}`);
    }
  }
  if (!code) throw new Error('too many steps');
  const token = await httpRequest(`${t.url}/token`, 'POST', { ...t.headers, authorization: basic(t.web), 'content-type': FORM },
    new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: t.web.redirectUri }).toString());
  const body = JSON.parse(token.text) as Tokens & { error?: string; error_description?: string };
  if (token.status !== 200 || !body.access_token) throw new Error(`token: ${token.status} ${token.text.slice(0, 300)}`);
  return body;
}

/** Runs `task` with `concurrency` loops for `seconds`; in-flight tasks finish and count. */
async function loop(concurrency: number, seconds: number, task: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  let n = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await task(n++);
        latencies.push(performance.now() - t0);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { rate: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99), ok: latencies.length, failed, firstError, elapsed };
}

async function measureFlows(server: ServerProcess, target: FlowTarget): Promise<Measurement> {
  const ids = server.ready.identifiers;
  const task = (i: number) => loginFlow(target, ids[i % ids.length]!, 'openid profile email');
  return bestOf('login flows', () => loop(FLOW_CONCURRENCY, WARMUP, task), () => window(server, 'login', async () => {
    const { elapsed: _, firstError, ...r } = await loop(FLOW_CONCURRENCY, DURATION, task);
    return { ...r, ...(firstError ? { firstError } : {}), ops: r.ok + r.failed };
  }));
}

/** Refresh tokens rotate: each works once. A shared pool; every response puts its successor back. */
function refreshLoad(pool: string[], client: ClientCreds, headers: Record<string, string>): HttpLoad {
  return {
    requests: [{
      method: 'POST',
      path: '/token',
      headers: { ...headers, authorization: basic(client), 'content-type': FORM },
      setupRequest: (req) => {
        const token = pool.shift() ?? 'pool-exhausted';
        return { ...req, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}` };
      },
      onResponse: (status, body) => {
        if (status === 200) {
          const next = (JSON.parse(body) as Tokens).refresh_token;
          if (next) pool.push(next);
        }
      },
    }],
  };
}

// --- The request endpoints, the same for CHUCS and the bare provider ---

type Results = Record<string, Measurement>;

interface TokenSource { accessToken(): Promise<string>; refreshPool(): Promise<string[]> }

async function measureEndpoints(server: ServerProcess, headers: Record<string, string>, tokens: TokenSource): Promise<Results> {
  const { service, web } = server.ready;
  const out: Results = {};
  if (ENDPOINTS.has('cc')) {
    out.cc = await measureHttp(server, 'client_credentials', {
      method: 'POST', path: '/token', body: 'grant_type=client_credentials',
      headers: { ...headers, authorization: basic(service), 'content-type': FORM },
    });
  }
  if (ENDPOINTS.has('refresh')) {
    out.refresh = await measureHttp(server, 'refresh_token', refreshLoad(await tokens.refreshPool(), web, headers));
  }
  if (ENDPOINTS.has('userinfo')) {
    const accessToken = await tokens.accessToken();
    out.userinfo = await measureHttp(server, 'userinfo (GET /me)', {
      method: 'GET', path: '/me', headers: { ...headers, authorization: `Bearer ${accessToken}` },
    });
  }
  if (ENDPOINTS.has('introspection')) {
    const accessToken = await tokens.accessToken();
    out.introspection = await measureHttp(server, 'introspection', {
      method: 'POST', path: '/token/introspection', body: `token=${encodeURIComponent(accessToken)}`,
      headers: { ...headers, authorization: basic(web), 'content-type': FORM },
    });
  }
  return out;
}

const refreshPoolSize = () => CONNECTIONS * 6 + 8;

async function runChucs(server: ServerProcess): Promise<Results> {
  const kind = server.kind;
  try {
    const start: Omit<StartMessage, 'cmd' | 'kind'> = { env: ENV, users: USERS, password: PASSWORD };
    if (kind === 'chucs-pglite') {
      start.dataDir = mkdtempSync(path.join(os.tmpdir(), 'chucs-bench-'));
      tempDirs.add(start.dataDir);
    } else {
      start.pgUrl = opt['pg-url'];
      start.schema = `bench_${randomBytes(5).toString('hex')}`;
      start.poolMax = PG_POOL;
      schemas.add(start.schema);
    }
    const ready = await server.start(start);
    log(`${kind === 'chucs-pg' ? `CHUCS on PostgreSQL (schema ${start.schema}, pool ${PG_POOL})` : 'CHUCS on PGlite (fresh data folder)'}: up in ${ready.startupMs} ms at ${ready.url}, issuer ${ready.issuer}`);
    const headers: Record<string, string> = ENV === 'production' ? { 'x-forwarded-proto': 'https' } : {};
    const target: FlowTarget = { url: ready.url, headers, web: ready.web };

    // Tokens through real login flows: one access token; refresh tokens need offline_access,
    // which oidc-provider grants only with prompt=consent (so these flows see the consent page).
    const needsTokens = ['refresh', 'userinfo', 'introspection'].some((e) => ENDPOINTS.has(e));
    let accessToken = '';
    const refreshPool: string[] = [];
    if (needsTokens) {
      const prep = performance.now();
      accessToken = (await loginFlow(target, ready.identifiers[0]!, 'openid profile email phone')).access_token;
      if (ENDPOINTS.has('refresh')) {
        const want = refreshPoolSize();
        await Promise.all(Array.from({ length: 4 }, async (_, w) => {
          while (refreshPool.length < want) {
            const t = await loginFlow(target, ready.identifiers[(refreshPool.length + w) % ready.identifiers.length]!, 'openid offline_access', { prompt: 'consent' });
            if (!t.refresh_token) throw new Error('no refresh_token from the offline_access flow');
            refreshPool.push(t.refresh_token);
          }
        }));
      }
      log(`  (prepared 1 access token and ${refreshPool.length} refresh tokens through login flows in ${Math.round(performance.now() - prep)} ms)`);
    }
    const out = await measureEndpoints(server, headers, { accessToken: async () => accessToken, refreshPool: async () => refreshPool });
    if (ENDPOINTS.has('login')) out.login = await measureFlows(server, target);
    return out;
  } finally {
    await server.stop();
  }
}

async function runBare(server: ServerProcess): Promise<Results> {
  try {
    const ready = await server.start({ env: ENV, users: 0, password: PASSWORD });
    log(`bare oidc-provider (in-memory adapter): up in ${ready.startupMs} ms at ${ready.url}`);
    // The in-memory adapter is an LRU of 1,000 entries: each load evicts the tokens minted
    // before it, so tokens are minted right before each measurement that needs them.
    const mint = () => server.request<{ accessToken: string; refreshTokens: string[] }>({ cmd: 'mint', n: refreshPoolSize() }, 'minted');
    log(`  (tokens minted through the provider's models before each measurement: 1 access token, ${refreshPoolSize()} refresh tokens)`);
    const out = await measureEndpoints(server, {}, {
      accessToken: async () => (await mint()).accessToken,
      refreshPool: async () => (await mint()).refreshTokens,
    });
    if (ENDPOINTS.has('login')) out.login = await measureFlows(server, { url: ready.url, headers: {}, web: ready.web });
    return out;
  } finally {
    await server.stop();
  }
}

async function runArgon2(): Promise<Record<string, Measurement>> {
  const options = { algorithm: 2, memoryCost: ARGON2.memoryKib, timeCost: ARGON2.timeCost, parallelism: ARGON2.parallelism };
  const stored = await hash(PASSWORD, options as Parameters<typeof hash>[1]);
  const task = async () => { if (!(await verify(stored, PASSWORD))) throw new Error('verify failed'); };
  const out: Record<string, Measurement> = {};
  log(`argon2id verify (@node-rs/argon2, m=${ARGON2.memoryKib} t=${ARGON2.timeCost} p=${ARGON2.parallelism}) in this process, libuv pool of ${process.env.UV_THREADPOOL_SIZE ?? 4} threads:`);
  for (const c of ARGON2_CONCURRENCY) {
    out[`c${c}`] = await bestOf(`concurrency ${c}`, () => loop(c, Math.min(WARMUP, 1), task), async () => {
      const t0 = performance.now();
      const self0 = process.cpuUsage();
      const machine0 = machineBusyTicks();
      const { elapsed: _, firstError, ...r } = await loop(c, DURATION, task);
      const seconds = (performance.now() - t0) / 1000;
      const self = process.cpuUsage(self0);
      return {
        ...r, ...(firstError ? { firstError } : {}),
        cpu: { server: 0, loadgen: (self.user + self.system) / 1e6 / seconds, postgres: 0, machine: (machineBusyTicks() - machine0) / CLK_TCK / seconds, elu: 0 },
      };
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Report

function log(line: string) {
  console.log(line);
}
const fmtRate = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const fmtMs = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '–' : `${n >= 100 ? Math.round(n) : n.toFixed(1)} ms`);
const fmtMicros = (seconds: number) => (seconds >= 0.001 ? `${(seconds * 1000).toFixed(1)} ms` : `${Math.round(seconds * 1e6)} µs`);
const pct = (a: number | undefined, b: number | undefined) => (a && b ? `${Math.round((a / b) * 100)}%` : '–');

interface AllResults { argon2?: Record<string, Measurement>; bare?: Results; pglite?: Results; pg?: Results }

const ROWS: Array<[string, string]> = [
  ['cc', 'client_credentials (POST /token)'],
  ['refresh', 'refresh_token (POST /token, rotating)'],
  ['userinfo', 'userinfo (GET /me, Bearer)'],
  ['introspection', 'introspection (POST /token/introspection)'],
  ['login', 'password login flows (authorize → login → code → token)'],
];

function argon2Ceiling(r: AllResults): { rate: number; p99: number; label: string; disturbed: boolean } | undefined {
  const best = Object.entries(r.argon2 ?? {}).sort((a, b) => b[1].rate - a[1].rate)[0];
  return best ? { rate: best[1].rate, p99: best[1].p99, label: `argon2id verify, concurrency ${best[0].slice(1)}`, disturbed: disturbed(best[1]) } : undefined;
}

/** Other processes used more than this many cores during a window: its figures are suspect. */
const DISTURBED = 0.3;
const disturbed = (m: Measurement | undefined) => (m?.cpu ? otherCpu(m.cpu) > DISTURBED : false);

function cell(m: Measurement | undefined, unit = '/s'): string {
  if (!m) return '–';
  const failed = m.failed ? ` (**${m.failed} failed**)` : '';
  return `${fmtRate(m.rate)}${unit} · p99 ${fmtMs(m.p99)}${failed}${disturbed(m) ? ' ⚠' : ''}`;
}

function tables(r: AllResults): { summary: string; detail: string; targets: string[] } {
  const a2 = argon2Ceiling(r);
  const lines = [
    '| measurement | CHUCS on PGlite | CHUCS on PostgreSQL | ceiling | PGlite / ceiling | PostgreSQL / ceiling |',
    '|---|---|---|---|---|---|',
  ];
  for (const [key, label] of ROWS) {
    const pgl = r.pglite?.[key];
    const pgs = r.pg?.[key];
    if (!pgl && !pgs && !r.bare?.[key]) continue;
    const ceiling = key === 'login'
      ? (a2 ? { text: `${fmtRate(a2.rate)}/s (${a2.label})${a2.disturbed ? ' ⚠' : ''}`, rate: a2.rate } : undefined)
      : (r.bare?.[key] ? { text: `${cell(r.bare[key])} (bare oidc-provider, in memory)`, rate: r.bare[key]!.rate } : undefined);
    lines.push(`| ${label} | ${cell(pgl)} | ${cell(pgs)} | ${ceiling?.text ?? '–'} | ${pct(pgl?.rate, ceiling?.rate)} | ${pct(pgs?.rate, ceiling?.rate)} |`);
  }

  const detail = [
    '| server · measurement | rate | p50 | p99 | failed | DB queries per op | server CPU per op | CPU cores: server process · load generator · PostgreSQL · other processes | server event-loop use |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const servers: Array<[keyof AllResults, string]> = [['bare', 'bare oidc-provider'], ['pglite', 'CHUCS PGlite'], ['pg', 'CHUCS PostgreSQL']];
  for (const [s, name] of servers) {
    for (const [key, label] of ROWS) {
      const m = (r[s] as Results | undefined)?.[key];
      if (!m) continue;
      const c = m.cpu;
      detail.push(`| ${name} · ${label.split(' (')[0]} | ${fmtRate(m.rate)}/s | ${fmtMs(m.p50)} | ${fmtMs(m.p99)} | ${m.failed} | ${m.queriesPerOp?.toFixed(1) ?? '–'} | ${c && m.rate > 0 ? fmtMicros(c.server / m.rate) : '–'} | ${c ? `${c.server.toFixed(2)} · ${c.loadgen.toFixed(2)} · ${c.postgres.toFixed(2)} · ${otherCpu(c).toFixed(2)}` : '–'} | ${c ? `${Math.round(c.elu * 100)}%` : '–'} |`);
    }
  }
  for (const [c, m] of Object.entries(r.argon2 ?? {})) {
    detail.push(`| argon2id verify · concurrency ${c.slice(1)} | ${fmtRate(m.rate)}/s | ${fmtMs(m.p50)} | ${fmtMs(m.p99)} | ${m.failed} | – | ${fmtMicros(m.cpu!.loadgen / m.rate)} | – · ${m.cpu!.loadgen.toFixed(2)} (hashing) · – · ${otherCpu(m.cpu!).toFixed(2)} | – |`);
  }

  const targets: string[] = [];
  const ccPg = r.pg?.cc?.rate;
  const ccBare = r.bare?.cc?.rate;
  if (ccPg && ccBare) {
    const ratio = ccPg / ccBare;
    targets.push(`client_credentials on PostgreSQL ≥ 60% of the bare in-memory provider: ${fmtRate(ccPg)}/s vs ${fmtRate(ccBare)}/s = ${Math.round(ratio * 100)}% → **${ratio >= 0.6 ? 'met' : 'missed'}**`);
  }
  if (a2) {
    for (const [s, name] of [['pg', 'PostgreSQL'], ['pglite', 'PGlite']] as const) {
      const flows = r[s]?.login?.rate;
      if (!flows) continue;
      const ratio = flows / a2.rate;
      targets.push(`password login flows/s on ${name} ≥ 80% of the argon2id ceiling: ${fmtRate(flows)}/s vs ${fmtRate(a2.rate)}/s = ${Math.round(ratio * 100)}% → **${ratio >= 0.8 ? 'met' : 'missed'}**`);
    }
    const bareFlows = r.bare?.login?.rate;
    if (bareFlows) {
      targets.push(`for comparison, the bare in-memory oidc-provider's own password login flows (argon2id, no database): ${fmtRate(bareFlows)}/s = ${Math.round((bareFlows / a2.rate) * 100)}% of the argon2id ceiling` +
        (r.pg?.login?.rate ? `; CHUCS on PostgreSQL reaches ${Math.round((r.pg.login.rate / bareFlows) * 100)}% of it` : ''));
    }
  }
  return { summary: lines.join('\n'), detail: detail.join('\n'), targets };
}

async function machineFacts() {
  const cpus = os.cpus();
  let postgres = 'not measured';
  if (ONLY.has('pg')) {
    const client = new pg.Client({ connectionString: opt['pg-url'] });
    await client.connect();
    postgres = String((await client.query('show server_version')).rows[0].server_version);
    await client.end();
  }
  const version = (p: string) => JSON.parse(readFileSync(path.join(root, 'node_modules', p, 'package.json'), 'utf8')).version as string;
  let commit = 'unknown';
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const dirty = [...new Set(git(['status', '--porcelain', '--', 'src', 'migrations', 'config', 'views', 'bench'])
      .split('\n').filter(Boolean).map((line) => `${line.slice(3).split('/')[0]}/`))];
    commit = `${git(['rev-parse', '--short', 'HEAD']).trim()}${dirty.length ? ` with uncommitted changes in ${dirty.join(', ')}` : ''}`;
  } catch { /* not a git checkout */ }
  return {
    commit,
    date: new Date().toISOString(),
    cores: cpus.length,
    cpu: cpus[0]?.model ?? 'unknown',
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    postgres,
    packages: ['oidc-provider', 'koa', 'knex', 'pg', '@electric-sql/pglite', '@node-rs/argon2', 'autocannon'].map((p) => `${p} ${version(p)}`).join(', '),
  };
}

const BEGIN = '<!-- bench:begin (written by bench/oidc.bench.ts; edit outside these markers) -->';
const END = '<!-- bench:end -->';

function writeReport(file: string, facts: Awaited<ReturnType<typeof machineFacts>>, r: AllResults) {
  const { summary, detail, targets } = tables(r);
  const section = [
    BEGIN,
    '## Latest run',
    '',
    `Command: \`${COMMAND}\``,
    '',
    `- Date: ${facts.date}; code: commit ${facts.commit}`,
    `- Machine: ${facts.cores} cores (${facts.cpu}), ${facts.memory} RAM, ${facts.os}`,
    `- Node ${facts.node}; PostgreSQL ${facts.postgres} on 127.0.0.1 (same machine)`,
    `- Packages: ${facts.packages}`,
    `- Settings: ${DURATION} s per measurement after ${WARMUP} s of warm-up; autocannon ${CONNECTIONS} connections;` +
      ` ${FLOW_CONCURRENCY} concurrent login flows; PostgreSQL pool ${PG_POOL}; ${USERS} users; CHUCS env ${ENV}` +
      `${ENV === 'production' ? ' (https issuer behind a TLS proxy: the load generator sends X-Forwarded-Proto: https)' : ''};` +
      ` argon2id m=${ARGON2.memoryKib} t=${ARGON2.timeCost} p=${ARGON2.parallelism}`,
    '- The load generator (autocannon; node:http for the login flows) runs in the benchmark process on the same machine;' +
      ' each server runs in a child process of its own; PostgreSQL shares the same 2 cores. All compete for the same CPUs.',
    '',
    summary,
    '',
    `Each figure is the best of ${REPEAT} window(s) of ${DURATION} s. ⚠: processes outside the benchmark used more than ${DISTURBED} cores` +
      ' during that window (other work on the machine), so the figure is probably low; see the details.',
    '',
    'Targets:',
    '',
    ...targets.map((t) => `- ${t}`),
    '',
    '<details><summary>Details: latency, DB queries and where the CPU went</summary>',
    '',
    detail,
    '',
    '</details>',
    END,
  ].join('\n');

  let text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const i = text.indexOf(BEGIN);
  const j = text.indexOf(END);
  if (i >= 0 && j > i) {
    text = `${text.slice(0, i)}${section}${text.slice(j + END.length)}`;
  } else {
    text = text ? `${text.trimEnd()}\n\n${section}\n` : `# Benchmarks\n\nRun with \`npm run bench\` (see bench/oidc.bench.ts for the options).\n\n${section}\n`;
  }
  writeFileSync(file, text);
}

// ---------------------------------------------------------------------------------------

async function ensureDatabase(url: string) {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.end();
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err;
    const name = new URL(url).pathname.slice(1);
    const admin = new URL(url);
    admin.pathname = '/postgres';
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`create database "${name.replace(/"/g, '""')}"`);
    await c.end();
    log(`created database ${name}`);
  }
}

async function main() {
  if (ONLY.has('pg')) await ensureDatabase(opt['pg-url']);
  const facts = await machineFacts();
  log(`${COMMAND}\n${facts.date} · ${facts.cores} cores (${facts.cpu}) · Node ${facts.node} · PostgreSQL ${facts.postgres}\n`);
  const results: AllResults = {};
  // All server processes start now, idle until their turn: each loads src/ at once, so the
  // whole run measures one version of the code even if files change while it runs.
  const bare = ONLY.has('bare') ? new ServerProcess('bare') : undefined;
  const pglite = ONLY.has('pglite') ? new ServerProcess('chucs-pglite') : undefined;
  const pgServer = ONLY.has('pg') ? new ServerProcess('chucs-pg') : undefined;
  if (ONLY.has('argon2')) results.argon2 = await runArgon2();
  if (bare) results.bare = await runBare(bare);
  if (pglite) results.pglite = await runChucs(pglite);
  if (pgServer) results.pg = await runChucs(pgServer);
  await cleanup();

  const { summary, targets } = tables(results);
  log(`\n${summary}\n`);
  for (const t of targets) log(`- ${t.replace(/\*\*/g, '')}`);
  if (!opt['no-write']) {
    writeReport(opt.out, facts, results);
    log(`\nwritten to ${path.relative(process.cwd(), opt.out) || opt.out}`);
  }
}

main().catch(async (err) => {
  console.error('bench failed:', err instanceof Error ? err.stack : err);
  await cleanup();
  process.exit(1);
});
