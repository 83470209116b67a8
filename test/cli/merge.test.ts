import { jest } from '@jest/globals';
import path from 'node:path';
import { runCli, cliEnvironment, removeCliEnvironment } from '../support/cli.ts';
import { openDatabase } from '../../src/db/database.ts';
import { SAMPLE_FILES } from '../merge/samples.ts';

// Each test starts a dozen CLI processes, each opening the database.
jest.setTimeout(240_000);

/** Reads what the CLI stored, as a second process would once the CLI has exited. */
async function inDatabase<T>(env: Record<string, string>, fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
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

async function importSamples(env: Record<string, string>) {
  for (const [source, file] of SAMPLE_FILES) {
    const r = await runCli(['--json', 'import', source.name, file, '--rejects', path.join(env.CHUCS_DATA_DIR!, `${source.name}.rejects.csv`)], env);
    expect(r.code).toBe(0);
  }
}

async function plan(env: Record<string, string>): Promise<{ planId: number; fingerprint: string; accounts: { create: number } }> {
  const r = await runCli(['--json', 'merge', 'plan'], env);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

test('merge plan changes no account and stores its plan; apply --expect applies exactly that plan without planning again', async () => {
  const env = cliEnvironment();
  try {
    await importSamples(env);
    const first = await plan(env);
    const second = await plan(env);
    expect(second.fingerprint).toBe(first.fingerprint);
    // A newer plan replaces the one never applied.
    expect(await runs(env)).toEqual([{ id: second.planId, status: 'planned' }]);
    expect(await inDatabase(env, async (db) => ({
      accounts: Number((await db('accounts').count({ n: '*' }).first())!.n),
      links: Number((await db('record_links').count({ n: '*' }).first())!.n),
      planRuns: (await db('merge_plan_nodes').distinct('merge_run_id').pluck('merge_run_id')).map(Number),
    }))).toEqual({ accounts: 0, links: 0, planRuns: [second.planId] });

    const applied = await runCli(['merge', 'apply', '--expect', second.fingerprint, '--yes'], env);
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain(`applying stored plan ${second.planId} (${second.fingerprint}): nothing it read has changed`);
    expect(applied.stderr).not.toContain('joining records by strong evidence'); // no planning again
    expect(applied.stdout).toContain(`merge run ${second.planId} applied`);
    expect(await runs(env)).toEqual([{ id: second.planId, status: 'applied' }]);
    const created = await inDatabase(env, async (db) => Number((await db('accounts').where({ merge_run_id: second.planId }).count({ n: '*' }).first())!.n));
    expect(created).toBe(second.accounts.create);
  } finally {
    await removeCliEnvironment(env);
  }
});

test('a stored plan made stale by a change is planned again: applied if the plan is still the same, refused (exit 3) if not', async () => {
  const env = cliEnvironment();
  try {
    await importSamples(env);
    const stale = await plan(env);
    // A new account with a phone no legacy record carries: the inputs changed, the plan did not.
    expect((await runCli(['users', 'add', '--phone', '139-0013-9000', '--password-stdin'], env, 'a long enough passphrase\n')).code).toBe(0);
    const applied = await runCli(['merge', 'apply', '--expect', stale.fingerprint, '--yes'], env);
    expect(applied.code).toBe(0);
    expect(applied.stderr).toContain(`the data changed since plan ${stale.planId} was made: planning again`);
    const runId = Number(/merge run (\d+) applied/.exec(applied.stdout)?.[1]);
    expect(runId).not.toBe(stale.planId);
    expect(await runs(env)).toEqual([{ id: runId, status: 'applied' }]); // the stale plan is gone

    // An operator's decision changes the plan itself: the reviewed plan is no longer the one.
    const reviewed = await plan(env);
    const conflicts = JSON.parse((await runCli(['--json', 'merge', 'conflicts'], env)).stdout);
    expect(conflicts).toHaveLength(1);
    expect((await runCli(['merge', 'resolve', String(conflicts[0].id), '--join', '--note', 'same person, checked by phone'], env)).code).toBe(0);
    const refused = await runCli(['merge', 'apply', '--expect', reviewed.fingerprint, '--yes'], env);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('the plan changed since it was reviewed');
    expect(await runs(env)).toEqual([{ id: runId, status: 'applied' }, { id: reviewed.planId, status: 'planned' }]);
  } finally {
    await removeCliEnvironment(env);
  }
});
