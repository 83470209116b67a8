import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Config } from '../config/schema.ts';
import { withDatabase, operator, operatorPath } from './context.ts';
import { table, type Output } from './output.ts';
import { progressBar, stepLogger } from './progress.ts';
import { confirm } from './confirm.ts';
import { UsageError, RefusedError } from './usage-error.ts';
import type { PlanReport } from '../merge/plan.ts';
import { savePlan, startSavedRun, startRun, continueRun, unfinishedRun, type ApplyOptions } from '../merge/apply.ts';
import { undoRun } from '../merge/undo.ts';
import { listConflicts, listDecisions, resolveConflict } from '../merge/conflicts.ts';

export function describePlan(r: PlanReport): string {
  const sample = (xs: Array<{ records: string[]; accounts: string[] }>) =>
    xs.map((x) => `    ${[...x.accounts.map((a) => `account:${a}`), ...x.records].join(' + ')}`).join('\n') || '    (none)';
  return [
    `plan ${r.fingerprint} over ${r.records} legacy records`,
    `  accounts to create: ${r.accounts.create}`,
    `  accounts to extend: ${r.accounts.extend}`,
    `  accounts to merge:  ${r.accounts.merge} (absorbing ${r.accounts.mergedAway} accounts, whose sub stays resolvable)`,
    `  clusters held for an operator: ${r.held.clusters} (${r.held.records} records)`,
    `  new links: ${r.links.strong} by strong evidence, ${r.links.weakAttach} attached by weak evidence, ${r.links.seed} on their own`,
    `  records joined by evidence kind: ${Object.entries(r.links.byKind).map(([k, n]) => `${k} ${n}`).join(', ') || '-'}`,
    `  values not used (shared by too many records): ${r.rejectedValues.overshared.length ? r.rejectedValues.overshared.map((o) => `${o.kind} ${o.value} (${o.records})`).join(', ') : 'none'}`,
    `  record groups whose weak evidence points at two or more people (kept apart): ${r.rejectedValues.ambiguousWeakGroups}`,
    '  held (first ones):',
    ...(r.conflicts.length ? r.conflicts.slice(0, 10).map((c) => `    ${c.records.join(' + ')}: ${c.reasons.map((x) => x.rule).join('; ')}`) : ['    (none)']),
    '  samples, create:', sample(r.samples.create),
    '  samples, extend:', sample(r.samples.extend),
    '  samples, merge:', sample(r.samples.merge),
  ].join('\n');
}

function applyOptions(config: Config, o: { yes?: boolean; expect?: string; quiet: boolean }): ApplyOptions {
  return {
    maxRecordsPerValue: config.merge.maxRecordsPerValue, sourcePriority: config.merge.sourcePriority, batchSize: config.merge.batchSize, workers: config.merge.applyWorkers,
    actor: operator(), expectFingerprint: o.expect, onPlanStep: stepLogger(!o.quiet),
  };
}

export function registerMerge(program: Command, out: () => Output) {
  const merge = program.command('merge').description('cluster imported legacy records into Changhong IDs');

  merge.command('plan')
    .description('dry run: what a merge would do, and why; changes no account, stores the plan for merge apply')
    .option('--out <file>', 'also write the report as JSON')
    .action(async (o) => {
      const { planId, report, interrupted } = await withDatabase(async (c) => {
        const unfinished = await unfinishedRun(c.db);
        const saved = await savePlan(c.db, { maxRecordsPerValue: c.config.merge.maxRecordsPerValue, actor: operator(), onPlanStep: stepLogger(!out().json) });
        return { ...saved, interrupted: unfinished };
      });
      if (o.out) writeFileSync(operatorPath(o.out), `${JSON.stringify(report, null, 2)}\n`);
      out().result({ ...report, planId }, () => [
        describePlan(report),
        ...(o.out ? [`report written to ${operatorPath(o.out)}`] : []),
        `stored as plan ${planId}; apply it with: chucs merge apply --expect ${report.fingerprint}`,
        '  (if anything it read changes first, apply plans again and applies only if the plan is still the same)',
        ...(interrupted ? [`warning: merge run ${interrupted.id} was interrupted half-way, and this plan counts what it had applied; `
          + `finish it first with "chucs merge apply --expect ${interrupted.fingerprint}", then plan again`] : []),
      ].join('\n'));
    });

  merge.command('apply')
    .description('apply the plan as a numbered merge run (resumes an unfinished run first)')
    .option('--expect <fingerprint>', 'apply only if the plan is still the one reviewed (the stored plan, without planning again, if nothing changed)')
    .option('--yes', 'do not ask for confirmation', false)
    .action(async (o) => {
      const result = await withDatabase(async (c) => {
        const opts = applyOptions(c.config, { ...o, quiet: out().json });
        // What the operator approves is exactly what is stored and applied. Naming the reviewed
        // plan's fingerprint (--expect) is that approval, as applying a saved Terraform plan is:
        // only a plan nobody has seen yet is shown and asked about.
        const confirmPlan = o.expect ? undefined : async (report: PlanReport) => {
          out().info(describePlan(report));
          return confirm('Apply this plan?', o.yes);
        };
        const unfinished = await unfinishedRun(c.db);
        let runId: number;
        if (unfinished) {
          runId = Number(unfinished.id);
          if (o.expect && o.expect !== unfinished.fingerprint) {
            throw new RefusedError(`merge run ${runId} (plan ${unfinished.fingerprint}) was interrupted and must finish first: `
              + `resume it with "chucs merge apply --expect ${unfinished.fingerprint}" (or undo it), then plan again; nothing was applied`);
          }
          out().info(`merge run ${runId} was interrupted: resuming it from its checkpoint`);
        } else {
          const saved = o.expect ? await startSavedRun(c.db, { ...opts, expectFingerprint: o.expect, confirm: confirmPlan }) : undefined;
          if (saved && 'runId' in saved) {
            runId = saved.runId;
            out().info(`applying stored plan ${runId} (${o.expect}): nothing it read has changed`);
          } else {
            if (o.expect) out().info(saved ? `the data changed since plan ${saved.stale} was made: planning again (applied only if it is still ${o.expect})` : `no stored plan ${o.expect}: planning again (applied only if it is the same)`);
            ({ runId } = await startRun(c.db, { ...opts, confirm: confirmPlan }));
          }
        }
        const bar = progressBar(`merge run ${runId}`, 'clusters');
        const counts = await continueRun(c.db, runId, { ...opts, onProgress: (done, total) => bar.update(done, total) }).finally(() => bar.stop());
        return { runId, resumed: Boolean(unfinished), counts };
      });
      out().result(result, () => [
        `merge run ${result.runId} applied${result.resumed ? ' (resumed)' : ''}`,
        `  accounts created ${result.counts.accountsCreated}, extended ${result.counts.accountsExtended}, merged away ${result.counts.accountsMerged}`,
        `  clusters held for an operator ${result.counts.held} (chucs merge conflicts)`,
        `  links ${result.counts.links}, identifiers ${result.counts.identifiers}, legacy passwords ${result.counts.credentials}, device bindings ${result.counts.bindings}`,
        `  undo with: chucs merge undo ${result.runId}`,
      ].join('\n'));
    });

  merge.command('undo <run>')
    .description('restore the state before a merge run, exactly (the latest run first)')
    .option('--yes', 'do not ask for confirmation', false)
    .action(async (run: string, o) => {
      const runId = Number(run);
      if (!Number.isInteger(runId) || runId <= 0) throw new UsageError(`"${run}" is not a run number`);
      const result = await withDatabase(async (c) => {
        const row = await c.db('merge_runs').where({ id: runId }).first('status', 'counts');
        if (row) {
          const n = (k: string) => row.counts?.[k] ?? 0;
          out().info(`merge run ${runId} (${row.status}) created ${n('accountsCreated')} accounts, extended ${n('accountsExtended')}, merged ${n('accountsMerged')} away, `
            + `and made ${n('links')} links: undo removes what it created, splits merged accounts back and restores what it changed.`);
        }
        if (!(await confirm(`Undo merge run ${runId}?`, o.yes))) throw new RefusedError('not undone: confirm on a terminal, or pass --yes');
        return undoRun(c.db, runId, operator());
      });
      out().result({ runId, ...result }, () => `merge run ${runId} undone: ${result.accountsRemoved} accounts and ${result.linksRemoved} links removed, ${result.changesReverted} changes put back`);
    });

  merge.command('runs').description('list merge runs').action(async () => {
    const runs = await withDatabase((c) => c.db('merge_runs').orderBy('id').select('id', 'status', 'fingerprint', 'counts', 'created_by', 'created_at', 'finished_at'));
    out().result(runs, () => table(runs.map((r: { id: number; status: string; fingerprint: string; counts: Record<string, number>; created_by: string; created_at: Date }) => ({
      run: r.id, status: r.status, fingerprint: r.fingerprint, created: r.counts.accountsCreated ?? '', held: r.counts.held ?? '', by: r.created_by, at: new Date(r.created_at).toISOString(),
    })), ['run', 'status', 'fingerprint', 'created', 'held', 'by', 'at']));
  });

  merge.command('conflicts')
    .description('clusters held for an operator')
    .option('--all', 'include resolved ones', false)
    .action(async (o) => {
      const conflicts = await withDatabase((c) => listConflicts(c.db, { all: o.all }));
      out().result(conflicts, () => (conflicts.length ? conflicts.map((c) => [
        `conflict ${c.id} (run ${c.run}, ${c.status}): ${c.records.join(' + ')}`,
        ...(c.reasons as Array<{ rule: string; values: string[] }>).map((r) => `  ${r.rule}: ${r.values.join(', ')}`),
        ...(c.decision ? [`  decided: ${c.decision.kind} ${c.decision.groups.map((g) => `[${g.join(', ')}]`).join(' | ')} by ${c.decision.actor} at ${c.decision.at}${c.decision.note ? `: "${c.decision.note}"` : ''}`] : []),
      ].join('\n')).join('\n') : `no ${o.all ? '' : 'open '}conflicts (clusters are held when merge apply runs; merge plan shows those it would hold)`));
    });

  merge.command('decisions')
    .description('every operator decision (split or join); each steers every later plan, also after its run was undone')
    .action(async () => {
      const decisions = await withDatabase((c) => listDecisions(c.db));
      out().result(decisions, () => (decisions.length ? decisions.map((d) => [
        `decision ${d.id}: ${d.kind} ${d.groups.map((g) => `[${g.join(', ')}]`).join(' | ')}`,
        `  by ${d.actor} at ${d.at}${d.conflict === null ? '' : ` (conflict ${d.conflict})`}${d.note ? `: "${d.note}"` : ''}`,
      ].join('\n')).join('\n') : 'no decisions'));
    });

  const collect = (v: string, prev: string[] = []) => [...prev, v];
  merge.command('resolve <conflict>')
    .description('decide a held cluster: --split into groups that stay apart, or --join as one person')
    .option('--split <records>', 'a group of records, comma-separated source:id (repeat for each group)', collect)
    .option('--join', 'the records are one person', false)
    .option('--note <text>', 'why, for the audit log')
    .action(async (conflict: string, o) => {
      const conflictId = Number(conflict);
      if (!Number.isSafeInteger(conflictId) || conflictId <= 0) throw new UsageError(`"${conflict}" is not a conflict number (see chucs merge conflicts)`);
      if (Boolean(o.split) === o.join) throw new UsageError('give either --split groups or --join');
      const groups = (o.split ?? []).map((g: string) => g.split(',').map((x) => x.trim()).filter(Boolean));
      const result = await withDatabase((c) => resolveConflict(c.db, { conflictId, kind: o.join ? 'join' : 'split', groups, actor: operator(), note: o.note }));
      out().result(result, () => `conflict ${conflict} resolved (${o.join ? 'join' : 'split'}): the next "chucs merge apply" follows it`);
    });
}
