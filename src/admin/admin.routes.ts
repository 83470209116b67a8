import Router from '@koa/router';
import { unstorableIn } from '../storable-text.ts';
import { readableBody } from '../http/form-body.ts';
import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { ClientsService, NewClient } from '../clients/clients.service.ts';
import type { BrandsService } from '../brands/brands.service.ts';
import type { LogoutNotifier } from '../oidc/backchannel.ts';
import { revokeAccountTokens } from '../oidc/adapter.ts';
import { undoRun, UndoRefused } from '../merge/undo.ts';
import type { AdminScope } from './admin-scopes.ts';
import type { RequireScope } from './admin-auth.ts';
import { accountDetails, eraseAccount, lockAccount, searchAccounts, unlockAccount, type AccountQuery } from './account-admin.ts';
import { openApiDocument } from './openapi.ts';
import * as s from './admin-schemas.ts';

export interface AdminRoute {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** koa-style path under /admin/api, e.g. /users/:id */
  path: string;
  operationId: string;
  summary: string;
  scope: AdminScope;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** What the answer may contain: anything else (a hash, a secret) is stripped. */
  response: z.ZodType;
  handle(input: { params: Record<string, string>; query: any; body: any; raw: Record<string, unknown>; actor: string }): Promise<unknown>;
}

export interface AdminDeps {
  db: Db;
  clients: ClientsService;
  brands: BrandsService;
  notifyLogout: LogoutNotifier;
  requireScope: RequireScope;
  issuer: string;
}

/** The routes, one table: the router and the OpenAPI document are both made from it. */
export function adminRoutes({ db, clients, brands, notifyLogout }: Omit<AdminDeps, 'requireScope' | 'issuer'>): AdminRoute[] {
  const by = (actor: string, ip?: string) => ({ actor, ip });
  return [
    {
      method: 'get', path: '/users', operationId: 'searchUsers', scope: 'admin:users:read',
      summary: 'Find accounts by phone (any shape), email, username, legacy id (source:id) or device MAC',
      query: s.userSearch, response: s.list(s.accountSummary),
      async handle({ query }) {
        const keys = Object.keys(query).filter((k) => query[k] !== undefined);
        if (keys.length !== 1) throw new AppError('admin.bad_query', { detail: 'exactly one of phone, email, username, legacy, mac' });
        const key = keys[0]!;
        let q: AccountQuery;
        if (key === 'legacy') {
          const m = /^([a-z][\w-]*):(.+)$/.exec(query.legacy);
          if (!m) throw new AppError('admin.bad_query', { detail: 'legacy must be source:id' });
          q = { legacy: { source: m[1]!, sourceId: m[2]! } };
        } else {
          q = { [key]: query[key] } as AccountQuery;
        }
        const ids = await searchAccounts(db, q);
        const rows = ids.length ? await db('accounts').whereIn('id', ids).select('id', 'status', 'merged_into', 'profile', 'created_at', 'updated_at') : [];
        return { items: rows };
      },
    },
    {
      method: 'get', path: '/users/:id', operationId: 'showUser', scope: 'admin:users:read',
      summary: 'One account: identifiers, devices, legacy records, merge history, sessions, linked sign-ins',
      response: s.accountDetails,
      handle: ({ params }) => accountDetails(db, params.id!),
    },
    {
      method: 'post', path: '/users/:id/lock', operationId: 'lockUser', scope: 'admin:users:write',
      summary: 'Lock an account: no sign-in; every session and token ends', response: s.done,
      async handle({ params, actor }) { await lockAccount(db, notifyLogout, params.id!, by(actor)); return { done: true }; },
    },
    {
      method: 'post', path: '/users/:id/unlock', operationId: 'unlockUser', scope: 'admin:users:write',
      summary: 'Unlock an account', response: s.done,
      async handle({ params, actor }) { await unlockAccount(db, params.id!, by(actor)); return { done: true }; },
    },
    {
      method: 'post', path: '/users/:id/sign-out', operationId: 'signOutUser', scope: 'admin:users:write',
      summary: 'End every session and revoke every token of an account', response: s.done,
      async handle({ params, actor }) {
        await notifyLogout(params.id!);
        await revokeAccountTokens(db, params.id!);
        await recordAudit(db, { actor, action: 'sessions.ended_everywhere', subject: params.id! });
        return { done: true };
      },
    },
    {
      method: 'post', path: '/users/:id/erase', operationId: 'eraseUser', scope: 'admin:users:erase',
      summary: 'Erase an account on request (PIPL): personal data removed, legacy-id map kept as tombstones', response: s.done,
      async handle({ params, actor }) { await eraseAccount(db, notifyLogout, params.id!, by(actor)); return { done: true }; },
    },
    {
      method: 'get', path: '/merge/runs', operationId: 'listMergeRuns', scope: 'admin:merge:read',
      summary: 'Merge runs, newest first', response: s.list(s.mergeRun),
      async handle() { return { items: await db('merge_runs').orderBy('id', 'desc').limit(100).select('id', 'status', 'counts', 'created_by', 'created_at', 'finished_at') }; },
    },
    {
      method: 'get', path: '/merge/runs/:id', operationId: 'showMergeRun', scope: 'admin:merge:read',
      summary: 'One merge run with its report', response: s.mergeRunWithReport,
      async handle({ params }) {
        const run = /^\d{1,15}$/.test(params.id!) ? await db('merge_runs').where({ id: Number(params.id) }).first('id', 'status', 'counts', 'report', 'created_by', 'created_at', 'finished_at') : undefined;
        if (!run) throw new AppError('admin.not_found', { detail: `merge run ${params.id}` });
        return run;
      },
    },
    {
      method: 'post', path: '/merge/runs/:id/undo', operationId: 'undoMergeRun', scope: 'admin:merge:write',
      summary: 'Undo a merge run exactly (the latest run first)', response: s.undoResult,
      async handle({ params, actor }) {
        if (!/^\d{1,15}$/.test(params.id!)) throw new AppError('admin.not_found', { detail: `merge run ${params.id}` });
        try {
          return await undoRun(db, Number(params.id), actor);
        } catch (err) {
          if (err instanceof UndoRefused) throw new AppError('admin.wrong_status', { detail: err.message });
          throw err;
        }
      },
    },
    {
      method: 'get', path: '/clients', operationId: 'listClients', scope: 'admin:clients', summary: 'Registered apps', response: s.list(s.client),
      async handle() { return { items: await clients.list() }; },
    },
    {
      method: 'post', path: '/clients', operationId: 'createClient', scope: 'admin:clients', body: s.clientInput,
      summary: 'Register an app; a confidential app gets its secret in this answer only', response: s.clientWithSecret,
      handle: ({ body, actor }) => clients.add(body as NewClient, actor),
    },
    {
      method: 'get', path: '/clients/:id', operationId: 'showClient', scope: 'admin:clients', summary: 'One app', response: s.client,
      handle: ({ params }) => clients.show(params.id!),
    },
    {
      method: 'patch', path: '/clients/:id', operationId: 'updateClient', scope: 'admin:clients', body: s.clientChanges,
      summary: 'Change an app’s settings', response: s.client,
      handle: ({ params, body, raw, actor }) => clients.update(params.id!, given(body, raw) as Partial<NewClient>, actor),
    },
    {
      method: 'delete', path: '/clients/:id', operationId: 'deleteClient', scope: 'admin:clients', summary: 'Remove an app and revoke its tokens', response: s.done,
      async handle({ params, actor }) { await clients.remove(params.id!, actor); return { done: true }; },
    },
    {
      method: 'post', path: '/clients/:id/rotate-secret', operationId: 'rotateClientSecret', scope: 'admin:clients',
      summary: 'A new secret for a confidential app, in this answer only', response: s.rotatedSecret,
      handle: ({ params, actor }) => clients.rotateSecret(params.id!, actor),
    },
    {
      method: 'get', path: '/brands', operationId: 'listBrands', scope: 'admin:brands', summary: 'Brands', response: s.list(s.brand),
      async handle() { return { items: await brands.list() }; },
    },
    {
      method: 'post', path: '/brands', operationId: 'createBrand', scope: 'admin:brands', body: s.brandInput, summary: 'Create a brand', response: s.brand,
      handle: ({ body, actor }) => brands.add(body, actor),
    },
    {
      method: 'get', path: '/brands/:id', operationId: 'showBrand', scope: 'admin:brands', summary: 'One brand', response: s.brand,
      handle: ({ params }) => brands.show(params.id!),
    },
    {
      method: 'patch', path: '/brands/:id', operationId: 'updateBrand', scope: 'admin:brands', body: s.brandChanges, summary: 'Change a brand', response: s.brand,
      handle: ({ params, body, actor }) => brands.update(params.id!, body, actor),
    },
    {
      method: 'delete', path: '/brands/:id', operationId: 'deleteBrand', scope: 'admin:brands', summary: 'Remove a brand no app uses', response: s.done,
      async handle({ params, actor }) { await brands.remove(params.id!, actor); return { done: true }; },
    },
    {
      method: 'get', path: '/audit', operationId: 'queryAudit', scope: 'admin:audit:read',
      summary: 'The audit log, newest first, by actor, subject, action and time', query: s.auditQuery, response: s.list(s.auditEntry),
      async handle({ query }) {
        const q = db('audit_log').orderBy('id', 'desc').limit(query.limit ?? 100);
        if (query.actor) q.where({ actor: query.actor });
        if (query.subject) q.where({ subject: query.subject });
        if (query.action) q.where({ action: query.action });
        if (query.since) q.where('at', '>=', query.since);
        if (query.until) q.where('at', '<', query.until);
        return { items: await q.select('id', 'at', 'actor', 'action', 'subject', 'ip', 'detail') };
      },
    },
  ];
}

/**
 * The admin API under /admin/api: JSON in and out, every endpoint behind its scope, every
 * call audited (who, what, on whom, the outcome), every answer passed through its schema.
 */
export function createAdminRoutes(deps: AdminDeps): Router {
  const router = new Router({ prefix: '/admin/api' });
  const routes = adminRoutes(deps);
  const document = openApiDocument(routes, deps.issuer);
  router.get('/openapi.json', (ctx) => { ctx.body = document; });
  router.use(readableBody(bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' }) as unknown as Middleware));
  // PostgreSQL cannot hold a NUL or half an emoji: refuse them here, with a reason, rather
  // than fail in a query; so is a body nested past any sane document (it is walked, not
  // stringified, so no depth overflows the stack).
  router.use(async (ctx, next) => {
    if (/%00/.test(ctx.url)) throw new AppError('request.invalid', { detail: 'NUL characters are not accepted' });
    const unstorable = unstorableIn(ctx.request.body ?? null);
    if (unstorable) throw new AppError('request.invalid', { detail: `the body holds ${unstorable}` });
    await next();
  });

  for (const route of routes) {
    router[route.method](route.path, deps.requireScope(route.scope), async (ctx: Context) => {
      const actor = `client:${(ctx.state.admin as { clientId: string }).clientId}`;
      const params = ctx.params as Record<string, string>;
      let outcome = 'ok';
      try {
        const query = route.query ? parseOr400(route.query, ctx.query) : {};
        const body = route.body ? parseOr400(route.body, ctx.request.body ?? {}) : undefined;
        const raw = (typeof ctx.request.body === 'object' && ctx.request.body !== null ? ctx.request.body : {}) as Record<string, unknown>;
        const result = await route.handle({ params, query, body, raw, actor });
        ctx.body = route.response.parse(result);
      } catch (err) {
        outcome = err instanceof AppError ? err.code : 'error';
        throw err;
      } finally {
        await recordAudit(deps.db, {
          actor, action: `admin.${route.operationId}`, subject: params.id ?? null, ip: ctx.ip, userAgent: ctx.get('user-agent'),
          detail: { outcome },
        }).catch(() => undefined);
      }
    });
  }
  return router;
}

/** The parsed fields the caller actually sent (a schema's defaults must not overwrite what is stored). */
function given(parsed: Record<string, unknown>, raw: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(parsed).filter(([k]) => Object.hasOwn(raw, k)));
}

function parseOr400<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new AppError('request.invalid', { detail: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') });
  }
  return parsed.data;
}
