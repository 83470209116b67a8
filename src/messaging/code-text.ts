import type { CodeMessage, CodePurpose } from './message.ts';

/**
 * The words of a code message, zh-CN first. Only the code, its lifetime and the purpose go in:
 * a message can be read on a lock screen or by whoever holds the mailbox, so it names no account,
 * no person and no address. Each text warns that staff never ask for the code, the usual script
 * of phone scams.
 */
type CodeText = Pick<CodeMessage, 'purpose' | 'code' | 'minutes' | 'locale'>;

export interface CodeEmail { subject: string; text: string; html: string }

/** What the code is for: [zh-CN, English phrase that follows "to"]. */
const PURPOSE: Record<CodePurpose, readonly [string, string]> = {
  login: ['登录/注册长虹ID', 'sign in to or create your Changhong ID'],
  verify: ['验证邮箱', 'verify your email address'],
  step_up: ['确认身份', 'confirm it is you'],
};

/** An SMS verifies a phone number, not an email. */
const VERIFY_PHONE = ['验证手机号', 'verify your phone number'] as const;

/** The SMS body, for the development provider; the HTTP gateway fills its own carrier template. */
export function codeSms({ purpose, code, minutes, locale }: CodeText): string {
  const [zh, en] = purpose === 'verify' ? VERIFY_PHONE : PURPOSE[purpose];
  return locale === 'en'
    ? `[Changhong] ${code} is your code to ${en}, valid for ${minutes} minutes. Changhong staff will never ask for it; do not share it.`
    : `【长虹】验证码 ${code}，用于${zh}，${minutes} 分钟内有效。长虹工作人员不会向你索取验证码，请勿告诉他人。`;
}

export function codeEmail({ purpose, code, minutes, locale }: CodeText): CodeEmail {
  const [zh, en] = PURPOSE[purpose];
  const lines = locale === 'en'
    ? {
      subject: `Your Changhong ID code to ${en}`,
      intro: `Your code to ${en}:`,
      validity: `It is valid for ${minutes} minutes.`,
      warning: 'Changhong staff will never ask you for this code. Do not share it with anyone.',
      ignore: 'If you did not ask for it, you can ignore this email.',
    }
    : {
      subject: `长虹ID验证码：${zh}`,
      intro: `你正在${zh}，验证码为：`,
      validity: `${minutes} 分钟内有效。`,
      warning: '长虹工作人员不会向你索取验证码，请勿告诉他人。',
      ignore: '如果这不是你本人的操作，请忽略此邮件。',
    };
  const text = [lines.intro, '', code, '', lines.validity, lines.warning, lines.ignore].join('\n');
  const html = [
    `<p>${escapeHtml(lines.intro)}</p>`,
    `<p style="font-size:24px;font-weight:bold;letter-spacing:4px">${escapeHtml(code)}</p>`,
    `<p>${escapeHtml(lines.validity)}<br>${escapeHtml(lines.warning)}</p>`,
    `<p style="color:#666">${escapeHtml(lines.ignore)}</p>`,
  ].join('\n');
  return { subject: lines.subject, text, html };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
