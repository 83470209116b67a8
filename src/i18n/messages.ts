import type { Locale } from '../errors.ts';

/** Words on the pages, zh-CN first. */
const MESSAGES = {
  'brand.id': ['长虹ID', 'Changhong ID'],
  'login.title': ['登录长虹ID', 'Sign in to Changhong ID'],
  'login.to_app': ['以继续使用 {app}', 'to continue to {app}'],
  'login.identifier': ['手机号 / 邮箱 / 用户名', 'Phone, email or username'],
  'login.password': ['密码', 'Password'],
  'login.submit': ['登录', 'Sign in'],
  'login.cancel': ['取消', 'Cancel'],
  'login.code_target': ['手机号或邮箱', 'Phone number or email'],
  'login.send_code': ['获取验证码', 'Send code'],
  'login.with_password': ['使用密码登录', 'Sign in with a password'],
  'login.enter_code': ['输入验证码', 'Enter the code'],
  'login.code_sent': ['验证码已发送至 {to}，{minutes} 分钟内有效。', 'We sent a code to {to}. It is valid for {minutes} minutes.'],
  'login.code': ['6 位验证码', '6-digit code'],
  'login.resend': ['重新获取验证码', 'Send a new code'],
  'login.resend_after': ['没有收到？{seconds} 秒后可重新获取。', 'Nothing arrived? You can ask again after {seconds} seconds.'],
  'login.change_target': ['换一个手机号或邮箱', 'Use another phone number or email'],
  'login.terms_intro': ['未注册的手机号或邮箱验证后将自动创建长虹ID。继续即表示你同意', 'A phone number or email without a Changhong ID gets one once verified. By continuing you accept the '],
  'login.terms_outro': ['。', '.'],
  'legal.terms': ['《长虹ID用户协议》', 'Changhong ID Terms of Service'],
  'legal.and': ['和', ' and the '],
  'legal.privacy': ['《隐私政策》', 'Privacy Policy'],
  'consent.title': ['授权 {app}', 'Authorise {app}'],
  'consent.intro': ['{app} 请求使用你的长虹ID访问以下信息：', '{app} asks to use your Changhong ID for:'],
  'consent.allow': ['允许', 'Allow'],
  'consent.deny': ['拒绝', 'Deny'],
  'consent.third_party': ['该应用不是长虹官方应用。', 'This app is not made by Changhong.'],
  'scope.openid': ['你的长虹ID账号标识', 'Your Changhong ID identifier'],
  'scope.profile': ['昵称、头像等基本资料', 'Your basic profile: name, nickname, picture'],
  'scope.email': ['你的邮箱地址', 'Your email address'],
  'scope.phone': ['你的手机号', 'Your phone number'],
  'scope.offline_access': ['在你离开后保持访问', 'Access while you are away'],
  'error.title': ['出错了', 'Something went wrong'],
  'error.back': ['请返回应用重新开始。', 'Please go back to the app and start again.'],
  'error.request_id': ['请求编号', 'Request id'],
  'logout.title': ['退出登录', 'Sign out'],
  'logout.question': ['要退出长虹ID吗？', 'Do you want to sign out of Changhong ID?'],
  'logout.yes': ['退出', 'Sign out'],
  'logout.no': ['保持登录', 'Stay signed in'],
  'logout.done': ['你已退出长虹ID。', 'You have signed out of Changhong ID.'],
  'device.title': ['设备登录', 'Sign in on a device'],
  'device.enter_code': ['请输入电视或设备上显示的代码', 'Enter the code shown on your TV or device'],
  'device.code': ['设备代码', 'Device code'],
  'device.continue': ['继续', 'Continue'],
  'device.confirm': ['确认在 {app} 上登录？', 'Sign in on {app}?'],
  'device.confirm_code': ['请确认设备上显示的代码为 {code}', 'Check that the device shows the code {code}'],
  'device.allow': ['确认登录', 'Sign in'],
  'device.deny': ['取消', 'Cancel'],
  'device.done': ['登录成功，请回到设备上继续。', 'Signed in. Continue on your device.'],
  'device.cancelled': ['已取消设备登录。', 'Signing in on the device was cancelled.'],
  'device.invalid_code': ['代码无效或已过期，请检查后重试。', 'The code is invalid or has expired. Check it and try again.'],
} as const satisfies Record<string, readonly [string, string]>;

export type MessageKey = keyof typeof MESSAGES;

export function t(locale: Locale, key: MessageKey, vars: Record<string, string> = {}): string {
  const [zh, en] = MESSAGES[key];
  return (locale === 'en' ? en : zh).replace(/\{(\w+)\}/g, (_, name: string) => vars[name] ?? '');
}

export function translator(locale: Locale) {
  return (key: MessageKey, vars?: Record<string, string>) => t(locale, key, vars);
}
