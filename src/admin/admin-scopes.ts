/** The admin API as an OAuth resource (RFC 8707): tokens for it are JWTs with this audience. */
export const adminResource = (issuer: string) => `${issuer}/admin/api`;

/** Each admin endpoint needs one of these; a client is registered with the ones it may get. */
export const ADMIN_SCOPES = [
  'admin:users:read', 'admin:users:write', 'admin:users:erase',
  'admin:merge:read', 'admin:merge:write',
  'admin:clients', 'admin:brands', 'admin:audit:read',
] as const;

export type AdminScope = typeof ADMIN_SCOPES[number];
