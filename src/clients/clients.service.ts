import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { ADMIN_SCOPES } from '../admin/admin-scopes.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import { insertClient, upsertClient, findClientRow, listClientRows, deleteClientRow, type ClientRow } from './clients.repo.ts';
import { findBrandRow } from '../brands/brands.repo.ts';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** A TV app's token for its anonymous device subject, before anyone signs in on it (src/oidc/anonymous-device-grant.ts). */
export const ANONYMOUS_DEVICE_GRANT = 'urn:changhong:params:oauth:grant-type:anonymous-device';
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE_GRANT, ANONYMOUS_DEVICE_GRANT] as const;

/** Ways people may sign in to an app: SMS or email code, password, upstream (WeChat, QQ, …). */
export const LOGIN_METHODS = ['code', 'password', 'upstream'] as const;
export type LoginMethod = typeof LOGIN_METHODS[number];

/** The sign-in methods a client allows, from its `chucs_login_methods` metadata (all when absent). */
export function loginMethodsOf(metadata: Record<string, unknown> | undefined): LoginMethod[] {
  const named = metadata?.chucs_login_methods;
  return Array.isArray(named) ? LOGIN_METHODS.filter((m) => named.includes(m)) : [...LOGIN_METHODS];
}

const absoluteUrl = z.string().refine((u) => URL.canParse(u) && !new URL(u).hash, 'must be an absolute URL without a fragment');

/** The settings of an app, each checked on its own (newClientSchema adds the rules between them). */
export const clientFields = z.object({
  name: z.string().min(1).max(100),
  redirectUris: z.array(absoluteUrl).default([]),
  postLogoutRedirectUris: z.array(absoluteUrl).default([]),
  backchannelLogoutUri: absoluteUrl.optional(),
  grantTypes: z.array(z.enum(GRANT_TYPES)).min(1).default(['authorization_code', 'refresh_token']),
  /** Public clients (mobile apps, SPAs, TVs) have no secret and must use PKCE. */
  public: z.boolean().default(false),
  /** Native apps may use custom-scheme and loopback redirect URIs. */
  native: z.boolean().default(false),
  firstParty: z.boolean().default(false),
  brand: z.string().default('changhong'),
  legacySource: z.string().optional(),
  /** Upstream providers (ids from the configuration) people may use for this app; all when absent. */
  upstreams: z.array(z.string().regex(/^[a-z][a-z0-9-]{1,31}$/)).optional(),
  /** Admin API scopes a back-end service may get (client credentials + resource indicator). */
  adminScopes: z.array(z.enum(ADMIN_SCOPES)).optional(),
  /** How people may sign in (a TV app may allow codes only); all when absent. */
  loginMethods: z.array(z.enum(LOGIN_METHODS)).min(1).optional(),
});

export const newClientSchema = clientFields.superRefine((c, ctx) => {
  if (c.grantTypes.includes('authorization_code') && c.redirectUris.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['redirectUris'], message: 'the authorization_code grant needs at least one redirect URI' });
  }
  if (c.adminScopes?.length && (c.public || !c.grantTypes.includes('client_credentials'))) {
    ctx.addIssue({ code: 'custom', path: ['adminScopes'], message: 'admin scopes are for confidential clients with the client_credentials grant' });
  }
  if (c.public && (c.grantTypes.includes('client_credentials') || c.grantTypes.includes(ANONYMOUS_DEVICE_GRANT))) {
    ctx.addIssue({ code: 'custom', path: ['grantTypes'], message: 'a public client cannot use client_credentials or the anonymous-device grant' });
  }
});

export type NewClient = z.input<typeof newClientSchema>;

export interface ClientSummary {
  clientId: string;
  name: string;
  brand: string;
  public: boolean;
  firstParty: boolean;
  legacySource: string | null;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri: string | null;
  grantTypes: string[];
  /** Upstreams people may sign in with for this app; null: all configured ones. */
  upstreams: string[] | null;
  loginMethods: LoginMethod[];
  adminScopes: string[];
  native: boolean;
  createdAt: string;
}

function summary(row: ClientRow): ClientSummary {
  const m = row.metadata as {
    client_name: string; redirect_uris?: string[]; post_logout_redirect_uris?: string[];
    backchannel_logout_uri?: string; grant_types?: string[]; chucs_upstreams?: string[];
    chucs_admin_scopes?: string[]; application_type?: string;
  };
  return {
    clientId: row.client_id,
    name: m.client_name,
    brand: row.brand_id,
    public: row.secret_enc === null,
    firstParty: row.first_party,
    legacySource: row.legacy_source,
    redirectUris: m.redirect_uris ?? [],
    postLogoutRedirectUris: m.post_logout_redirect_uris ?? [],
    backchannelLogoutUri: m.backchannel_logout_uri ?? null,
    grantTypes: m.grant_types ?? [],
    upstreams: m.chucs_upstreams ?? null,
    loginMethods: loginMethodsOf(row.metadata),
    adminScopes: m.chucs_admin_scopes ?? [],
    native: m.application_type === 'native',
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export type ClientsService = ReturnType<typeof createClientsService>;

/**
 * Apps registered with CHUCS. The secret is shown once at creation and stored encrypted
 * (oidc-provider compares it, and HS256 needs it, so a one-way hash cannot do).
 * `validate` checks the metadata the way the OIDC layer will read it.
 */
export function createClientsService({ db, secretBox, validate, cacheSeconds = 0, clock = () => Date.now() }: {
  db: Db;
  secretBox: SecretBox;
  validate: (metadata: Record<string, unknown>) => Promise<void>;
  /**
   * How long a node may serve a client's settings from memory: a query and a decryption
   * saved on every token request, at the price of a removed client or changed secret
   * working on for up to this long on other nodes. 0: read the table every time.
   */
  cacheSeconds?: number;
  clock?: () => number;
}) {
  const cache = new Map<string, { metadata: Record<string, unknown>; until: number }>();

  function parse(input: NewClient) {
    const parsed = newClientSchema.safeParse(input);
    if (!parsed.success) {
      throw new AppError('clients.invalid', { detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    }
    return parsed.data;
  }

  /** The stored row: metadata as oidc-provider reads it, checked by it, the secret sealed. */
  async function rowOf(clientId: string, clientSecret: string | undefined, c: z.output<typeof newClientSchema>) {
    const metadata: Record<string, unknown> = {
      client_name: c.name,
      application_type: c.native ? 'native' : 'web',
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris,
      grant_types: c.grantTypes,
      response_types: c.grantTypes.includes('authorization_code') ? ['code'] : [],
      token_endpoint_auth_method: c.public ? 'none' : 'client_secret_basic',
      ...(c.backchannelLogoutUri ? { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: true } : {}),
      ...(c.upstreams ? { chucs_upstreams: c.upstreams } : {}),
      ...(c.adminScopes?.length ? { chucs_admin_scopes: c.adminScopes } : {}),
      ...(c.loginMethods ? { chucs_login_methods: LOGIN_METHODS.filter((m) => c.loginMethods!.includes(m)) } : {}),
    };
    try {
      await validate({ ...metadata, client_id: clientId, ...(clientSecret ? { client_secret: clientSecret } : {}) });
    } catch (err) {
      throw new AppError('clients.invalid', { detail: (err as { error_description?: string }).error_description ?? (err as Error).message });
    }
    return {
      client_id: clientId,
      brand_id: c.brand,
      metadata,
      secret_enc: clientSecret ? secretBox.seal(clientSecret) : null,
      first_party: c.firstParty,
      legacy_source: c.legacySource ?? null,
    };
  }

  return {
    async add(input: NewClient, actor: string): Promise<ClientSummary & { clientSecret?: string }> {
      const c = parse(input);
      if (!(await findBrandRow(db, c.brand))) throw new AppError('brands.not_found', { detail: c.brand });
      // Hex, not base64url: an id that starts with "-" reads as an option on the command line
      // (`chucs clients show -x…`), and an operator reads hex aloud without ambiguity.
      const clientId = randomBytes(12).toString('hex');
      const clientSecret = c.public ? undefined : randomBytes(32).toString('base64url');
      const row = await rowOf(clientId, clientSecret, c);
      await db.transaction(async (trx) => {
        await insertClient(trx, row);
        await recordAudit(trx, { actor, action: 'client.created', subject: `client:${clientId}`, detail: { name: c.name } });
      });
      const stored = (await findClientRow(db, clientId))!;
      return { ...summary(stored), ...(clientSecret ? { clientSecret } : {}) };
    },

    /**
     * Creates or updates a client CHUCS itself runs (the account center) under a fixed id and
     * a secret it derives; written at every start, so a changed issuer takes effect.
     */
    async ensureBuiltIn(clientId: string, clientSecret: string, input: NewClient): Promise<void> {
      const row = await rowOf(clientId, clientSecret, parse(input));
      cache.delete(clientId);
      await upsertClient(db, row);
    },
    /** Changes an app's settings; whatever is not given stays. Its secret stays too. */
    async update(clientId: string, changes: Partial<NewClient>, actor: string): Promise<ClientSummary> {
      const row = await findClientRow(db, clientId);
      if (!row) throw new AppError('clients.not_found');
      const current = summary(row);
      const { clientId: _id, createdAt: _at, backchannelLogoutUri, legacySource, upstreams, adminScopes, ...rest } = current;
      const merged = {
        ...rest, ...(backchannelLogoutUri ? { backchannelLogoutUri } : {}), ...(legacySource ? { legacySource } : {}),
        ...(upstreams ? { upstreams } : {}), ...(adminScopes.length ? { adminScopes } : {}), ...changes,
      };
      const c = parse(merged as NewClient); // stored values came through the same schema
      if (changes.brand !== undefined && !(await findBrandRow(db, c.brand))) throw new AppError('brands.not_found', { detail: c.brand });
      if (c.public !== current.public) throw new AppError('clients.invalid', { detail: 'a client cannot change between public and confidential' });
      const next = await rowOf(clientId, row.secret_enc ? secretBox.open(row.secret_enc) : undefined, c);
      cache.delete(clientId);
      await db.transaction(async (trx) => {
        await trx('clients').where({ client_id: clientId }).update({ ...next, secret_enc: row.secret_enc, updated_at: trx.fn.now() });
        await recordAudit(trx, { actor, action: 'client.updated', subject: `client:${clientId}`, detail: { fields: Object.keys(changes) } });
      });
      return summary((await findClientRow(db, clientId))!);
    },

    /** A new secret for a confidential app, shown once; the old one stops working (on other nodes within the cache time). */
    async rotateSecret(clientId: string, actor: string): Promise<{ clientId: string; clientSecret: string }> {
      const row = await findClientRow(db, clientId);
      if (!row) throw new AppError('clients.not_found');
      if (!row.secret_enc) throw new AppError('clients.invalid', { detail: 'a public client has no secret' });
      const clientSecret = randomBytes(32).toString('base64url');
      cache.delete(clientId);
      await db.transaction(async (trx) => {
        await trx('clients').where({ client_id: clientId }).update({ secret_enc: secretBox.seal(clientSecret), updated_at: trx.fn.now() });
        await recordAudit(trx, { actor, action: 'client.secret_rotated', subject: `client:${clientId}` });
      });
      return { clientId, clientSecret };
    },

    async list(): Promise<ClientSummary[]> {
      return (await listClientRows(db)).map(summary);
    },

    async show(clientId: string): Promise<ClientSummary> {
      const row = await findClientRow(db, clientId);
      if (!row) throw new AppError('clients.not_found');
      return summary(row);
    },

    async remove(clientId: string, actor: string): Promise<void> {
      cache.delete(clientId);
      await db.transaction(async (trx) => {
        if (!(await deleteClientRow(trx, clientId))) throw new AppError('clients.not_found');
        await trx('oidc_models').whereRaw("payload->>'clientId' = ?", [clientId]).delete();
        await recordAudit(trx, { actor, action: 'client.removed', subject: `client:${clientId}` });
      });
    },

    /** The client as oidc-provider reads it, secret decrypted; undefined when unknown. */
    async providerMetadata(clientId: string): Promise<Record<string, unknown> | undefined> {
      const cached = cache.get(clientId);
      if (cached && cached.until > clock()) return cached.metadata;
      const row = await findClientRow(db, clientId);
      if (!row) {
        cache.delete(clientId);
        return undefined; // unknown ids are never cached: random ones cannot fill memory
      }
      const metadata = {
        ...row.metadata,
        client_id: row.client_id,
        ...(row.secret_enc ? { client_secret: secretBox.open(row.secret_enc) } : {}),
        chucs_first_party: row.first_party,
        chucs_brand: row.brand_id,
        chucs_legacy_source: row.legacy_source,
      };
      if (cacheSeconds > 0) {
        if (cache.size >= CLIENT_CACHE_MAX) cache.delete(cache.keys().next().value!);
        cache.set(clientId, { metadata, until: clock() + cacheSeconds * 1000 });
      }
      return metadata;
    },
  };
}

/** Registered apps number in the hundreds; this bounds the cache all the same. */
const CLIENT_CACHE_MAX = 10_000;
