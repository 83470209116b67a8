import type { LegacySource } from './source.ts';
import { crmSource } from './crm.ts';
import { bbsSource } from './bbs.ts';
import { cloudSource } from './cloud.ts';
import { mallSource } from './mall.ts';

/** The four big legacy centers; any other comes with a mapping file (mapping.ts). */
export const BUILT_IN_SOURCES: Record<string, LegacySource> = {
  crm: crmSource, bbs: bbsSource, cloud: cloudSource, mall: mallSource,
};
