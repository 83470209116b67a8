import path from 'node:path';
import { crmSource } from '../../src/merge/sources/crm.ts';
import { bbsSource } from '../../src/merge/sources/bbs.ts';
import { cloudSource } from '../../src/merge/sources/cloud.ts';
import { mallSource } from '../../src/merge/sources/mall.ts';
import { projectRoot } from '../../src/paths.ts';

/**
 * The sample legacy exports with every nasty case (a copy of ../shared/samples, kept in the
 * repository so that the tests run on any clone).
 */
export const SAMPLES_DIR = path.join(projectRoot, 'test', 'fixtures', 'legacy-samples');

export const SAMPLE_FILES = [
  [crmSource, path.join(SAMPLES_DIR, 'crm.csv')],
  [bbsSource, path.join(SAMPLES_DIR, 'bbs.csv')],
  [cloudSource, path.join(SAMPLES_DIR, 'cloud.jsonl')],
  [mallSource, path.join(SAMPLES_DIR, 'mall.csv')],
] as const;
