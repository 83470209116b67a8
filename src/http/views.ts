import path from 'node:path';
import { Eta } from 'eta';
import { projectRoot } from '../paths.ts';
import type { Locale } from '../errors.ts';
import { translator } from '../i18n/messages.ts';

export const VIEWS_DIR = path.join(projectRoot, 'views');

export type Views = ReturnType<typeof createViews>;

/** Renders views/ with the locale's translator; every value is HTML-escaped by default. */
export function createViews({ cache }: { cache: boolean }) {
  const eta = new Eta({ views: VIEWS_DIR, cache, autoEscape: true });
  return {
    render(name: string, locale: Locale, data: Record<string, unknown>): string {
      return eta.render(`./${name}`, { ...data, locale, t: translator(locale) });
    },
  };
}
