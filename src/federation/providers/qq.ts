import { z } from 'zod';
import type { UpstreamIdentity, UpstreamProvider } from '../upstream.ts';
import { codeOfCallback, compact, expiresAt, upstreamHttp, type ProviderDeps, type SettingsOf } from './http.ts';

/** QQ Connect's public endpoints. */
const QQ = {
  authorize: 'https://graph.qq.com/oauth2.0/authorize',
  token: 'https://graph.qq.com/oauth2.0/token',
  openid: 'https://graph.qq.com/oauth2.0/me',
  userinfo: 'https://graph.qq.com/user/get_user_info',
};

/** QQ sends numbers as strings or numbers depending on the endpoint and the day. */
const numeric = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]);

const tokenAnswer = z.object({ access_token: z.string().min(1), expires_in: numeric.optional(), refresh_token: z.string().optional() });
const meAnswer = z.object({ client_id: z.string().min(1), openid: z.string().min(1), unionid: z.string().min(1).optional() });
const userAnswer = z.object({
  ret: z.literal(0),
  nickname: z.string().optional(),
  gender: z.string().optional(),
  figureurl_qq_1: z.string().optional(),
  figureurl_qq_2: z.string().optional(),
});

/** `{error, error_description}` from the OAuth endpoints (with fmt=json, at HTTP 200). */
const oauthError = (json: Record<string, unknown>) =>
  json.error !== undefined ? `${String(json.error)} ${String(json.error_description ?? '')}` : undefined;
/** `{ret, msg}` from the OpenAPI endpoints; ret 0 is success. */
const apiError = (json: Record<string, unknown>) =>
  json.ret !== undefined && json.ret !== 0 ? `${String(json.ret)} ${String(json.msg ?? '')}` : undefined;

/**
 * QQ Connect. The openid comes from a separate call (/me), which also says which app the token
 * was issued to: a token from another app must not sign anyone in here.
 */
export function createQQProvider(settings: SettingsOf<'qq'>, deps: ProviderDeps, name: { zh: string; en: string }): UpstreamProvider {
  const http = upstreamHttp(settings, deps);
  const endpoints = { ...QQ, ...settings.endpoints };
  const appId = settings.clientId;

  return {
    id: settings.id,
    kind: 'qq',
    name,
    async authorizationUrl(request) {
      const url = new URL(endpoints.authorize);
      url.search = new URLSearchParams({ response_type: 'code', client_id: appId, redirect_uri: request.redirectUri, state: request.state, scope: 'get_user_info' }).toString();
      return url;
    },

    async complete(callback, request): Promise<UpstreamIdentity> {
      const code = codeOfCallback(http, callback, request);
      const tokenUrl = new URL(endpoints.token);
      tokenUrl.search = new URLSearchParams({
        grant_type: 'authorization_code', client_id: appId, client_secret: settings.clientSecret, code, redirect_uri: request.redirectUri, fmt: 'json',
      }).toString();
      const token = await http.getJson('token', tokenUrl, tokenAnswer, { sensitive: [code], errorOf: oauthError });
      const sensitive = [code, token.access_token, token.refresh_token ?? ''];

      const meUrl = new URL(endpoints.openid);
      meUrl.search = new URLSearchParams({ access_token: token.access_token, unionid: '1', fmt: 'json' }).toString();
      const me = await http.getJson('openid', meUrl, meAnswer, { sensitive, errorOf: oauthError });
      if (me.client_id !== appId) throw http.failed(`the token belongs to another app (${me.client_id})`, sensitive);

      const userUrl = new URL(endpoints.userinfo);
      userUrl.search = new URLSearchParams({ access_token: token.access_token, oauth_consumer_key: appId, openid: me.openid }).toString();
      const user = await http.getJson('userinfo', userUrl, userAnswer, { sensitive, errorOf: apiError });

      // figureurl_qq_2 (100x100) is missing for some old accounts; figureurl_qq_1 (40x40) is not.
      const picture = user.figureurl_qq_2 || user.figureurl_qq_1;
      return {
        provider: settings.id,
        subject: me.openid,
        identifiers: [
          { kind: 'qq_openid', value: me.openid },
          ...(me.unionid ? [{ kind: 'qq_unionid' as const, value: me.unionid }] : []),
        ],
        profile: {
          ...(user.nickname ? { nickname: user.nickname } : {}),
          ...(picture ? { picture } : {}),
          ...(user.gender === '男' ? { gender: 'male' as const } : user.gender === '女' ? { gender: 'female' as const } : {}),
        },
        tokens: { accessToken: token.access_token, refreshToken: token.refresh_token, expiresAt: expiresAt(token.expires_in) },
        claims: compact({ openid: me.openid, unionid: me.unionid, nickname: user.nickname, gender: user.gender, figureurl_qq_2: picture }),
      };
    },
  };
}
