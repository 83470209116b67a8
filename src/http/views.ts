import path from 'node:path';
import { Eta } from 'eta';
import { projectRoot } from '../paths.ts';
import type { Locale } from '../errors.ts';
import type { Brand } from '../brands/brands.service.ts';
import { translator } from '../i18n/messages.ts';

export const VIEWS_DIR = path.join(projectRoot, 'views');

export type Views = ReturnType<typeof createViews>;

/** What the layout needs of a brand: its name in the page's language, logo and style sheet. */
export interface BrandView { id: string; name: string; logoUrl: string | null; stylesheet: string }

function brandView(brand: Brand, locale: Locale): BrandView {
  return {
    id: brand.id,
    name: locale === 'en' ? brand.name.en : brand.name.zh,
    logoUrl: brand.logoUrl,
    // The version makes a changed brand show at once despite the style sheet's caching.
    stylesheet: `/assets/brand/${brand.id}.css?v=${Date.parse(brand.updatedAt).toString(36)}`,
  };
}

/**
 * Renders views/ with the locale's translator; every value is HTML-escaped by default.
 * `brands` resolves a brand id to the brand that themes the page (the default one for an
 * unknown or absent id): pages that name no `brand` (the account center, error pages) get
 * the default brand.
 */
export function createViews({ cache, brands }: { cache: boolean; brands?: (brandId?: unknown) => Brand }) {
  const eta = new Eta({ views: VIEWS_DIR, cache, autoEscape: true });
  return {
    render(name: string, locale: Locale, data: Record<string, unknown>): string {
      const brand = (data.brand as Brand | undefined) ?? brands?.();
      return eta.render(`./${name}`, { ...data, brand: brand ? brandView(brand, locale) : undefined, locale, t: translator(locale) });
    },
    /** The brand of an app's pages, for renderers that cannot wait for the database (oidc-provider's). */
    brandOf(brandId: unknown): Brand | undefined {
      return brands?.(brandId);
    },
  };
}
