import path from 'node:path';
import { crmSource } from '../../src/merge/sources/crm.ts';
import { bbsSource } from '../../src/merge/sources/bbs.ts';
import { cloudSource } from '../../src/merge/sources/cloud.ts';
import { mallSource } from '../../src/merge/sources/mall.ts';
import { projectRoot } from '../../src/paths.ts';

/** The shared sample exports (../shared/samples), beside the repository. */
export const SAMPLES_DIR = path.resolve(projectRoot, '..', 'shared', 'samples');

export const SAMPLE_FILES = [
  [crmSource, path.join(SAMPLES_DIR, 'crm.csv')],
  [bbsSource, path.join(SAMPLES_DIR, 'bbs.csv')],
  [cloudSource, path.join(SAMPLES_DIR, 'cloud.jsonl')],
  [mallSource, path.join(SAMPLES_DIR, 'mall.csv')],
] as const;
