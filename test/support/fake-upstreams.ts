import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

/**
 * WeChat, QQ and Weibo as small servers on loopback ports, speaking their documented shapes.
 * Their authorize endpoints answer at once with a 302 to redirect_uri, as if the person set by
 * `signInAs` had scanned the QR code (`signInAs(null)`: they refused). Codes are single use,
 * bound to the app and (QQ, Weibo: the only ones whose token request names it) the redirect_uri.
 *
 * Their error texts echo what they were sent (secret, code, access token), as some gateways do,
 * so a test can prove none of it reaches CHUCS's error details or logs.
 */
export type FailMode =
  | 'token-error' // the provider's error JSON from the token endpoint
  | 'token-500' // HTTP 500 from the token endpoint
  | 'timeout' // the token endpoint never answers
  | 'malformed' // HTML with status 200 from the token endpoint
  | 'userinfo-error'; // the provider's error JSON from the user-info endpoint

export interface FakeUpstream<Person, Mode extends string = FailMode> {
  url: string;
  /** For the provider's `endpoints` setting. */
  endpoints: { authorize: string; token: string; userinfo: string; openid?: string };
  appId: string;
  appSecret: string;
  /** Who signs in at the next authorize request; null: the person refuses. */
  signInAs(person: Person | null): void;
  /** Makes the endpoints misbehave from now on; null: behave again. */
  fail(mode: Mode | null): void;
  /** Paths requested, in order (never queries: they hold secrets and tokens). */
  requests: string[];
  close(): Promise<void>;
}

export interface WechatPerson { openid: string; unionid?: string; nickname: string; sex: 0 | 1 | 2; headimgurl: string }
export interface QQPerson { openid: string; unionid?: string; nickname: string; gender?: '男' | '女' }
export interface WeiboPerson { uid: string; screen_name: string; gender?: 'm' | 'f' | 'n' }

interface Incoming { method: string; path: string; query: URLSearchParams; form: URLSearchParams }
type Answer = { status: number; json?: unknown; html?: string; location?: string } | 'hang';

const html = (status: number, text: string): Answer => ({ status, html: `<!doctype html><html><body><h1>${text}</h1></body></html>` });
const random = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

/** `redirect_uri` with parameters added, as the providers build it. */
function back(redirectUri: string, params: Record<string, string>): Answer {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return { status: 302, location: url.href };
}

/** The pieces every fake shares: a server, the person, codes and tokens, the failure mode. */
async function startFake<Person, Mode extends string>(
  appId: string,
  paths: { authorize: string; token: string; userinfo: string; openid?: string },
  route: (req: Incoming, fake: FakeState<Person, Mode>) => Answer,
): Promise<FakeUpstream<Person, Mode>> {
  const fake: FakeState<Person, Mode> = {
    appId, appSecret: random('secret-'), person: undefined, mode: null,
    codes: new Map(), tokens: new Map(),
    issueCode(person, redirectUri) { const code = random('code-'); fake.codes.set(code, { person, redirectUri }); return code; },
    redeem(code, redirectUri) {
      const grant = fake.codes.get(code);
      fake.codes.delete(code); // single use, even when the redirect_uri is wrong
      return grant && (redirectUri === undefined || grant.redirectUri === redirectUri) ? grant.person : undefined;
    },
    issueToken(person) { const token = random('token-'); fake.tokens.set(token, person); return token; },
  };
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { body += chunk; });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      requests.push(url.pathname);
      const answer = url.pathname === paths.authorize && fake.person === undefined
        ? html(500, 'fake upstream: call signInAs first')
        : route({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, form: new URLSearchParams(body) }, fake);
      if (answer === 'hang') return;
      if (answer.location) res.writeHead(answer.status, { location: answer.location }).end();
      else if (answer.html !== undefined) res.writeHead(answer.status, { 'content-type': 'text/html; charset=utf-8' }).end(answer.html);
      else res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const endpoints = Object.fromEntries(Object.entries(paths).map(([k, p]) => [k, `${url}${p}`])) as FakeUpstream<Person, Mode>['endpoints'];
  return {
    url, endpoints, appId, appSecret: fake.appSecret, requests,
    signInAs(person) { fake.person = person; },
    fail(mode) { fake.mode = mode; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

interface FakeState<Person, Mode> {
  appId: string;
  appSecret: string;
  /** undefined until signInAs; null: the person refuses. */
  person: Person | null | undefined;
  mode: Mode | null;
  codes: Map<string, { person: Person; redirectUri: string }>;
  tokens: Map<string, Person>;
  issueCode(person: Person, redirectUri: string): string;
  /** The person of a code, once; undefined when unknown, used, or for another redirect_uri. */
  redeem(code: string, redirectUri?: string): Person | undefined;
  issueToken(person: Person): string;
}

/** The failure modes of a token endpoint that do not depend on the provider's error shape. */
function brokenToken(mode: string | null): Answer | undefined {
  if (mode === 'timeout') return 'hang';
  if (mode === 'token-500') return html(500, 'Internal Server Error');
  if (mode === 'malformed') return html(200, '系统繁忙，请稍后再试');
  return undefined;
}

/** WeChat website QR login; errors are `{errcode, errmsg}` with HTTP 200. */
export function startFakeWechat(): Promise<FakeUpstream<WechatPerson>> {
  const wxError = (errcode: number, errmsg: string): Answer => ({ status: 200, json: { errcode, errmsg } });
  return startFake<WechatPerson, FailMode>('wx' + randomBytes(8).toString('hex'), {
    authorize: '/connect/qrconnect', token: '/sns/oauth2/access_token', userinfo: '/sns/userinfo',
  }, (req, fake) => {
    const q = req.query;
    switch (req.path) {
      case '/connect/qrconnect': {
        const redirectUri = q.get('redirect_uri');
        if (q.get('appid') !== fake.appId || q.get('response_type') !== 'code' || q.get('scope') !== 'snsapi_login' || !redirectUri) return html(400, '参数错误');
        const state = q.get('state') ?? '';
        // A refusal comes back with the state only.
        return back(redirectUri, fake.person ? { code: fake.issueCode(fake.person, redirectUri), state } : { state });
      }
      case '/sns/oauth2/access_token': {
        const broken = brokenToken(fake.mode);
        if (broken) return broken;
        const code = q.get('code') ?? '';
        if (fake.mode === 'token-error') return wxError(40029, `invalid code, hints: [ appid: ${q.get('appid')} secret: ${q.get('secret')} code: ${code} ]`);
        if (q.get('appid') !== fake.appId || q.get('secret') !== fake.appSecret) return wxError(40125, 'invalid appsecret');
        if (q.get('grant_type') !== 'authorization_code') return wxError(40002, 'invalid grant_type');
        const person = fake.redeem(code);
        if (!person) return wxError(40163, 'code been used or invalid');
        return { status: 200, json: {
          access_token: fake.issueToken(person), expires_in: 7200, refresh_token: random('refresh-'),
          openid: person.openid, scope: 'snsapi_login', ...(person.unionid ? { unionid: person.unionid } : {}),
        } };
      }
      case '/sns/userinfo': {
        const token = q.get('access_token') ?? '';
        if (fake.mode === 'userinfo-error') return wxError(40001, `invalid credential, access_token is invalid or not latest: ${token}`);
        const person = fake.tokens.get(token);
        if (!person) return wxError(40001, 'invalid credential');
        if (q.get('openid') !== person.openid) return wxError(40003, 'invalid openid');
        return { status: 200, json: {
          openid: person.openid, nickname: person.nickname, sex: person.sex, province: '四川', city: '绵阳', country: '中国',
          headimgurl: person.headimgurl, privilege: [], ...(person.unionid ? { unionid: person.unionid } : {}),
        } };
      }
      default: return html(404, 'Not Found');
    }
  });
}

/**
 * QQ Connect; OAuth errors are `{error, error_description}` and API errors `{ret, msg}`, with
 * HTTP 200. The extra mode 'other-app' makes /me report a token issued to another app.
 */
export function startFakeQQ(): Promise<FakeUpstream<QQPerson, FailMode | 'other-app'>> {
  const qqError = (error: number, description: string): Answer => ({ status: 200, json: { error, error_description: description } });
  return startFake<QQPerson, FailMode | 'other-app'>(String(101_000_000 + Math.floor(Math.random() * 999_999)), {
    authorize: '/oauth2.0/authorize', token: '/oauth2.0/token', openid: '/oauth2.0/me', userinfo: '/user/get_user_info',
  }, (req, fake) => {
    const q = req.query;
    switch (req.path) {
      case '/oauth2.0/authorize': {
        const redirectUri = q.get('redirect_uri');
        if (q.get('client_id') !== fake.appId || q.get('response_type') !== 'code' || !redirectUri) return html(400, 'redirect uri is illegal(100010)');
        const state = q.get('state') ?? '';
        return back(redirectUri, fake.person ? { code: fake.issueCode(fake.person, redirectUri), state } : { error: 'access_denied', state });
      }
      case '/oauth2.0/token': {
        const broken = brokenToken(fake.mode);
        if (broken) return broken;
        const code = q.get('code') ?? '';
        if (fake.mode === 'token-error') return qqError(100019, `code to access token error (client_secret=${q.get('client_secret')}, code=${code})`);
        if (q.get('client_id') !== fake.appId || q.get('client_secret') !== fake.appSecret) return qqError(100013, 'client secret is illegal');
        if (q.get('grant_type') !== 'authorization_code' || q.get('fmt') !== 'json') return qqError(100000, 'param is illegal');
        const person = fake.redeem(code, q.get('redirect_uri') ?? '');
        if (!person) return qqError(100019, 'code to access token error');
        // QQ sends expires_in as a string.
        return { status: 200, json: { access_token: fake.issueToken(person), expires_in: '7776000', refresh_token: random('refresh-') } };
      }
      case '/oauth2.0/me': {
        const person = fake.tokens.get(q.get('access_token') ?? '');
        if (!person) return qqError(100016, 'access token check failed');
        const unionid = q.get('unionid') === '1' && person.unionid ? { unionid: person.unionid } : {};
        return { status: 200, json: { client_id: fake.mode === 'other-app' ? '101999999' : fake.appId, openid: person.openid, ...unionid } };
      }
      case '/user/get_user_info': {
        const token = q.get('access_token') ?? '';
        if (fake.mode === 'userinfo-error') return { status: 200, json: { ret: 100030, msg: `this api without user authorization (access_token=${token})` } };
        const person = fake.tokens.get(token);
        if (!person || q.get('openid') !== person.openid) return { status: 200, json: { ret: 1002, msg: 'access token check failed' } };
        if (q.get('oauth_consumer_key') !== fake.appId) return { status: 200, json: { ret: 100008, msg: 'client id is illegal' } };
        const figure = `https://thirdqq.qlogo.cn/g?b=oidb&k=${person.openid}&s=`;
        return { status: 200, json: {
          ret: 0, msg: '', is_lost: 0, nickname: person.nickname, gender: person.gender ?? '男',
          figureurl_qq_1: `${figure}40`, figureurl_qq_2: `${figure}100`,
        } };
      }
      default: return html(404, 'Not Found');
    }
  });
}

/** Weibo; errors are `{error, error_code, error_description}` with a 4xx status. */
export function startFakeWeibo(): Promise<FakeUpstream<WeiboPerson>> {
  const weiboError = (status: number, error: string, errorCode: number, description: string, request: string): Answer =>
    ({ status, json: { error, error_code: errorCode, error_description: description, request } });
  return startFake<WeiboPerson, FailMode>(String(Math.floor(1e9 + Math.random() * 8e9)), {
    authorize: '/oauth2/authorize', token: '/oauth2/access_token', userinfo: '/2/users/show.json',
  }, (req, fake) => {
    const q = req.query;
    switch (req.path) {
      case '/oauth2/authorize': {
        const redirectUri = q.get('redirect_uri');
        if (q.get('client_id') !== fake.appId || q.get('response_type') !== 'code' || !redirectUri) return html(400, 'redirect_uri_mismatch');
        const state = q.get('state') ?? '';
        return back(redirectUri, fake.person
          ? { code: fake.issueCode(fake.person, redirectUri), state }
          : { error: 'access_denied', error_code: '21330', error_description: 'user denied your request.', state });
      }
      case '/oauth2/access_token': {
        if (req.method !== 'POST') return weiboError(405, 'HTTP METHOD is not suported for this request!', 10021, '', req.path);
        const broken = brokenToken(fake.mode);
        if (broken) return broken;
        const f = req.form;
        if (fake.mode === 'token-error') return weiboError(400, 'invalid_grant', 21325, `invalid authorization code: ${f.get('code')} for ${f.get('client_secret')}`, req.path);
        if (f.get('client_id') !== fake.appId || f.get('client_secret') !== fake.appSecret) return weiboError(401, 'invalid_client', 21324, 'invalid client', req.path);
        if (f.get('grant_type') !== 'authorization_code') return weiboError(400, 'unsupported_grant_type', 21328, '', req.path);
        const person = fake.redeem(f.get('code') ?? '', f.get('redirect_uri') ?? '');
        if (!person) return weiboError(400, 'invalid_grant', 21325, 'invalid authorization code', req.path);
        return { status: 200, json: { access_token: fake.issueToken(person), remind_in: '157679999', expires_in: 157679999, uid: person.uid, isRealName: 'true' } };
      }
      case '/2/users/show.json': {
        const token = q.get('access_token') ?? '';
        if (fake.mode === 'userinfo-error') return weiboError(403, 'expired_token', 21327, `token ${token} expired`, req.path);
        const person = fake.tokens.get(token);
        if (!person) return weiboError(403, 'invalid_access_token', 21332, '', req.path);
        if (q.get('uid') !== person.uid) return weiboError(400, 'User does not exists!', 20003, '', req.path);
        return { status: 200, json: {
          id: Number(person.uid), idstr: person.uid, screen_name: person.screen_name, name: person.screen_name,
          profile_image_url: `https://tvax1.sinaimg.cn/crop.0.0.180.180.50/${person.uid}.jpg`,
          avatar_large: `https://tvax1.sinaimg.cn/crop.0.0.180.180.180/${person.uid}.jpg`,
          gender: person.gender ?? 'n',
        } };
      }
      default: return html(404, 'Not Found');
    }
  });
}
