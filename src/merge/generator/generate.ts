import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { BBS_FILE, BBS_HEADER, bbsDraft, bbsId, renderBbs } from './bbs.writer.ts';
import { CLOUD_EMAIL_ONLY, CLOUD_FILE, cloudDraft, renderCloud } from './cloud.writer.ts';
import { CRM_FILE, CRM_HEADER, crmDraft, crmId, renderCrm } from './crm.writer.ts';
import { MALL_FILE, MALL_HEADER, mallDraft, mallId, renderMall } from './mall.writer.ts';
import { makePerson, type Person } from './people.ts';
import { Rng } from './prng.ts';
import { SCENARIOS } from './scenarios.ts';
import { csvField } from './shapes.ts';
import { ShuffleWindow, TextSink } from './sink.ts';
import { SOURCES, type DraftOptions, type SourceName } from './draft.ts';
import { DEFAULT_FRACTIONS, TRAP_KINDS, scheduleTraps, type TrapKind } from './traps.ts';
import { createWorld, type World } from './world.ts';
import type { Draft, Scene } from './scene.ts';

/**
 * Writes the four legacy exports for --people synthetic people, with the ground truth beside
 * them: truth.csv (the person behind every row, and whether the importer must reject it),
 * passwords.csv (the plaintext behind every hash), truth-notes.csv (every record a trap put
 * somewhere, with its part) and summary.json. Streams: memory does not grow with --people.
 */

export interface GenerateOptions {
  people: number;
  seed: number;
  out: string;
  fractions?: Readonly<Record<TrapKind, number>>;
  /** Records held per source to shuffle the file order (default 512). */
  shuffleWindow?: number;
}

export interface GenerateSummary {
  seed: number;
  people: number;
  records: Record<SourceName, { rows: number; rejected: number }>;
  totalRecords: number;
  passwords: number;
  traps: Record<TrapKind, { fraction: number; instances: number }>;
  notes: { file: string; rows: number; attackers: number; victims: number };
  files: Record<string, string>;
  elapsedMs: number;
}

export const OUTPUT_FILES = {
  crm: CRM_FILE, bbs: BBS_FILE, cloud: CLOUD_FILE, mall: MALL_FILE,
  passwords: 'passwords.csv', truth: 'truth.csv', notes: 'truth-notes.csv', summary: 'summary.json',
} as const;

export const TRUTH_HEADER = 'source,source_id,person_id,expect,reason,line\n';
export const PASSWORDS_HEADER = 'source,source_id,login_identifier,password\n';
export const NOTES_HEADER = 'trap_id,kind,role,person_id,source,source_id,line,detail\n';

// How many sources an ordinary person is in (legacy-sources: one to four), and which are likelier.
const SOURCE_COUNT = [[1, 5], [2, 10], [3, 15], [4, 70]] as const;
const SOURCE_WEIGHT: Readonly<Record<SourceName, number>> = { cloud: 4, mall: 3, crm: 2, bbs: 1.5 };
// A trap's people have their ordinary records in each remaining source with this chance.
const REST_CHANCE = 0.8;

const csvRow = (fields: readonly string[]) => `${fields.map(csvField).join(',')}\n`;
// Passwords are hashed exactly as typed: quote leading or trailing blanks so no reader trims them.
const passwordField = (s: string) => (/^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : csvField(s));

export function generateLegacy(opts: GenerateOptions): GenerateSummary {
  const started = Date.now();
  const fractions = opts.fractions ?? DEFAULT_FRACTIONS;
  mkdirSync(opts.out, { recursive: true });
  const w = createWorld(opts.seed, opts.people);
  const path = (f: string) => join(opts.out, f);

  const sinks: Record<SourceName, TextSink> = {
    crm: new TextSink(path(CRM_FILE), (t) => iconv.encode(t, 'gb18030')),
    bbs: new TextSink(path(BBS_FILE)),
    cloud: new TextSink(path(CLOUD_FILE)),
    mall: new TextSink(path(MALL_FILE)),
  };
  sinks.crm.write(CRM_HEADER);
  sinks.bbs.write(BBS_HEADER);
  sinks.mall.write(MALL_HEADER);
  const truth = new TextSink(path(OUTPUT_FILES.truth));
  const passwords = new TextSink(path(OUTPUT_FILES.passwords));
  const notes = new TextSink(path(OUTPUT_FILES.notes));
  truth.write(TRUTH_HEADER);
  passwords.write(PASSWORDS_HEADER);
  notes.write(NOTES_HEADER);

  const records = Object.fromEntries(SOURCES.map((s) => [s, { rows: 0, rejected: 0 }])) as GenerateSummary['records'];
  const noteStats = { rows: 0, attackers: 0, victims: 0 };
  let passwordRows = 0;

  const write = (d: Draft) => {
    const stats = records[d.source];
    const id = sourceId(w, d.source, ++stats.rows);
    const line = sinks[d.source].write(render(d, id));
    const shownId = d.source === 'crm' && d.emptyId ? '' : id;
    truth.write(csvRow([d.source, shownId, d.personId, d.rejected ? 'rejected' : 'imported', d.rejected ?? '', String(line)]));
    if (d.rejected) stats.rejected++;
    else if (d.plain !== null && d.login !== null) {
      passwords.write(`${[d.source, shownId, d.login].map(csvField).join(',')},${passwordField(d.plain)}\n`);
      passwordRows++;
    }
    for (const n of d.notes) {
      notes.write(csvRow([n.trapId, n.kind, n.role, d.personId, d.source, shownId, String(line), n.detail]));
      noteStats.rows++;
      if (n.role === 'attacker') noteStats.attackers++;
      if (n.role === 'victim') noteStats.victims++;
    }
  };
  const shuffleRng = new Rng(opts.seed, 0x73687566);
  const windows = Object.fromEntries(SOURCES.map((s) => [s, new ShuffleWindow<Draft>(opts.shuffleWindow ?? 512, shuffleRng, write)])) as Record<SourceName, ShuffleWindow<Draft>>;

  const instances = Object.fromEntries(TRAP_KINDS.map((k) => [k, 0])) as Record<TrapKind, number>;
  let trapCounter = 0;
  const scene: Scene = {
    w,
    person: (personOpts) => makePerson(w, personOpts),
    rest(p, taken) {
      emitOrdinary(scene, p, SOURCES.filter((source) => !taken.includes(source) && w.rng.chance(REST_CHANCE)), taken);
    },
    emit: (d) => windows[d.source].push(d),
    open(kind) {
      return { id: `T${String(++trapCounter).padStart(6, '0')}`, n: instances[kind]++ };
    },
  };

  const schedule = scheduleTraps(opts.people, fractions, new Rng(opts.seed, 0x74726170));
  while (w.counters.person < opts.people) {
    const due = schedule.due(w.counters.person);
    if (due.length === 0) ordinaryPerson(scene);
    for (const kind of due) SCENARIOS[kind](scene);
  }
  for (const kind of schedule.rest()) SCENARIOS[kind](scene);

  for (const s of SOURCES) windows[s].drain();
  for (const sink of [...Object.values(sinks), truth, passwords, notes]) sink.close();

  const summary: GenerateSummary = {
    seed: opts.seed,
    people: w.counters.person,
    records,
    totalRecords: SOURCES.reduce((n, s) => n + records[s].rows, 0),
    passwords: passwordRows,
    traps: Object.fromEntries(TRAP_KINDS.map((k) => [k, { fraction: fractions[k], instances: instances[k] }])) as GenerateSummary['traps'],
    notes: { file: OUTPUT_FILES.notes, ...noteStats },
    files: { ...OUTPUT_FILES },
    elapsedMs: Date.now() - started,
  };
  writeFileSync(path(OUTPUT_FILES.summary), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

function ordinaryPerson(s: Scene): void {
  const { rng } = s.w;
  const p = s.person();
  const pool = [...SOURCES];
  for (let drop = 4 - rng.weighted(SOURCE_COUNT); drop > 0; drop--) {
    // The rarer sources are the likelier to be missing.
    const gone = rng.weighted(pool.map((src) => [src, 1 / SOURCE_WEIGHT[src]] as const));
    pool.splice(pool.indexOf(gone), 1);
  }
  emitOrdinary(s, p, pool, []);
}

/**
 * A person's ordinary records in `sources` (`taken`: the sources their trap records are in),
 * provable together: a record whose only strong evidence is the main email (the forum account,
 * an email-only cloud account) gets a cloud or mall record beside it that verifies that email.
 */
function emitOrdinary(s: Scene, p: Person, sources: readonly SourceName[], taken: readonly SourceName[]): void {
  const { rng } = s.w;
  const emailOnly = sources.includes('cloud') && rng.chance(CLOUD_EMAIL_ONLY);
  const byEmail = emailOnly || sources.includes('bbs') || taken.includes('bbs');
  const carriers = sources.filter((source) => source === 'mall' || (source === 'cloud' && !emailOnly));
  const carrier = byEmail && carriers.length > 0 ? rng.pick(carriers) : null;
  for (const source of sources) {
    const opts: DraftOptions = source === carrier ? { mainEmailVerified: true } : {};
    s.emit(ordinaryDraft(s.w, source, p, opts, source === 'cloud' && emailOnly));
  }
}

function ordinaryDraft(w: World, source: SourceName, p: Person, opts: DraftOptions, emailOnly: boolean): Draft {
  switch (source) {
    case 'crm': return crmDraft(w, p);
    case 'bbs': return bbsDraft(w, p);
    case 'cloud': return cloudDraft(w, p, { ...opts, emailOnly });
    case 'mall': return mallDraft(w, p, opts);
  }
}

function sourceId(w: World, source: SourceName, n: number): string {
  switch (source) {
    case 'crm': return crmId(n);
    case 'bbs': return bbsId(n);
    case 'cloud': return w.numbering.cloudAccountId(n);
    case 'mall': return mallId(n);
  }
}

function render(d: Draft, id: string): string {
  switch (d.source) {
    case 'crm': return renderCrm(d, id);
    case 'bbs': return renderBbs(d, id);
    case 'cloud': return renderCloud(d, id);
    case 'mall': return renderMall(d, id);
  }
}
