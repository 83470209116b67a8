import type { Command } from 'commander';
import { withDatabase, operator } from './context.ts';
import { table, type Output } from './output.ts';
import { UsageError, RefusedError } from './usage-error.ts';
import { createBrandsService, type Brand, type BrandChanges, type BrandsService } from '../brands/brands.service.ts';
import { isAppError } from '../errors.ts';

/** A data: logo is long: name its kind and size instead of printing it. */
function logoOf(url: string | null): string {
  if (!url) return '-';
  return url.startsWith('data:') ? `${url.slice(0, url.indexOf(','))} (${url.length} characters, inline)` : url;
}

function describe(b: Brand): string {
  return [
    `id:                 ${b.id}`,
    `name:               ${b.name.zh} / ${b.name.en}`,
    `logo:               ${logoOf(b.logoUrl)}`,
    `primary colour:     ${b.colors.primary}`,
    `text on primary:    ${b.colors.primaryText ?? '#ffffff (default)'}`,
    `terms:              ${b.legal.termsUrl ?? '- (configured legal.termsUrl)'}`,
    `privacy policy:     ${b.legal.privacyUrl ?? '- (configured legal.privacyUrl)'}`,
    `region:             ${b.region ?? '-'}`,
    `default language:   ${b.defaultLocale}`,
  ].join('\n');
}

const withBrands = <T>(fn: (brands: BrandsService) => Promise<T>) => withDatabase(({ db }) => fn(createBrandsService({ db })));

/** Options shared by add and update; for update an empty value clears the setting. */
function brandOptions(cmd: Command, clearing: boolean): Command {
  const clear = clearing ? ' ("" clears it)' : '';
  return cmd
    .option('--name-en <name>', `English name${clearing ? '' : ' (default: the Chinese name)'}`)
    .option('--logo-url <url>', `logo: an https URL or a data:image/svg+xml URL${clear}`)
    .option('--primary-color <#rrggbb>', 'colour of buttons, links and the logo mark (default #e60012)')
    .option('--primary-text-color <#rrggbb>', `colour of text on the primary colour (default #ffffff)${clear}`)
    .option('--terms-url <url>', `terms of service (https), instead of the configured one${clear}`)
    .option('--privacy-url <url>', `privacy policy (https), instead of the configured one${clear}`)
    .option('--region <code>', `region, e.g. cn or eu${clear}`)
    .option('--default-locale <locale>', 'page language when the browser names neither Chinese nor English: zh-CN or en');
}

/** A refusal that changed nothing exits 3, like the other refusals. */
function refusedWhen(codes: string[]) {
  return (err: unknown): never => {
    if (isAppError(err) && codes.includes(err.code)) {
      throw new RefusedError(`${err.publicMessage('en')} (${err.code}${err.detail ? `: ${err.detail}` : ''})`);
    }
    throw err;
  };
}

export function registerBrands(program: Command, out: () => Output) {
  const brands = program.command('brands').description('brands (长虹, 美菱, …) that theme the pages of their apps');

  brandOptions(brands.command('add')
    .description('add a brand')
    .requiredOption('--id <id>', 'lowercase letters, digits and hyphens, e.g. meiling')
    .requiredOption('--name-zh <name>', 'Chinese name, e.g. 美菱'), false)
    .action(async (o) => {
      const added = await withBrands((b) => b.add({
        id: o.id,
        name: { zh: o.nameZh, en: o.nameEn ?? o.nameZh },
        logoUrl: o.logoUrl ?? null,
        colors: { ...(o.primaryColor ? { primary: o.primaryColor } : {}), ...(o.primaryTextColor ? { primaryText: o.primaryTextColor } : {}) },
        legal: { ...(o.termsUrl ? { termsUrl: o.termsUrl } : {}), ...(o.privacyUrl ? { privacyUrl: o.privacyUrl } : {}) },
        region: o.region ?? null,
        ...(o.defaultLocale ? { defaultLocale: o.defaultLocale } : {}),
      }, operator()));
      out().result(added, () => describe(added));
    });

  brands.command('list').description('list the brands').action(async () => {
    const list = await withBrands((b) => b.list());
    out().result(list, () => table(list.map((b) => ({
      id: b.id, name_zh: b.name.zh, name_en: b.name.en, color: b.colors.primary, region: b.region ?? '', locale: b.defaultLocale,
    })), ['id', 'name_zh', 'name_en', 'color', 'region', 'locale']));
  });

  brands.command('show <id>').description('show one brand').action(async (id: string) => {
    const brand = await withBrands((b) => b.show(id));
    out().result(brand, () => describe(brand));
  });

  brandOptions(brands.command('update <id>')
    .description('change a brand; the pages of its apps show the change within clientCacheSeconds')
    .option('--name-zh <name>', 'Chinese name'), true)
    .action(async (id: string, o) => {
      const orNull = (v: string | undefined) => (v === undefined ? undefined : v === '' ? null : v);
      const changes: BrandChanges = {
        ...(o.nameZh !== undefined || o.nameEn !== undefined ? { name: { zh: o.nameZh, en: o.nameEn } } : {}),
        ...(o.logoUrl !== undefined ? { logoUrl: orNull(o.logoUrl) } : {}),
        ...(o.primaryColor !== undefined || o.primaryTextColor !== undefined
          ? { colors: { primary: o.primaryColor, primaryText: orNull(o.primaryTextColor) } } : {}),
        ...(o.termsUrl !== undefined || o.privacyUrl !== undefined
          ? { legal: { termsUrl: orNull(o.termsUrl), privacyUrl: orNull(o.privacyUrl) } } : {}),
        ...(o.region !== undefined ? { region: orNull(o.region) } : {}),
        ...(o.defaultLocale !== undefined ? { defaultLocale: o.defaultLocale } : {}),
      };
      if (Object.keys(changes).length === 0) throw new UsageError('nothing to change: give at least one option (see chucs brands update --help)');
      const updated = await withBrands((b) => b.update(id, changes, operator()));
      out().result(updated, () => describe(updated));
    });

  brands.command('remove <id>').description('remove a brand no app belongs to (never the default, changhong)').action(async (id: string) => {
    await withBrands((b) => b.remove(id, operator())).catch(refusedWhen(['brands.in_use', 'brands.default']));
    out().result({ removed: id }, () => `removed brand ${id}`);
  });
}
