import { z } from 'zod';
import type { UpstreamIdentity, UpstreamProvider } from '../upstream.ts';
import { codeOfCallback, compact, expiresAt, upstreamHttp, type ProviderDeps, type SettingsOf } from './http.ts';

/** Weibo's public endpoints. */
const WEIBO = {
  authorize: 'https://api.weibo.com/oauth2/authorize',
  token: 'https://api.weibo.com/oauth2/access_token',
  userinfo: 'https://api.weibo.com/2/users/show.json',
};

/** Weibo's uid is a number too large for some clients; it is kept as a string throughout. */
const uid = z.union([z.string().regex(/^\d+$/), z.number().int().positive().transform(String)]);

const tokenAnswer = z.object({ access_token: z.string().min(1), expires_in: z.number().optional(), uid });
const userAnswer = z.object({
  idstr: z.string().min(1),
  screen_name: z.string().optional(),
  name: z.string().optional(),
  profile_image_url: z.string().optional(),
  avatar_large: z.string().optional(),
  gender: z.string().optional(),
});

/** `{error, error_code, error_description}`, usually with a 4xx status. */
const weiboError = (json: Record<string, unknown>) =>
  json.error !== undefined || json.error_code !== undefined
    ? `${String(json.error_code ?? '')} ${String(json.error ?? '')} ${String(json.error_description ?? '')}`.trim()
    : undefined;

/** Weibo: the token answer names the uid; users/show must be about that same uid. */
export function createWeiboProvider(settings: SettingsOf<'weibo'>, deps: ProviderDeps, name: { zh: string; en: string }): UpstreamProvider {
  const http = upstreamHttp(settings, deps);
  const endpoints = { ...WEIBO, ...settings.endpoints };

  return {
    id: settings.id,
    kind: 'weibo',
    name,
    async authorizationUrl(request) {
      const url = new URL(endpoints.authorize);
      url.search = new URLSearchParams({ client_id: settings.clientId, redirect_uri: request.redirectUri, response_type: 'code', state: request.state }).toString();
      return url;
    },

    async complete(callback, request): Promise<UpstreamIdentity> {
      const code = codeOfCallback(http, callback, request);
      const form = new URLSearchParams({
        client_id: settings.clientId, client_secret: settings.clientSecret, grant_type: 'authorization_code', code, redirect_uri: request.redirectUri,
      });
      const token = await http.postForm('token', new URL(endpoints.token), form, tokenAnswer, { sensitive: [code], errorOf: weiboError });
      const sensitive = [code, token.access_token];

      const userUrl = new URL(endpoints.userinfo);
      userUrl.search = new URLSearchParams({ access_token: token.access_token, uid: token.uid }).toString();
      const user = await http.getJson('userinfo', userUrl, userAnswer, { sensitive, errorOf: weiboError });
      if (user.idstr !== token.uid) throw http.failed('users/show is about another uid');

      const nickname = user.screen_name || user.name;
      const picture = user.avatar_large || user.profile_image_url;
      return {
        provider: settings.id,
        subject: token.uid,
        identifiers: [{ kind: 'weibo_uid', value: token.uid }],
        profile: {
          ...(nickname ? { nickname } : {}),
          ...(picture ? { picture } : {}),
          ...(user.gender === 'm' ? { gender: 'male' as const } : user.gender === 'f' ? { gender: 'female' as const } : {}),
        },
        tokens: { accessToken: token.access_token, expiresAt: expiresAt(token.expires_in) },
        claims: compact({ uid: token.uid, screen_name: user.screen_name, name: user.name, gender: user.gender, avatar_large: picture }),
      };
    },
  };
}
