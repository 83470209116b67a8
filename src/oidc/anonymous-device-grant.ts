import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { ANONYMOUS_DEVICE_GRANT } from '../clients/clients.service.ts';
import type { Devices } from '../devices/devices.service.ts';
import { BadDeviceParams, DEVICE_PARAMS, deviceFactsOf, deviceSecretOf } from '../devices/device-params.ts';
import { AppError } from '../errors.ts';

/**
 * A TV before anyone signs in on it: the TV app authenticates as itself (its client
 * credentials) and names the device by MAC; the token it gets carries the device's anonymous
 * subject (`anonymous_subject`, in introspection and JWT access tokens), so the device's use
 * can be attributed. It is a client-credentials token: it never acts as a person, and no
 * `sub` of an account is ever derived from it.
 *
 * Registered with oidc-provider as an extension grant (RFC 6749 section 4.5), so client
 * authentication, the grant types a client may use and the token format stay oidc-provider's.
 */
export function registerAnonymousDeviceGrant(provider: Provider, devices: Devices): void {
  provider.registerGrantType(ANONYMOUS_DEVICE_GRANT, async (ctx) => {
    const { client, params } = ctx.oidc as unknown as { client: { clientId: string }; params: Record<string, unknown> };
    let facts;
    try {
      facts = deviceFactsOf(params);
    } catch (err) {
      if (err instanceof BadDeviceParams) throw new errors.InvalidRequest(err.message);
      throw err;
    }
    if (!facts) throw new errors.InvalidRequest('mac is required');
    let registered;
    try {
      registered = await devices.anonymousSubject(facts, deviceSecretOf(params), client.clientId);
    } catch (err) {
      if (err instanceof AppError && err.code === 'devices.unproven') throw new errors.InvalidGrant('device_secret missing or wrong for this device');
      throw err;
    }
    const anonymousSubject = registered.subject;
    const token = new provider.ClientCredentials({ client: ctx.oidc.client!, scope: undefined });
    ctx.state[ANONYMOUS_SUBJECT_STATE] = anonymousSubject; // read by anonymousSubjectClaims when the token is saved
    ctx.oidc.entity('ClientCredentials', token);
    const value = await token.save();
    ctx.body = {
      access_token: value, token_type: token.tokenType, expires_in: token.expiration, anonymous_subject: anonymousSubject,
      // Given once, when the device registers: it keeps it and sends it with every later request.
      ...(registered.deviceSecret ? { device_secret: registered.deviceSecret } : {}),
    };
  }, new Set(DEVICE_PARAMS));
}

const ANONYMOUS_SUBJECT_STATE = 'chucsAnonymousSubject';

/**
 * For oidc-provider's extraTokenClaims: the anonymous subject of the token being issued by
 * this grant (oidc-provider keeps extra claims only through that hook).
 */
export function anonymousSubjectClaims(ctx: { state?: Record<string, unknown> } | undefined, token: { kind: string }): Record<string, string> | undefined {
  const subject = ctx?.state?.[ANONYMOUS_SUBJECT_STATE];
  return token.kind === 'ClientCredentials' && typeof subject === 'string' ? { anonymous_subject: subject } : undefined;
}
