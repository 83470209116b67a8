import type { Account } from '../identity/identity.service.ts';

/** The claims each scope releases, with the standard OIDC names. */
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'nickname', 'preferred_username', 'gender', 'birthdate', 'picture', 'locale', 'zoneinfo', 'updated_at'],
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
} as const;

function primaryOf(account: Account, kind: 'email' | 'phone' | 'username') {
  const ofKind = account.identifiers.filter((i) => i.kind === kind);
  return ofKind.find((i) => i.is_primary && i.verified) ?? ofKind.find((i) => i.verified) ?? ofKind.find((i) => i.is_primary) ?? ofKind[0];
}

/** Every claim the account can give; oidc-provider filters them by the granted scopes. */
export function accountClaims(account: Account): Record<string, unknown> {
  const p = account.profile;
  const email = primaryOf(account, 'email');
  const phone = primaryOf(account, 'phone');
  const username = primaryOf(account, 'username');
  return {
    sub: account.id,
    name: p.name,
    nickname: p.nickname,
    preferred_username: username?.value,
    gender: p.gender,
    birthdate: p.birthdate,
    picture: p.picture,
    locale: p.locale,
    zoneinfo: 'Asia/Shanghai',
    updated_at: Math.floor(new Date(account.updated_at).getTime() / 1000),
    email: email?.value,
    email_verified: email ? email.verified : undefined,
    phone_number: phone?.value,
    phone_number_verified: phone ? phone.verified : undefined,
  };
}
