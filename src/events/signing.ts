import { createHmac } from 'node:crypto';
import { CompactSign, importJWK } from 'jose';
import type { PrivateJwks } from '../oidc/keys.ts';

/** Signs a request body; the value goes into the `x-chucs-signature` header. */
export type BodySigner = (body: string) => Promise<string>;

/**
 * A detached compact JWS (RFC 7515 appendix F: `header..signature`) over the exact body,
 * with the current ES256 key (RS256 when there is none): what oidc-provider signs with and
 * publishes, so a receiver verifies against `<issuer>/jwks` by putting the body's base64url
 * back between the dots. Keys are imported once, on first use.
 */
export function jwsSigner(jwks: PrivateJwks): BodySigner {
  const jwk = jwks.keys.find((k) => k.alg === 'ES256') ?? jwks.keys.find((k) => k.alg === 'RS256');
  if (!jwk?.alg) throw new Error('no ES256 or RS256 signing key for events');
  let key: ReturnType<typeof importJWK> | undefined;
  return async (body) => {
    const jws = await new CompactSign(new TextEncoder().encode(body))
      .setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid, typ: 'chucs-event+jws' })
      .sign(await (key ??= importJWK(jwk, jwk.alg!)));
    const [header, , signature] = jws.split('.');
    return `${header}..${signature}`;
  };
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact body with the subscriber's secret. */
export function hmacSigner(secret: string): BodySigner {
  return async (body) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
