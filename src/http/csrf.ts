import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens bound to what the form acts on (an interaction uid, a session): an HMAC under
 * the cookie keys, so any node can check them and nothing is stored. A forged cross-site
 * POST cannot know the token; rotated cookie keys still accept tokens of the older key.
 */
export function createCsrf(keys: readonly string[]) {
  const sign = (key: string, binding: string) => createHmac('sha256', key).update(`csrf:${binding}`).digest('base64url');
  return {
    token: (binding: string) => sign(keys[0]!, binding),
    verify(binding: string, token: unknown): boolean {
      if (typeof token !== 'string' || token.length === 0) return false;
      const given = Buffer.from(token);
      return keys.some((key) => {
        const expected = Buffer.from(sign(key, binding));
        return expected.length === given.length && timingSafeEqual(expected, given);
      });
    },
  };
}

export type Csrf = ReturnType<typeof createCsrf>;
