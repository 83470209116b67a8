import { z } from 'zod';
import type { UpstreamIdentity, UpstreamProvider } from '../upstream.ts';
import { codeOfCallback, compact, expiresAt, upstreamHttp, type ProviderDeps, type SettingsOf } from './http.ts';

/** WeChat's public endpoints (open platform, website QR login). */
const WECHAT = {
  authorize: 'https://open.weixin.qq.com/connect/qrconnect',
  token: 'https://api.weixin.qq.com/sns/oauth2/access_token',
  userinfo: 'https://api.weixin.qq.com/sns/userinfo',
};

const tokenAnswer = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().optional(),
  refresh_token: z.string().optional(),
  openid: z.string().min(1),
  scope: z.string().optional(),
  unionid: z.string().min(1).optional(),
});

/** Since 2021 WeChat sends sex 0 and empty places for most people; only openid is certain. */
const userAnswer = z.object({
  openid: z.string().min(1),
  nickname: z.string().optional(),
  sex: z.number().optional(),
  province: z.string().optional(),
  city: z.string().optional(),
  country: z.string().optional(),
  headimgurl: z.string().optional(),
  unionid: z.string().min(1).optional(),
});

/** WeChat answers errors with HTTP 200 and `{errcode, errmsg}`. */
const wechatError = (json: Record<string, unknown>) =>
  json.errcode !== undefined && json.errcode !== 0 ? `${String(json.errcode)} ${String(json.errmsg ?? '')}` : undefined;

/**
 * WeChat website QR login. No PKCE or nonce exists there: `state` is the only binding, checked
 * here as well as by the caller. An openid is only unique per AppID, hence `<appid>:<openid>`;
 * the unionid is shared by the apps of one open-platform account and is what links people.
 */
export function createWechatProvider(settings: SettingsOf<'wechat'>, deps: ProviderDeps, name: { zh: string; en: string }): UpstreamProvider {
  const http = upstreamHttp(settings, deps);
  const endpoints = { ...WECHAT, ...settings.endpoints };
  const appId = settings.clientId;

  return {
    id: settings.id,
    kind: 'wechat',
    name,
    async authorizationUrl(request) {
      const url = new URL(endpoints.authorize);
      url.search = new URLSearchParams({ appid: appId, redirect_uri: request.redirectUri, response_type: 'code', scope: 'snsapi_login', state: request.state }).toString();
      url.hash = 'wechat_redirect';
      return url;
    },

    async complete(callback, request): Promise<UpstreamIdentity> {
      // The person refusing comes back with a state and no code.
      const code = codeOfCallback(http, callback, request, true);
      const tokenUrl = new URL(endpoints.token);
      tokenUrl.search = new URLSearchParams({ appid: appId, secret: settings.clientSecret, code, grant_type: 'authorization_code' }).toString();
      const token = await http.getJson('token', tokenUrl, tokenAnswer, { sensitive: [code], errorOf: wechatError });
      const sensitive = [code, token.access_token, token.refresh_token ?? ''];

      const userUrl = new URL(endpoints.userinfo);
      userUrl.search = new URLSearchParams({ access_token: token.access_token, openid: token.openid, lang: 'zh_CN' }).toString();
      const user = await http.getJson('userinfo', userUrl, userAnswer, { sensitive, errorOf: wechatError });
      if (user.openid !== token.openid) throw http.failed('userinfo is about another openid');

      const unionid = user.unionid ?? token.unionid;
      const subject = `${appId}:${token.openid}`;
      const { openid, nickname, sex, province, city, country, headimgurl } = user;
      return {
        provider: settings.id,
        subject,
        identifiers: [
          { kind: 'wechat_openid', value: subject },
          ...(unionid ? [{ kind: 'wechat_unionid' as const, value: unionid }] : []),
        ],
        profile: {
          ...(nickname ? { nickname } : {}),
          ...(headimgurl ? { picture: headimgurl } : {}),
          ...(sex === 1 ? { gender: 'male' as const } : sex === 2 ? { gender: 'female' as const } : {}),
        },
        tokens: { accessToken: token.access_token, refreshToken: token.refresh_token, expiresAt: expiresAt(token.expires_in) },
        claims: compact({ openid, unionid, nickname, sex, province, city, country, headimgurl }),
      };
    },
  };
}

