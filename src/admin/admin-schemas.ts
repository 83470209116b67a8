import { z } from 'zod';
import { clientFields, newClientSchema } from '../clients/clients.service.ts';
import { newBrandSchema } from '../brands/brands.service.ts';

/**
 * What the admin API accepts and answers. Answers are parsed through these before they leave:
 * a field not listed here (a password hash, an encrypted secret, a token) never appears.
 */
const iso = z.preprocess((v) => (v instanceof Date ? v.toISOString() : v), z.string());
const isoOrNull = z.preprocess((v) => (v instanceof Date ? v.toISOString() : v), z.string().nullable());

export const list = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
export const done = z.object({ done: z.literal(true) });

export const userSearch = z.object({
  phone: z.string().max(64).optional(),
  email: z.string().max(254).optional(),
  username: z.string().max(64).optional(),
  legacy: z.string().max(200).optional().describe('source:id, e.g. mall:100004'),
  mac: z.string().max(32).optional(),
}).strict();

const profile = z.object({
  name: z.string().optional(), nickname: z.string().optional(), gender: z.string().optional(), birthdate: z.string().optional(),
  picture: z.string().optional(), region: z.string().optional(), locale: z.string().optional(),
});

export const accountSummary = z.object({
  id: z.string(), status: z.enum(['active', 'locked', 'merged', 'erased']), merged_into: z.string().nullable(),
  profile, created_at: iso, updated_at: iso,
});

export const accountDetails = accountSummary.extend({
  identifiers: z.array(z.object({ id: z.coerce.number(), kind: z.string(), value: z.string(), verified: z.boolean(), is_primary: z.boolean(), source: z.string(), created_at: iso })),
  devices: z.array(z.object({ id: z.coerce.number(), mac: z.string(), type: z.string(), model: z.string().nullable(), room: z.string().nullable(), bound_at: iso, source: z.string() })),
  upstreams: z.array(z.object({ provider: z.string(), created_at: iso, last_used_at: isoOrNull })),
  legacyRecords: z.array(z.object({ source: z.string(), sourceId: z.string(), rule: z.string(), mergeRun: z.number(), linkedAccount: z.string() })),
  mergedFrom: z.array(z.string()),
  sessions: z.number(),
  hasPassword: z.boolean(),
});

export const mergeRun = z.object({
  id: z.coerce.number(), status: z.string(), counts: z.record(z.string(), z.unknown()), created_by: z.string().nullable(), created_at: iso, finished_at: isoOrNull,
});
export const mergeRunWithReport = mergeRun.extend({ report: z.unknown() });
export const undoResult = z.object({ accountsRemoved: z.number(), linksRemoved: z.number(), changesReverted: z.number() });

export const clientInput = newClientSchema;
/** A change: only the fields given (defaults are not applied: what is absent stays). */
export const clientChanges = clientFields.partial();
export const client = z.object({
  clientId: z.string(), name: z.string(), brand: z.string(), public: z.boolean(), native: z.boolean(), firstParty: z.boolean(),
  legacySource: z.string().nullable(), redirectUris: z.array(z.string()), postLogoutRedirectUris: z.array(z.string()),
  backchannelLogoutUri: z.string().nullable(), grantTypes: z.array(z.string()), upstreams: z.array(z.string()).nullable(),
  loginMethods: z.array(z.string()), adminScopes: z.array(z.string()), createdAt: z.string(),
});
export const clientWithSecret = client.extend({ clientSecret: z.string().optional() });
export const rotatedSecret = z.object({ clientId: z.string(), clientSecret: z.string() });

export const brandInput = newBrandSchema;
export const brandChanges = newBrandSchema.partial().omit({ id: true });
export const brand = z.object({
  id: z.string(), name: z.object({ zh: z.string(), en: z.string() }), logoUrl: z.string().nullable(),
  colors: z.object({ primary: z.string(), primaryText: z.string().optional() }),
  legal: z.object({ termsUrl: z.string().optional(), privacyUrl: z.string().optional() }),
  region: z.string().nullable(), defaultLocale: z.string(), createdAt: z.string(), updatedAt: z.string(),
});

export const auditQuery = z.object({
  actor: z.string().max(200).optional(), subject: z.string().max(200).optional(), action: z.string().max(100).optional(),
  since: z.iso.datetime({ offset: true }).refine((d) => d >= '1970', 'from 1970 on').optional(),
  until: z.iso.datetime({ offset: true }).refine((d) => d >= '1970', 'from 1970 on').optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
}).strict();
export const auditEntry = z.object({
  id: z.coerce.number(), at: iso, actor: z.string(), action: z.string(), subject: z.string().nullable(), ip: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
});
