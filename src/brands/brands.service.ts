import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { AppError, type Locale } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import {
  insertBrand, updateBrandRow, findBrandRow, listBrandRows, countClientsOfBrand, deleteBrandRow,
  type BrandRow, type BrandFields,
} from './brands.repo.ts';

/** The brand of CHUCS itself (the account center, error pages) and of every app that names none. */
export const DEFAULT_BRAND_ID = 'changhong';
const DEFAULT_PRIMARY = '#e60012';
const DEFAULT_PRIMARY_TEXT = '#ffffff';
/** A logo given inline is sent in every page of the brand: keep pages light. */
const LOGO_DATA_URL_MAX = 32 * 1024;

/**
 * A brand (长虹, 美菱, CHiQ, …) themes the pages of its apps: name, logo, colours, legal links.
 * Colours end up in a style sheet, so only `#rrggbb` is accepted, never free CSS.
 */
export interface Brand {
  id: string;
  name: { zh: string; en: string };
  /** An https URL or an inline `data:image/…` URL; null: the name is shown instead. */
  logoUrl: string | null;
  colors: { primary: string; primaryText?: string };
  /** Override the configured `legal` links on the login pages of the brand's apps. */
  legal: { termsUrl?: string; privacyUrl?: string };
  region: string | null;
  /** The page language when neither the app nor the browser asks for Chinese or English. */
  defaultLocale: Locale;
  createdAt: string;
  updatedAt: string;
}

const HEX_COLOR = /^#[0-9a-f]{6}$/i;
const hexColor = z.string().regex(HEX_COLOR, 'a colour like #e60012').transform((c) => c.toLowerCase());
const httpsUrl = z.string().max(2048)
  .refine((u) => URL.canParse(u) && new URL(u).protocol === 'https:', 'must be an https URL');
const DATA_LOGO = /^data:image\/(?:svg\+xml|png|jpeg|webp)(?:;charset=utf-8)?(?:;base64)?,/i;
const logoUrl = z.string().refine(
  (u) => (DATA_LOGO.test(u) ? u.length <= LOGO_DATA_URL_MAX : u.length <= 2048 && URL.canParse(u) && new URL(u).protocol === 'https:'),
  `must be an https URL or a data:image/svg+xml (or png, jpeg, webp) URL of at most ${LOGO_DATA_URL_MAX} characters`,
);
const brandName = z.string().trim().min(1).max(50);
const region = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a short region code like cn or eu');
const LOCALES = ['zh-CN', 'en'] as const;

export const newBrandSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'lowercase letters, digits and hyphens, at most 32'),
  name: z.object({ zh: brandName, en: brandName }).strict(),
  logoUrl: logoUrl.nullable().default(null),
  colors: z.object({ primary: hexColor.default(DEFAULT_PRIMARY), primaryText: hexColor.optional() }).strict().prefault({}),
  legal: z.object({ termsUrl: httpsUrl.optional(), privacyUrl: httpsUrl.optional() }).strict().prefault({}),
  region: region.nullable().default(null),
  defaultLocale: z.enum(LOCALES).default('zh-CN'),
}).strict();

export type NewBrand = z.input<typeof newBrandSchema>;

/** What `update` may change; null clears an optional setting. */
export interface BrandChanges {
  name?: { zh?: string; en?: string };
  logoUrl?: string | null;
  colors?: { primary?: string; primaryText?: string | null };
  legal?: { termsUrl?: string | null; privacyUrl?: string | null };
  region?: string | null;
  defaultLocale?: string;
}

const CHANGE_KEYS = ['name', 'logoUrl', 'colors', 'legal', 'region', 'defaultLocale'] as const;

/** Drops the keys whose value is null or undefined (cleared or not given). */
function present<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]?: Exclude<T[K], null> };
}

/** Applies changes to settings: an undefined change keeps the setting, null removes it. */
function merged<T extends Record<string, unknown>>(current: T, changes: Record<string, unknown> | undefined): T {
  const out: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(changes ?? {})) {
    if (value === null) delete out[key];
    else if (value !== undefined) out[key] = value;
  }
  return out as T;
}

/** A stored row as pages use it; a colour edited into the table by hand that is not #rrggbb is ignored. */
function toBrand(row: BrandRow): Brand {
  const colors = row.colors ?? {};
  const legal = row.legal_links ?? {};
  return {
    id: row.id,
    name: { zh: row.name_zh, en: row.name_en },
    logoUrl: row.logo_url,
    colors: {
      primary: typeof colors.primary === 'string' && HEX_COLOR.test(colors.primary) ? colors.primary : DEFAULT_PRIMARY,
      ...(typeof colors.primaryText === 'string' && HEX_COLOR.test(colors.primaryText) ? { primaryText: colors.primaryText } : {}),
    },
    legal: present({ termsUrl: legal.termsUrl, privacyUrl: legal.privacyUrl }),
    region: row.region,
    defaultLocale: row.default_locale === 'en' ? 'en' : 'zh-CN',
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

function fieldsOf(b: z.output<typeof newBrandSchema>): BrandFields {
  return {
    name_zh: b.name.zh,
    name_en: b.name.en,
    logo_url: b.logoUrl,
    colors: present(b.colors),
    legal_links: present(b.legal),
    region: b.region,
    default_locale: b.defaultLocale,
  };
}

/** Used when even the default brand cannot be read (a page must still render). */
const BUILT_IN_DEFAULT: Brand = {
  id: DEFAULT_BRAND_ID, name: { zh: '长虹', en: 'Changhong' }, logoUrl: null, colors: { primary: DEFAULT_PRIMARY },
  legal: {}, region: null, defaultLocale: 'zh-CN', createdAt: new Date(0).toISOString(), updatedAt: new Date(0).toISOString(),
};

/** The brand's CSS variables, served at /assets/brand/<id>.css. */
export function brandStylesheet(brand: Brand): string {
  // Checked again here: these are the only brand values that reach CSS.
  const primary = HEX_COLOR.test(brand.colors.primary) ? brand.colors.primary : DEFAULT_PRIMARY;
  const text = brand.colors.primaryText && HEX_COLOR.test(brand.colors.primaryText) ? brand.colors.primaryText : DEFAULT_PRIMARY_TEXT;
  return `:root{--brand:${primary};--brand-text:${text}}\n`;
}

export type BrandsService = ReturnType<typeof createBrandsService>;

export function createBrandsService({ db, cacheSeconds = 0, clock = () => Date.now() }: {
  db: Db;
  /**
   * How long a node themes pages from the brands it read last: brands are few and every page
   * needs one. A change made elsewhere (the CLI, another node) shows within this time.
   */
  cacheSeconds?: number;
  clock?: () => number;
}) {
  let snapshot: { brands: Map<string, Brand>; loadedAt: number; seq: number } | undefined;
  let loading: Promise<Map<string, Brand>> | undefined;
  let started = 0;

  /** Reads all brands; a slower, older read never replaces a newer one. */
  function load(): Promise<Map<string, Brand>> {
    const seq = ++started;
    const at = clock();
    const query = listBrandRows(db).then((rows) => {
      const brands = new Map(rows.map((r) => [r.id, toBrand(r)]));
      if (!snapshot || seq > snapshot.seq) snapshot = { brands, loadedAt: at, seq };
      return snapshot.brands;
    });
    loading = query;
    query.then(() => undefined, () => undefined).finally(() => { if (loading === query) loading = undefined; });
    return query;
  }

  const fresh = () => snapshot !== undefined && clock() - snapshot.loadedAt < cacheSeconds * 1000;

  async function all(): Promise<Map<string, Brand>> {
    if (fresh()) return snapshot!.brands;
    return loading ?? load();
  }

  const pick = (brands: Map<string, Brand> | undefined, id: unknown) =>
    (typeof id === 'string' ? brands?.get(id) : undefined) ?? brands?.get(DEFAULT_BRAND_ID) ?? BUILT_IN_DEFAULT;

  /** After a change on this node: read again, so its own pages show the change at once. */
  async function changed(): Promise<void> {
    await load().catch(() => { if (snapshot) snapshot.loadedAt = -Infinity; });
  }

  function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
    const parsed = schema.safeParse(input);
    if (!parsed.success) {
      throw new AppError('brands.invalid', { detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    }
    return parsed.data;
  }

  async function show(id: string): Promise<Brand> {
    const row = await findBrandRow(db, id);
    if (!row) throw new AppError('brands.not_found', { detail: id });
    return toBrand(row);
  }

  return {
    show,

    async add(input: NewBrand, actor: string): Promise<Brand> {
      const b = parse(newBrandSchema, input);
      await db.transaction(async (trx) => {
        if (!(await insertBrand(trx, { id: b.id, ...fieldsOf(b) }))) throw new AppError('brands.exists', { detail: b.id });
        await recordAudit(trx, { actor, action: 'brand.created', subject: `brand:${b.id}`, detail: { name: b.name } });
      });
      await changed();
      return show(b.id);
    },

    async list(): Promise<Brand[]> {
      return (await listBrandRows(db)).map(toBrand);
    },

    async update(id: string, changes: BrandChanges, actor: string): Promise<Brand> {
      const unknown = Object.keys(changes).filter((k) => !(CHANGE_KEYS as readonly string[]).includes(k));
      if (unknown.length > 0) throw new AppError('brands.invalid', { detail: `unknown settings: ${unknown.join(', ')}` });
      await db.transaction(async (trx) => {
        const row = await findBrandRow(trx, id, { forUpdate: true });
        if (!row) throw new AppError('brands.not_found', { detail: id });
        const current = toBrand(row);
        const b = parse(newBrandSchema, {
          id,
          name: merged(current.name, changes.name),
          logoUrl: changes.logoUrl === undefined ? current.logoUrl : changes.logoUrl,
          colors: merged(current.colors, changes.colors),
          legal: merged(current.legal, changes.legal),
          region: changes.region === undefined ? current.region : changes.region,
          defaultLocale: changes.defaultLocale ?? current.defaultLocale,
        });
        await updateBrandRow(trx, id, fieldsOf(b));
        await recordAudit(trx, { actor, action: 'brand.updated', subject: `brand:${id}`, detail: { changed: Object.keys(changes) } });
      });
      await changed();
      return show(id);
    },

    /** Refused for the default brand and while apps belong to the brand. */
    async remove(id: string, actor: string): Promise<void> {
      if (id === DEFAULT_BRAND_ID) throw new AppError('brands.default');
      await db.transaction(async (trx) => {
        if (!(await findBrandRow(trx, id, { forUpdate: true }))) throw new AppError('brands.not_found', { detail: id });
        const apps = await countClientsOfBrand(trx, id);
        if (apps > 0) throw new AppError('brands.in_use', { detail: `${apps} app(s) belong to ${id}` });
        try {
          await deleteBrandRow(trx, id);
        } catch (err) {
          // An app registered meanwhile: the foreign key refuses, and so do we.
          if ((err as { code?: string }).code === '23503') throw new AppError('brands.in_use', { detail: 'an app was registered meanwhile' });
          throw err;
        }
        await recordAudit(trx, { actor, action: 'brand.removed', subject: `brand:${id}` });
      });
      await changed();
    },

    /** Whether a brand exists (for registering apps). */
    async exists(id: string): Promise<boolean> {
      return (await findBrandRow(db, id)) !== undefined;
    },

    /** The brand that themes a page: the one named, else the default (also for unknown ids). */
    async brandFor(brandId?: unknown): Promise<Brand> {
      try {
        return pick(await all(), brandId);
      } catch {
        return pick(snapshot?.brands, brandId); // a page must render even when the database does not answer
      }
    },

    /**
     * The same, without waiting: for pages oidc-provider asks for synchronously (device
     * flow, logout). Serves the brands read last and reads them again in the background.
     */
    cachedBrandFor(brandId?: unknown): Brand {
      if (!fresh() && !loading) load().catch(() => undefined);
      return pick(snapshot?.brands, brandId);
    },
  };
}
