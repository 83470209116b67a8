import { jest } from '@jest/globals';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, cliEnvironment, removeCliEnvironment } from '../support/cli.ts';
import { openDatabase, type Db } from '../../src/db/database.ts';
import { migrateLatest } from '../../src/db/migrate.ts';
import { importLegacyFile } from '../../src/merge/import.ts';
import { startRun } from '../../src/merge/apply.ts';
import { loadConfig } from '../../src/config/load.ts';
import { SAMPLE_FILES } from '../merge/samples.ts';

// A dozen CLI processes, each opening the database (seconds apiece on PGlite).
jest.setTimeout(240_000);

/** The CLI's database, opened by this process while no CLI runs (PGlite has one user at a time). */
async function inDatabase<T>(env: Record<string, string>, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDatabase(env.DATABASE_URL
    ? { url: env.DATABASE_URL, schema: env.CHUCS_DB_SCHEMA }
    : { dataDir: path.join(env.CHUCS_DATA_DIR!, 'pgdata') });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

const runs = (env: Record<string, string>) => inDatabase(env, async (db) => (await db('merge_runs').orderBy('id').select('id', 'status')).map((r: { id: number; status: string }) => ({ id: Number(r.id), status: r.status })));

/** The sample exports, imported in this process (the import command has tests of its own). */
async function importSamples(env: Record<string, string>) {
  const config = loadConfig({});
  const placeholders = { phone: new Set(config.merge.placeholders.phone), email: new Set(config.merge.placeholders.email) };
  await inDatabase(env, async (db) => {
    await migrateLatest(db);
    for (const [source, file] of SAMPLE_FILES) {
      await importLegacyFile({ db, source, file, rejectsFile: path.join(env.CHUCS_DATA_DIR!, `${source.name}.rejects.csv`), placeholders, actor: 'test' });
    }
  });
}

async function plan(env: Record<string, string>): Promise<{ planId: number; fingerprint: string; accounts: { create: number } }> {
  const r = await runCli(['--json', 'merge', 'plan'], env);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

const appliedRun = (stdout: string) => Number(/merge run (\d+) applied/.exec(stdout)?.[1]);

test('merge plan stores its plan and changes no account; apply --expect applies it as is, or plans again if the data changed', async () => {
  const env = cliEnvironment();
  try {
    await importSamples(env);

    // 1. The plan changes no account.
    const reviewed = await plan(env);
    expect(await runs(env)).toEqual([{ id: reviewed.planId, status: 'planned' }]);
    expect(await inDatabase(env, async (db) => ({
      accounts: Number((await db('accounts').count({ n: '*' }).first())!.n),
      links: Number((await db('record_links').count({ n: '*' }).first())!.n),
      planRuns: (await db('merge_plan_nodes').distinct('merge_run_id').pluck('merge_run_id')).map(Number),
    }))).toEqual({ accounts: 0, links: 0, planRuns: [reviewed.planId] });

    // 2. Nothing changed: the stored plan is applied without planning again, and without
    // asking (no terminal, no --yes): naming the reviewed fingerprint is the approval.
    const applied = await runCli(['merge', 'apply', '--expect', reviewed.fingerprint], env);
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain(`applying stored plan ${reviewed.planId} (${reviewed.fingerprint}): nothing it read has changed`);
    expect(applied.stderr).not.toContain('joining records by strong evidence'); // the plan's first step
    expect(appliedRun(applied.stdout)).toBe(reviewed.planId);
    const created = await inDatabase(env, async (db) => Number((await db('accounts').where({ merge_run_id: reviewed.planId }).count({ n: '*' }).first())!.n));
    expect(created).toBe(reviewed.accounts.create);

    // 3. A new account with a phone no legacy record carries: the data changed, the plan did
    // not. (A plan that changed is refused: runs.test.ts.)
    const stale = await plan(env);
    expect((await runCli(['users', 'add', '--phone', '139-0013-9000', '--password-stdin'], env, 'a long enough passphrase\n')).code).toBe(0);
    const replanned = await runCli(['merge', 'apply', '--expect', stale.fingerprint], env);
    expect(replanned.code).toBe(0);
    expect(replanned.stderr).toContain(`the data changed since plan ${stale.planId} was made: planning again`);
    expect(replanned.stderr).toContain('joining records by strong evidence');
    const second = appliedRun(replanned.stdout);
    expect(second).toBeGreaterThan(stale.planId);
    expect(await runs(env)).toEqual([{ id: reviewed.planId, status: 'applied' }, { id: second, status: 'applied' }]); // the stale plan is gone
  } finally {
    await removeCliEnvironment(env);
  }
});

test('import --mapping takes its files from the folder the operator is in; a folder or a bad conflict number is a usage error', async () => {
  const env = cliEnvironment();
  const here = mkdtempSync(path.join(os.tmpdir(), 'chucs-operator-'));
  try {
    writeFileSync(path.join(here, 'app.json'), JSON.stringify({ source: 'chiq-app', format: 'csv', key: 'id', evidence: { phone: { field: 'phone', verified: true } } }));
    writeFileSync(path.join(here, 'app.csv'), 'id,phone\n1,13800138001\n,13800138002\n');
    // `npm run chucs` starts in the project folder and names the operator's in INIT_CWD.
    const operatorEnv = { ...env, INIT_CWD: here, npm_lifecycle_event: 'chucs' };
    const imported = await runCli(['import', '--mapping', 'app.json', 'app.csv'], operatorEnv);
    expect([imported.code, imported.stderr]).toEqual([0, '']);
    expect(imported.stdout).toContain('read 2 = imported 1 + rejected 1');
    expect(readFileSync(path.join(here, 'app.csv.rejects.csv'), 'utf8')).toContain('id');

    const folder = await runCli(['import', 'mall', here], operatorEnv);
    expect([folder.code, folder.stderr]).toEqual([2, `chucs: ${here} is not a file\n`]);
    const resolve = await runCli(['merge', 'resolve', 'abc', '--join'], operatorEnv);
    expect([resolve.code, resolve.stderr]).toEqual([2, 'chucs: "abc" is not a conflict number (see chucs merge conflicts)\n']);

    // A run left half-way: apply --expect of another plan must not resume it as if reviewed.
    const interrupted = await inDatabase(env, (db) => startRun(db, { maxRecordsPerValue: 20, sourcePriority: [], batchSize: 100, actor: 'test' }));
    const other = await runCli(['merge', 'apply', '--expect', 'deadbeefdeadbeef'], env);
    expect(other.code).toBe(3);
    expect(other.stderr).toContain(`merge run ${interrupted.runId} (plan ${interrupted.report.fingerprint}) was interrupted and must finish first`);
    expect(await runs(env)).toEqual([{ id: interrupted.runId, status: 'applying' }]);
  } finally {
    rmSync(here, { recursive: true, force: true });
    await removeCliEnvironment(env);
  }
});
