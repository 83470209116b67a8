import type { Locale } from '../errors.ts';

/**
 * zh-CN first: English only when the person asks for it, through the OIDC `ui_locales`
 * parameter or, failing that, the browser's Accept-Language. When neither names Chinese or
 * English, `fallback` (the brand's default language).
 */
export function pickLocale(uiLocales: string | undefined, acceptLanguage: string | undefined, fallback: Locale = 'zh-CN'): Locale {
  const wanted = [
    ...(uiLocales ?? '').split(/\s+/),
    ...(acceptLanguage ?? '').split(',').map((p) => p.split(';')[0]!.trim()),
  ].filter(Boolean);
  for (const tag of wanted) {
    const lang = tag.toLowerCase();
    if (lang.startsWith('zh')) return 'zh-CN';
    if (lang.startsWith('en')) return 'en';
  }
  return fallback;
}
