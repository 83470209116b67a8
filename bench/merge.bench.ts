/**
 * Merge pipeline benchmark (not a test): generated legacy exports of about N records through
 * `chucs import` (4 sources) + `merge plan` + `merge apply` on PostgreSQL, each step a real
 * CLI process timed with its peak memory, beside the ceiling measured in the same run:
 * PostgreSQL's COPY of the same rows alone.
 *
 *   npm run bench:merge -- --people 286000      (1,003,442 records with seed 7)
 *
 * Options: --people N (default 286000), --seed S, --data DIR (generated files, reused if
 * present), --url postgres://... (server; a fresh database is created and dropped),
 * --write (record the figures in BENCHMARKS.md).
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, createReadStream, mkdtempSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import iconv from 'iconv-lite';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { projectRoot } from '../src/paths.ts';

const { values: args } = parseArgs({
  options: {
    people: { type: 'string', default: '286000' },
    seed: { type: 'string', default: '7' },
    data: { type: 'string' },
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    write: { type: 'boolean', default: false },
  },
});
const people = Number(args.people);
const dataDir = args.data ?? path.join(os.tmpdir(), `chucs-bench-legacy-${people}-${args.seed}`);
const node = process.execPath;
const SOURCES = [['crm', 'crm.csv'], ['bbs', 'bbs.csv'], ['cloud', 'cloud.jsonl'], ['mall', 'mall.csv']] as const;

function log(line: string) { process.stderr.write(`${line}\n`); }

function lineCount(file: string): number {
  return Number(execFileSync('wc', ['-l', file]).toString().trim().split(/\s+/)[0]);
}

/** Runs a command under /usr/bin/time: wall seconds and peak resident memory. */
function timed(cmd: string, argv: string[], env: Record<string, string>): { seconds: number; maxRssMb: number; stdout: string } {
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...argv], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  const rssKb = Number(r.stderr.trim().split('\n').pop());
  return { seconds, maxRssMb: Math.round(rssKb / 1024), stdout: r.stdout };
}

async function copyCeiling(url: string): Promise<{ seconds: number; rows: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Each physical line as one text value (COPY's text format, backslashes escaped, CR
    // dropped), so malformed rows load too: the cost of moving the same rows into PostgreSQL.
    let rows = 0;
    const started = performance.now();
    for (const [source, file] of SOURCES) {
      const table = `copy_${source}`;
      await client.query(`create unlogged table ${table} (line text)`);
      const input = createReadStream(path.join(dataDir, file));
      const text = source === 'crm' ? input.pipe(iconv.decodeStream('gb18030')) : input.setEncoding('utf8');
      const lines = createInterface({ input: text, crlfDelay: Infinity });
      async function* escaped() {
        let batch = '';
        for await (const line of lines) {
          batch += `${line.replaceAll('\\', '\\\\')}\n`;
          if (batch.length > 1 << 16) { yield batch; batch = ''; }
        }
        if (batch) yield batch;
      }
      await pipeline(Readable.from(escaped()), client.query(copyFrom(`copy ${table} from stdin with (delimiter e'\\x01')`)));
      rows += Number((await client.query(`select count(*) from ${table}`)).rows[0].count);
    }
    return { seconds: (performance.now() - started) / 1000, rows };
  } finally {
    await client.end();
  }
}

async function main() {
  if (!existsSync(path.join(dataDir, 'mall.csv'))) {
    log(`generating ${people} people into ${dataDir} ...`);
    execFileSync(node, [path.join(projectRoot, 'scripts/generate-legacy.ts'), '--people', String(people), '--seed', String(args.seed), '--out', dataDir], { stdio: 'inherit' });
  }
  const records = SOURCES.reduce((n, [source, file]) => n + (source === 'cloud' ? lineCount(path.join(dataDir, file)) : lineCount(path.join(dataDir, file)) - 1), 0);
  log(`${records} legacy rows (lines) in ${dataDir}`);

  const admin = new pg.Client({ connectionString: args.url });
  await admin.connect();
  const db = `chucs_bench_merge_${Date.now()}`;
  await admin.query(`create database ${db}`);
  const dbUrl = new URL(args.url!);
  dbUrl.pathname = `/${db}`;
  const url = dbUrl.toString();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'chucs-bench-merge-'));
  const env = { DATABASE_URL: url, CHUCS_DATA_DIR: workDir, LOG_LEVEL: 'warn' };
  const steps: Array<{ step: string; seconds: number; maxRssMb: number; note: string }> = [];
  try {
    log('ceiling: COPY of the same rows ...');
    const copy = await copyCeiling(url);
    log(`  ${copy.rows} rows in ${copy.seconds.toFixed(1)} s`);
    // The CLI as operators run it, with the heap limits of its npm script.
    const cliFlags = (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')).scripts.chucs as string).split(' ').filter((a) => a.startsWith('--'));
    const chucs = [...cliFlags, path.join(projectRoot, 'bin/chucs.js')];
    timed(node, [...chucs, 'migrate'], env);
    for (const [source, file] of SOURCES) {
      log(`import ${source} ...`);
      const r = timed(node, [...chucs, '--json', 'import', source, path.join(dataDir, file), '--rejects', path.join(workDir, `${source}.rejects.csv`)], env);
      const s = JSON.parse(r.stdout);
      steps.push({ step: `import ${source}`, seconds: r.seconds, maxRssMb: r.maxRssMb, note: `read ${s.read} = imported ${s.imported} + rejected ${s.rejected}` });
    }
    log('merge plan ...');
    const plan = timed(node, [...chucs, '--json', 'merge', 'plan', '--out', path.join(workDir, 'plan.json')], env);
    const report = JSON.parse(plan.stdout);
    steps.push({ step: 'merge plan', seconds: plan.seconds, maxRssMb: plan.maxRssMb, note: `create ${report.accounts.create}, held ${report.held.clusters}` });
    log('merge apply ...');
    const apply = timed(node, [...chucs, '--json', 'merge', 'apply', '--yes', '--expect', report.fingerprint], env);
    const applied = JSON.parse(apply.stdout);
    // The stored plan is applied as is (nothing changed since it was made): no second planning.
    const reused = applied.runId === report.planId;
    steps.push({ step: `merge apply (${reused ? 'the stored plan' : 'planned again'})`, seconds: apply.seconds, maxRssMb: apply.maxRssMb, note: `run ${applied.runId}: ${applied.counts.accountsCreated} accounts, ${applied.counts.links} links` });

    const total = steps.reduce((s, x) => s + x.seconds, 0);
    const peak = Math.max(...steps.map((s) => s.maxRssMb));
    // The target is for 1 million records: the run's own size, scaled at its rate.
    const perMillion = total * 1_000_000 / copy.rows;
    const rows = [
      ...steps.map((s) => `| ${s.step} | ${s.seconds.toFixed(1)} s | ${s.maxRssMb} MB | ${s.note} |`),
      `| **whole pipeline** | **${total.toFixed(1)} s** | **${peak} MB** | ${(copy.rows / total).toFixed(0)} rows/s |`,
      `| ceiling: COPY of the same rows | ${copy.seconds.toFixed(1)} s | | ${copy.rows} rows, ${(copy.rows / copy.seconds).toFixed(0)} rows/s |`,
    ];
    const verdict = [
      `- whole pipeline ${total.toFixed(1)} s for ${copy.rows} rows, ${perMillion.toFixed(1)} s per million at that rate: target under 180 s for a million: ${perMillion < 180 ? 'met' : 'NOT met'}`,
      `- ${(total / copy.seconds).toFixed(1)}x the COPY ceiling: target within 5x: ${total / copy.seconds <= 5 ? 'met' : 'NOT met'}`,
      `- peak CLI memory ${peak} MB: target under 512 MB: ${peak < 512 ? 'met' : 'NOT met'}`,
    ];
    const section = [
      `Measured ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, Node ${process.version}, PostgreSQL on 127.0.0.1, ${people} generated people (seed ${args.seed}).`,
      '', '`npm run bench:merge -- --people ' + people + ' --write`', '',
      '| step | wall time | peak memory (RSS) | notes |', '|---|---|---|---|', ...rows, '', ...verdict,
    ].join('\n');
    process.stdout.write(`${section}\n`);
    if (args.write) {
      const file = path.join(projectRoot, 'BENCHMARKS.md');
      const start = '<!-- merge-bench:start -->';
      const end = '<!-- merge-bench:end -->';
      let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
      const block = `${start}\n${section}\n${end}`;
      text = text.includes(start) ? text.replace(new RegExp(`${start}[\\s\\S]*${end}`), block) : `${text.trimEnd()}\n\n## Merge pipeline: import + plan + apply\n\n${block}\n`;
      writeFileSync(file, text);
      log(`recorded in ${file}`);
    }
  } finally {
    await admin.query(`drop database if exists ${db} with (force)`);
    await admin.end();
  }
}

await main();
