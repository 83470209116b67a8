import type { Logger } from 'pino';
import type { UpstreamSettings } from '../../config/schema.ts';
import type { UpstreamKind, UpstreamProvider } from '../upstream.ts';
import type { ProviderDeps, SettingsOf } from './http.ts';
import { createOAuth2Provider } from './oauth2.ts';
import { createOidcProvider } from './oidc.ts';
import { createQQProvider } from './qq.ts';
import { createWechatProvider } from './wechat.ts';
import { createWeiboProvider } from './weibo.ts';

/** Button names of the Chinese providers, as people know them. */
const DEFAULT_NAMES: Partial<Record<UpstreamKind, { zh: string; en: string }>> = {
  wechat: { zh: '微信', en: 'WeChat' },
  qq: { zh: 'QQ', en: 'QQ' },
  weibo: { zh: '微博', en: 'Weibo' },
};

/**
 * The configured upstreams by id. A missing secret fails here, at start, naming the variable
 * to set: an upstream that cannot redeem codes would only fail later, in front of a person.
 */
export function createUpstreamProviders(settings: UpstreamSettings[], deps: { fetch?: typeof fetch; logger: Logger }): Map<string, UpstreamProvider> {
  const providerDeps: ProviderDeps = { fetch: deps.fetch ?? globalThis.fetch, logger: deps.logger };
  const providers = new Map<string, UpstreamProvider>();
  for (const s of settings) {
    const { clientSecret } = s;
    if (!clientSecret) {
      throw new Error(`upstream "${s.id}" has no client secret: set CHUCS_UPSTREAM_${s.id.toUpperCase().replaceAll('-', '_')}_SECRET (or clientSecret in its settings)`);
    }
    const name = s.name ?? DEFAULT_NAMES[s.kind] ?? { zh: s.id, en: s.id };
    providers.set(s.id, create({ ...s, clientSecret }, providerDeps, name));
  }
  return providers;
}

function create(s: SettingsOf<UpstreamKind>, deps: ProviderDeps, name: { zh: string; en: string }): UpstreamProvider {
  switch (s.kind) {
    case 'wechat': return createWechatProvider(s, deps, name);
    case 'qq': return createQQProvider(s, deps, name);
    case 'weibo': return createWeiboProvider(s, deps, name);
    case 'oidc': return createOidcProvider(s, deps, name);
    case 'oauth2': return createOAuth2Provider(s, deps, name);
  }
}
