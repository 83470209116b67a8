/**
 * One application error type. Each code is stable (never renamed) and listed here with its
 * HTTP status and the public message in zh-CN and English. `detail` is private: logs only.
 */
export const ERROR_CODES = {
  'request.invalid': [400, '请求无效。', 'The request is invalid.'],
  'request.method_not_allowed': [405, '不支持这种请求方法。', 'This request method is not supported.'],
  'request.timeout': [408, '请求没有及时传完，请重试。', 'The request did not arrive in time. Please try again.'],
  'request.unreadable': [400, '请求内容无法读取。', 'The request body could not be read.'],
  'request.csrf': [403, '页面已过期，请返回重试。', 'This page has expired. Please go back and try again.'],
  'auth.invalid_credentials': [401, '账号或密码不正确。', 'The account or password is incorrect.'],
  'auth.throttled': [429, '尝试次数过多，请稍后再试。', 'Too many attempts. Please try again later.'],
  'auth.account_locked': [403, '该账号已被锁定，请联系客服。', 'This account is locked. Please contact customer service.'],
  'auth.method_not_allowed': [403, '该应用不支持这种登录方式，请换一种方式登录。', 'This app does not allow this way of signing in. Please use another way.'],
  'identity.invalid_identifier': [400, '请输入有效的手机号、邮箱或用户名。', 'Enter a valid phone number, email or username.'],
  'identity.identifier_in_use': [409, '该手机号或邮箱已被其他账号使用。', 'This phone number or email is already in use.'],
  'identity.weak_password': [400, '密码至少需要 8 个字符。', 'The password needs at least 8 characters.'],
  'identity.password_too_long': [400, '密码太长了，最多 1024 个字符。', 'The password is too long: at most 1024 characters.'],
  'identity.common_password': [400, '这个密码太常见，很容易被猜到，请换一个。', 'This password is too common and easy to guess. Please choose another.'],
  'identity.personal_password': [400, '密码不能包含你的手机号、邮箱或用户名。', 'The password must not contain your phone number, email or username.'],
  'identity.invalid_profile': [400, '资料填写有误，请检查后重试。', 'Some details are not valid. Please check them and try again.'],
  'identity.identifier_not_found': [404, '未找到该手机号或邮箱。', 'That phone number or email was not found.'],
  'identity.identifier_unverified': [400, '只有已验证的手机号或邮箱才能设为首选。', 'Only a verified phone number or email can be the preferred one.'],
  'identity.last_sign_in_method': [409, '这是你登录长虹ID的最后一种方式，不能删除。', 'This is the last way you can sign in to your Changhong ID, so it cannot be removed.'],
  'identity.account_not_found': [404, '未找到该账号。', 'Account not found.'],
  'codes.invalid_target': [400, '请输入有效的手机号或邮箱。', 'Enter a valid phone number or email address.'],
  'codes.country_unsupported': [400, '暂不支持向该国家或地区的手机号发送验证码，请使用邮箱。', 'Codes cannot be sent to phone numbers in that country or region. Please use an email address.'],
  'codes.cooldown': [429, '验证码发送太频繁，请稍后再试。', 'A code was sent a moment ago. Please wait before asking for another.'],
  'codes.limit': [429, '今日获取验证码的次数已达上限，请明天再试或使用密码登录。', 'Too many codes were requested today. Try again tomorrow or sign in with your password.'],
  'codes.unavailable': [503, '短信服务繁忙，请稍后再试或使用密码登录。', 'Codes cannot be sent right now. Try again later or sign in with your password.'],
  'codes.invalid': [400, '验证码不正确，请重新输入。', 'The code is not right. Please enter it again.'],
  'codes.expired': [400, '验证码已过期，请重新获取。', 'The code has expired. Please ask for a new one.'],
  'codes.exhausted': [400, '验证码错误次数过多，请重新获取。', 'Too many wrong entries. Please ask for a new code.'],
  'clients.not_found': [404, '未找到该应用。', 'Application not found.'],
  'clients.invalid': [400, '应用配置无效。', 'The application settings are invalid.'],
  'brands.not_found': [404, '未找到该品牌。', 'Brand not found.'],
  'brands.invalid': [400, '品牌设置无效。', 'The brand settings are invalid.'],
  'brands.exists': [409, '该品牌标识已被使用。', 'A brand with this id already exists.'],
  'brands.in_use': [409, '仍有应用属于该品牌，不能删除。', 'Apps still belong to this brand, so it cannot be removed.'],
  'brands.default': [409, '默认品牌（长虹）不能删除。', 'The default brand (Changhong) cannot be removed.'],
  'account.sign_in_failed': [400, '登录没有完成，请重试。', 'Signing in did not complete. Please try again.'],
  'account.step_up_required': [403, '为了你的账号安全，请先确认身份。', 'For your security, please confirm it is you first.'],
  'account.device_not_found': [404, '未找到该设备。', 'Device not found.'],
  'federation.unknown_provider': [404, '不支持这种登录方式。', 'This way of signing in is not available.'],
  'federation.state_invalid': [400, '登录请求已过期，请返回重新登录。', 'This sign-in has expired. Please go back and sign in again.'],
  'federation.conflict': [409, '这个第三方账号与多个长虹ID有关，无法自动处理，请联系客服。', 'This account is tied to more than one Changhong ID and cannot be used automatically. Please contact customer service.'],
  'federation.other_identity_linked': [409, '这个长虹ID已关联了同一平台的另一个账号，请先在“我的长虹”中解除关联。', 'This Changhong ID is already linked to another account of that provider. Unlink it in your account first.'],
  'federation.link_not_found': [404, '未找到该第三方账号。', 'That linked sign-in was not found.'],
  'federation.upstream_failed': [502, '第三方登录没有成功，请重试或换一种方式登录。', 'Signing in with that provider did not work. Please try again or use another way.'],
  'federation.upstream_denied': [400, '你取消了第三方登录。', 'You cancelled signing in with that provider.'],
  'admin.bad_query': [400, '查询条件无效。', 'The search is not valid.'],
  'admin.not_found': [404, '未找到。', 'Not found.'],
  'admin.wrong_status': [409, '账号当前状态不允许该操作。', 'The account is not in a state that allows this.'],
  'admin.unauthorized': [401, '需要有效的管理访问令牌。', 'A valid admin access token is needed.'],
  'admin.forbidden': [403, '访问令牌缺少所需的权限。', 'The access token lacks the scope this needs.'],
  'devices.unproven': [400, '这台设备无法验证身份，请在设备上重新开始。', 'This device could not prove who it is. Please start again on the device.'],
  'interaction.expired': [400, '登录请求已过期，请返回应用重新登录。', 'This sign-in request has expired. Please go back to the app and sign in again.'],
  'messaging.unavailable': [503, '验证码发送失败，请稍后再试。', 'The code could not be sent. Please try again later.'],
  'metrics.unauthorized': [401, '需要有效的指标访问令牌。', 'A valid metrics token is needed.'],
  'metrics.forbidden': [403, '指标只对内网地址开放（或配置 metrics.token）。', 'Metrics are served to private addresses only, unless metrics.token is set.'],
  'service.unavailable': [503, '服务暂时不可用，请稍后再试。', 'The service is temporarily unavailable. Please try again in a moment.'],
  'internal': [500, '服务暂时出现问题，请稍后再试。', 'Something went wrong on our side. Please try again later.'],
} as const satisfies Record<string, readonly [number, string, string]>;

export type ErrorCode = keyof typeof ERROR_CODES;
export type Locale = 'zh-CN' | 'en';

export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  /** Private context for the log; never shown to a user. */
  readonly detail: string | undefined;
  /** Seconds to wait, for throttling errors. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, opts: { detail?: string; retryAfter?: number } = {}) {
    super(code);
    this.code = code;
    this.status = ERROR_CODES[code][0];
    this.detail = opts.detail;
    this.retryAfter = opts.retryAfter;
  }

  publicMessage(locale: Locale): string {
    const [, zh, en] = ERROR_CODES[this.code];
    return locale === 'en' ? en : zh;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
