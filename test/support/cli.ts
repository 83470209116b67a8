import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { projectRoot } from '../../src/paths.ts';
import { openDatabase } from '../../src/db/database.ts';
import { TEST_DATABASE_URL } from './database.ts';

export interface CliResult { code: number | null; stdout: string; stderr: string }

/**
 * Where a CLI test keeps its data: a fresh data folder (the embedded database), or on
 * PostgreSQL a fresh schema, so tests never share state.
 */
export function cliEnvironment(): Record<string, string> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chucs-cli-'));
  return {
    CHUCS_DATA_DIR: dataDir,
    ...(TEST_DATABASE_URL ? { DATABASE_URL: TEST_DATABASE_URL, CHUCS_DB_SCHEMA: `t_${randomBytes(6).toString('hex')}` } : {}),
  };
}

/** Removes what a CLI environment left: its PostgreSQL schema and its data folder. */
export async function removeCliEnvironment(env: Record<string, string>): Promise<void> {
  if (env.CHUCS_DB_SCHEMA) {
    const db = await openDatabase({ url: env.DATABASE_URL! });
    await db.raw('drop schema if exists ?? cascade', [env.CHUCS_DB_SCHEMA]);
    await db.destroy();
  }
  rmSync(env.CHUCS_DATA_DIR!, { recursive: true, force: true });
}

/** Runs `chucs` as an operator would, in its own process. */
export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin/chucs.js'), ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', USER: 'tester', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
