import type { Locale } from '../errors.ts';

/** What an OAuth error means, in words a person reads on the error page. */
const OAUTH_ERROR_WORDS: Record<string, readonly [string, string]> = {
  invalid_request: ['应用发来的登录请求无效。', 'The app sent an invalid sign-in request.'],
  invalid_client: ['该应用未在长虹ID注册，或其配置有误。', 'This app is not registered with Changhong ID, or its settings are wrong.'],
  invalid_redirect_uri: ['该应用的回调地址未注册，已停止登录以保护你的账号。', 'The app’s return address is not registered; sign-in was stopped to protect your account.'],
  unauthorized_client: ['该应用无权使用这种登录方式。', 'This app may not use this way of signing in.'],
  access_denied: ['登录已取消。', 'Sign-in was cancelled.'],
  invalid_scope: ['应用请求的权限无效。', 'The app asked for permissions that do not exist.'],
  login_required: ['需要重新登录。', 'You need to sign in again.'],
  session_not_found: ['登录会话已过期，请返回应用重新登录。', 'Your sign-in session has expired. Please go back to the app and sign in again.'],
  server_error: ['服务暂时出现问题，请稍后再试。', 'Something went wrong on our side. Please try again later.'],
  temporarily_unavailable: ['服务繁忙，请稍后再试。', 'The service is busy. Please try again later.'],
};

export function oauthErrorWords(error: string, locale: Locale): string {
  const words = OAUTH_ERROR_WORDS[error] ?? OAUTH_ERROR_WORDS.invalid_request!;
  return locale === 'en' ? words[1] : words[0];
}
