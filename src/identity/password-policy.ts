import { dictionary } from '@zxcvbn-ts/language-common';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.ts';

/**
 * NIST SP 800-63B, 5.1.1.2: at least 8 characters, no composition rules, long passphrases
 * welcome, and never a password from a list of commonly used or breached ones, nor one made
 * of the account's own phone, email or username.
 *
 * The list: zxcvbn-ts's common passwords (about 49,000, from public breach corpora) and the
 * ones Chinese users choose most often, which those corpora under-represent (published
 * top lists of the 2011 CSDN, Tianya and 178.com leaks).
 */
const CHINESE_COMMON = [
  '5201314', '52013145201314', 'woaini1314', 'woaini520', 'woaini', 'woaiwojia', 'iloveyou1314',
  '1314520', '13145200', '1314521', '5211314', 'wangyut2', 'dearbook', 'xiazhili', 'qq123456',
  'qq5201314', 'a123456', 'a123456789', 'a12345678', 'a1234567', 'aa123456', 'abc123456', 'abc12345',
  '123456a', '123456aa', '123456abc', '123456qq', 'zxcvbnm123', 'qwe123456', 'asd123456',
  '147258369', '159357', '123qwe', '123456789a', '11223344', '00000000', '88888888', '66666666',
  '99999999', '12341234', '123123123', '12344321', '147852369', '789456123', '987654321',
  '1qaz2wsx', '1q2w3e4r', 'qazwsxedc', 'qwertyuiop', 'asdfghjkl', '110110110', '31415926',
  'zhang123', 'wang123456', 'li123456', 'liu123456', 'chen123456', 'changhong', 'changhong123', 'ch123456',
];

const COMMON = new Set([...dictionary['passwords-common'], ...CHINESE_COMMON].map((p) => p.toLowerCase()));

export type PasswordProblem = 'too_short' | 'too_long' | 'common' | 'personal';

/** What is wrong with a new password, or undefined when it may be used. */
export function passwordProblem(password: string, personal: readonly string[] = []): PasswordProblem | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return 'too_short';
  if (length > PASSWORD_MAX_LENGTH) return 'too_long';
  const folded = password.normalize('NFKC').trim().toLowerCase();
  if (COMMON.has(folded)) return 'common';
  const own = personal.flatMap((value) => {
    const v = value.toLowerCase();
    return [v, v.split('@')[0]!, v.replace(/^\+86/, '')];
  });
  if (own.some((v) => v.length >= 4 && folded.includes(v))) return 'personal';
  return undefined;
}
