import { spawn } from 'node:child_process';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { projectRoot } from '../../src/paths.ts';
import { PROJECT_NODE, startServerProcess, type ServerProcess } from '../support/server-process.ts';
import { cliEnvironment, removeCliEnvironment } from '../support/cli.ts';

/** Runs `node src/main.ts` with `env` until it exits by itself. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(PROJECT_NODE, ['src/main.ts'], {
      cwd: projectRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', PORT: '0', ...env }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, ms: Date.now() - started }));
  });
}

test('a bad setting stops the start with a message naming the key', async () => {
  const { code, stderr } = await runMain({ CHUCS_METRICS_TOKEN: 'short', PROXY_HOPS: '0' });
  expect(code).toBe(2);
  expect(stderr).toContain('chucs: invalid configuration:');
  expect(stderr).toContain('metrics.token: needs at least 24 characters');
  expect(stderr).toMatch(/proxyHops: /);
  expect(stderr).not.toContain('short'); // the value itself (a secret) is not echoed
}, 30_000);

test('a database that cannot be reached stops the start quickly, saying so', async () => {
  const { code, stderr, ms } = await runMain({ DATABASE_URL: 'postgres://chucs@127.0.0.1:1/chucs', CHUCS_DATA_DIR: '/nonexistent-test-data-dir' });
  expect(code).toBe(1);
  expect(stderr).toContain('chucs: failed to start: cannot reach the database (DATABASE_URL): connect ECONNREFUSED 127.0.0.1:1');
  expect(ms).toBeLessThan(20_000);
}, 30_000);

describe('SIGTERM', () => {
  let env: Record<string, string>;
  let proc: ServerProcess | undefined;

  beforeAll(async () => {
    env = cliEnvironment();
    proc = await startServerProcess(env);
  }, 90_000);

  afterAll(async () => {
    await proc?.stop('SIGKILL');
    await removeCliEnvironment(env);
  });

  test('drains the request in flight, refuses new connections, then exits 0 at once', async () => {
    const { port } = new URL(proc!.url);
    const body = 'grant_type=client_credentials&client_id=nobody&client_secret=nothing';
    // A request whose body is still on its way when the signal comes.
    const inFlight = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length, accept: 'application/json' } });
    const answered = new Promise<{ status: number; json: { error?: string } }>((resolve, reject) => {
      inFlight.on('response', (res: IncomingMessage) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
      });
      inFlight.on('error', reject);
    });
    inFlight.write(body.slice(0, 10));
    await new Promise((r) => setTimeout(r, 300));

    const signalledAt = Date.now();
    const exited = proc!.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await expect(fetch(`${proc!.url}/healthz`)).rejects.toThrow(); // no longer listening
    inFlight.end(body.slice(10));

    // Answered in full: oidc-provider's own refusal of an unknown client, not a cut connection.
    expect(await answered).toEqual({ status: 401, json: expect.objectContaining({ error: 'invalid_client' }) });
    expect(await exited).toBe(0);
    // The finished request's keep-alive connection is closed at once: no wait for the client to
    // drop it (5 s for Node's agent), nor for the 10 s grace period.
    expect(Date.now() - signalledAt).toBeLessThan(4_000);
    expect(proc!.output()).not.toMatch(/"level":(50|60)/);
  }, 30_000);
});
