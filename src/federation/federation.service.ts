import { createHash, randomBytes } from 'node:crypto';
import type { Db, DbOrTx } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { emitEvent, identifierData } from '../events/outbox.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { IdentityService } from '../identity/identity.service.ts';
import type { Actor } from '../identity/account-settings.ts';
import { normaliseEmail, normalisePhone } from '../identity/normalise.ts';
import { accountIdsByIdentifier, type NewIdentifier } from '../identity/identifiers.repo.ts';
import type { Profile } from '../identity/accounts.repo.ts';
import type { UpstreamSettings } from '../config/schema.ts';
import { storableIdentity, type UpstreamIdentity, type UpstreamProvider } from './upstream.ts';
import { truncate } from '../storable-text.ts';
import { decideLink, type LinkChoice, type LinkDecision } from './link-decision.ts';

/** Minutes a person has between leaving for the upstream and finishing the sign-in here. */
const PENDING_MINUTES = 15;

export type Purpose = { purpose: 'login'; interactionUid: string } | { purpose: 'link'; accountId: string };

export interface Pending {
  state: string;
  provider: UpstreamProvider;
  identity: UpstreamIdentity;
  binding: Purpose;
  /** Set once the person proved an existing account in this login: the link waits for their yes. */
  proven?: { accountId: string; amr: string } | undefined;
}

/** States and provider ids as CHUCS makes them; anything else is refused before any query. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;

const hashOf = (browserKey: string) => createHash('sha256').update(browserKey).digest('base64url');

export type Federation = ReturnType<typeof createFederation>;

/**
 * Sign-in and linking through upstream providers: the state of each trip upstream, what
 * came back, the decision (link-decision.ts) and its effect on accounts. Knows nothing of
 * HTTP: the routes say which interaction or account a trip belongs to.
 */
export function createFederation({ db, providers, settings, identity, secretBox, issuer, clock }: {
  db: Db;
  providers: ReadonlyMap<string, UpstreamProvider>;
  settings: readonly UpstreamSettings[];
  identity: IdentityService;
  secretBox: SecretBox;
  issuer: string;
  clock: () => Date;
}) {
  function providerOf(id: string): UpstreamProvider {
    const provider = providers.get(id);
    if (!provider) throw new AppError('federation.unknown_provider', { detail: `no upstream "${id}" configured` });
    return provider;
  }
  const trustOf = (id: string) => settings.find((s) => s.id === id) ?? { trustVerifiedEmail: false, trustVerifiedPhone: false };
  const redirectUri = (id: string) => `${issuer}/upstream/callback/${id}`;

  async function factsFor(trx: DbOrTx, id: UpstreamIdentity) {
    const linked: string[] = await trx('external_identities').where({ provider: id.provider, subject: id.subject }).pluck('account_id');
    const held: string[] = id.identifiers.length === 0 ? [] : await trx('identifiers').where({ verified: true })
      .andWhere((q) => { for (const i of id.identifiers) q.orWhere({ kind: i.kind, value: i.value }); })
      .distinct().pluck('account_id');
    const email = id.email ? normaliseEmail(id.email.value) : null;
    const phone = id.phone ? normalisePhone(id.phone.value) : null;
    const trust = trustOf(id.provider);
    const emailAccount = email ? (await accountIdsByIdentifier(trx, 'email', email))[0] : undefined;
    const phoneAccount = phone ? (await accountIdsByIdentifier(trx, 'phone', phone))[0] : undefined;
    const withOtherOfProvider: string[] = [];
    for (const accountId of new Set([emailAccount, phoneAccount])) {
      if (accountId !== undefined && await hasOtherOfProvider(trx, accountId, id)) withOtherOfProvider.push(accountId);
    }
    return {
      holders: [...new Set([...linked, ...held])],
      emailAccount,
      emailVerifiedUpstream: id.email?.verified === true,
      trustVerifiedEmail: trust.trustVerifiedEmail,
      phoneAccount,
      phoneVerifiedUpstream: id.phone?.verified === true,
      trustVerifiedPhone: trust.trustVerifiedPhone,
      withOtherOfProvider,
    };
  }

  /** Whether the account already has an identity of this provider other than `id`. */
  async function hasOtherOfProvider(trx: DbOrTx, accountId: string, id: UpstreamIdentity): Promise<boolean> {
    const other = await trx('external_identities').where({ account_id: accountId, provider: id.provider }).whereNot({ subject: id.subject }).first('id');
    if (other) return true;
    const kinds = id.identifiers.filter((i) => i.kind.endsWith('unionid') || i.kind === 'weibo_uid');
    for (const i of kinds) {
      const differing = await trx('identifiers').where({ account_id: accountId, kind: i.kind }).whereNot({ value: i.value }).first('id');
      if (differing) return true;
    }
    return false;
  }

  /** Stores the link and every identifier it proves; refreshes the sealed tokens. */
  async function attach(trx: DbOrTx, accountId: string, id: UpstreamIdentity, now: Date): Promise<void> {
    const tokens = secretBox.seal(JSON.stringify(id.tokens));
    const proves = JSON.stringify(id.identifiers);
    // Refreshed only where it belongs to this account: never moved, never silently kept elsewhere.
    const stored = await trx('external_identities')
      .insert({ account_id: accountId, provider: id.provider, subject: id.subject, claims: id.claims, tokens_enc: tokens, last_used_at: now, proves })
      .onConflict(['provider', 'subject']).merge({ claims: id.claims, tokens_enc: tokens, last_used_at: now, proves })
      .where('external_identities.account_id', accountId)
      .returning(['id', trx.raw('(xmax = 0) as inserted')] as never) as Array<{ id: number; inserted: boolean }>;
    if (stored.length === 0) throw new AppError('federation.conflict', { detail: `${id.provider} identity belongs to another account` });
    // A new link only (xmax = 0: inserted, not refreshed); never the upstream's subject or ids.
    if (stored[0]!.inserted) await emitEvent(trx, { type: 'identifier.linked', accountId, data: identifierData({ kind: 'upstream', provider: id.provider, verified: true }) });
    for (const i of id.identifiers) {
      // A unionid arriving late for a known openid joins the same account: reconciled, not a second identity.
      await trx('identifiers')
        .insert({ account_id: accountId, kind: i.kind, value: i.value, verified: true, verified_at: now, source: `upstream:${id.provider}` })
        .onConflict(['account_id', 'kind', 'value']).merge({ verified: true, verified_at: now });
    }
  }

  function profileOf(id: UpstreamIdentity): Profile {
    const p: Profile = {};
    if (id.profile.nickname) p.nickname = truncate(id.profile.nickname, 32);
    if (id.profile.name) p.name = truncate(id.profile.name, 64);
    if (id.profile.picture?.startsWith('https://')) p.picture = truncate(id.profile.picture, 2048);
    if (id.profile.gender) p.gender = id.profile.gender;
    return p;
  }

  return {
    providerOf,
    /** The providers people may use for an app: those it names, or all. */
    available(allowed?: readonly string[]): UpstreamProvider[] {
      return [...providers.values()].filter((p) => !allowed || allowed.includes(p.id));
    },

    /**
     * Starts a trip upstream; returns where to send the browser. `browserKey` is a secret the
     * starting browser holds (a cookie): the callback is accepted only from that browser, or
     * anyone could hand a victim the upstream link and collect their identity.
     */
    async start(providerId: string, binding: Purpose, browserKey: string): Promise<URL> {
      const provider = providerOf(providerId);
      const request = {
        redirectUri: redirectUri(providerId),
        state: randomBytes(24).toString('base64url'),
        nonce: randomBytes(16).toString('base64url'),
        codeVerifier: randomBytes(32).toString('base64url'),
      };
      await db('upstream_logins').insert({
        state: request.state, provider: providerId, purpose: binding.purpose,
        interaction_uid: binding.purpose === 'login' ? binding.interactionUid : null,
        account_id: binding.purpose === 'link' ? binding.accountId : null,
        nonce: request.nonce, code_verifier: request.codeVerifier, browser_hash: hashOf(browserKey),
        created_at: clock(), expires_at: new Date(clock().getTime() + PENDING_MINUTES * 60_000),
      });
      return provider.authorizationUrl(request);
    },

    /**
     * The upstream's callback: redeems the code once, only in the browser that started the
     * trip, and keeps what it proves for the next step (bound to that browser's interaction or
     * account session too). Returns the binding so the caller knows where the browser goes on.
     */
    async receive(providerId: string, params: URLSearchParams, browserKey: string | undefined): Promise<{ state: string; binding: Purpose }> {
      const state = params.get('state') ?? '';
      if (!TOKEN_SHAPE.test(state) || !TOKEN_SHAPE.test(providerId)) throw new AppError('federation.state_invalid', { detail: 'malformed state or provider' });
      if (!browserKey) throw new AppError('federation.state_invalid', { detail: 'no upstream cookie: another browser, or cookies blocked' });
      // Claimed atomically: a replayed or parallel callback finds nothing to claim.
      const [row] = await db('upstream_logins')
        .where({ state, provider: providerId, browser_hash: hashOf(browserKey) }).whereNull('claimed_at').where('expires_at', '>', clock())
        .update({ claimed_at: clock() }).returning('*');
      if (!row) throw new AppError('federation.state_invalid', { detail: 'unknown, expired, replayed, or from another browser' });
      const binding: Purpose = row.purpose === 'login' ? { purpose: 'login', interactionUid: row.interaction_uid } : { purpose: 'link', accountId: row.account_id };
      try {
        const identity = storableIdentity(await providerOf(providerId).complete(params, {
          redirectUri: redirectUri(providerId), state, nonce: row.nonce, codeVerifier: row.code_verifier,
        }));
        await db('upstream_logins').where({ state }).update({ identity_enc: secretBox.seal(JSON.stringify(identity)) });
      } catch (err) {
        await db('upstream_logins').where({ state }).delete();
        throw Object.assign(err as Error, { binding });
      }
      return { state, binding };
    },

    /** The identity a finished trip brought back, for the browser it belongs to. */
    async pending(binding: Purpose, state?: string): Promise<Pending | undefined> {
      const q = db('upstream_logins').whereNotNull('identity_enc').where('expires_at', '>', clock());
      if (binding.purpose === 'login') q.where({ purpose: 'login', interaction_uid: binding.interactionUid });
      else q.where({ purpose: 'link', account_id: binding.accountId });
      if (state !== undefined) {
        if (!TOKEN_SHAPE.test(state)) return undefined;
        q.where({ state });
      }
      const row = await q.orderBy('created_at', 'desc').first();
      if (!row) return undefined;
      const identity = JSON.parse(secretBox.open(row.identity_enc)) as UpstreamIdentity;
      const proven = row.proven_account_id ? { accountId: row.proven_account_id, amr: row.proven_amr } : undefined;
      return { state: row.state, provider: providerOf(row.provider), identity, binding, proven };
    },

    /** Records that the person proved this account in the login; the link waits for their confirmation. */
    async prove(pending: Pending, accountId: string, amr: string): Promise<void> {
      await db('upstream_logins').where({ state: pending.state }).update({ proven_account_id: accountId, proven_amr: amr });
    },

    /** Drops a pending identity: the person said no, or it could not be used. */
    async cancel(pending: Pending): Promise<void> {
      await db('upstream_logins').where({ state: pending.state }).delete();
    },

    /** What the rules say about a pending identity, given the person's choice if any. */
    async decide(pending: Pending, choice?: { create: true } | { provenAccount: string }): Promise<LinkDecision> {
      const facts = await factsFor(db, pending.identity);
      const full: LinkChoice | undefined = choice && 'provenAccount' in choice
        ? { provenAccount: choice.provenAccount, hasOtherOfProvider: await hasOtherOfProvider(db, choice.provenAccount, pending.identity) }
        : choice;
      return decideLink(facts, full);
    },

    /**
     * Carries out a decision: the account to sign in to (existing, linked or created). The
     * pending trip is used up. A conflict is audited and refused.
     */
    async apply(pending: Pending, decision: LinkDecision, by: Omit<Actor, 'actor'>): Promise<{ accountId: string; created: boolean }> {
      const now = clock();
      const upstream = pending.identity;
      const detail = { provider: upstream.provider };
      if (decision.kind === 'choose') throw new AppError('request.invalid', { detail: 'the person has not chosen yet' });
      if (decision.kind === 'conflict') {
        // Used up: the same evidence would conflict again at every later sign-in in this login.
        await db('upstream_logins').where({ state: pending.state }).delete();
        await recordAudit(db, { actor: 'anonymous', action: 'upstream.conflict', ip: by.ip, userAgent: by.userAgent, detail: { ...detail, reason: decision.reason, accounts: decision.accountIds } });
        throw new AppError(decision.reason === 'other_identity_of_provider' ? 'federation.other_identity_linked' : 'federation.conflict', { detail: decision.reason });
      }
      const result = await db.transaction(async (trx) => {
        // Consumed once: a double-submitted "create" finds nothing the second time.
        if (await trx('upstream_logins').where({ state: pending.state }).delete() === 0) {
          throw new AppError('federation.state_invalid', { detail: 'pending identity already used' });
        }
        if (decision.kind === 'create') {
          // A contact another account holds verified stays with it (an address the upstream recycled).
          const contacts: NewIdentifier[] = [];
          for (const c of trustedContacts(upstream, trustOf(upstream.provider))) {
            if ((await accountIdsByIdentifier(trx, c.kind, c.value)).length === 0) contacts.push(c);
          }
          const account = await identity.createAccount({
            identifiers: contacts,
            profile: profileOf(upstream), actor: `upstream:${upstream.provider}`, ip: by.ip, userAgent: by.userAgent,
          }, trx);
          await attach(trx, account.id, upstream, now);
          await recordAudit(trx, { actor: `account:${account.id}`, action: 'upstream.linked', subject: account.id, ip: by.ip, userAgent: by.userAgent, detail: { ...detail, reason: 'created' } });
          return { accountId: account.id, created: true };
        }
        await attach(trx, decision.accountId, upstream, now);
        if (decision.kind === 'link') {
          await recordAudit(trx, { actor: `account:${decision.accountId}`, action: 'upstream.linked', subject: decision.accountId, ip: by.ip, userAgent: by.userAgent, detail: { ...detail, reason: decision.reason } });
        }
        return { accountId: decision.accountId, created: false };
      });
      const account = await identity.getAccount(result.accountId);
      if (account?.status !== 'active') throw new AppError('auth.account_locked', { detail: `account ${result.accountId} is ${account?.status}` });
      return result;
    },

    /** The upstream sign-ins linked to an account, for the account center. */
    async linked(accountId: string): Promise<Array<{ id: number; provider: string; name: string; linkedAt: Date; lastUsedAt: Date | null }>> {
      const rows = await db('external_identities').where({ account_id: accountId }).orderBy('created_at').select('id', 'provider', 'created_at', 'last_used_at');
      return rows.map((r) => ({
        id: Number(r.id), provider: r.provider, name: providers.get(r.provider)?.name.zh ?? r.provider,
        linkedAt: new Date(r.created_at), lastUsedAt: r.last_used_at ? new Date(r.last_used_at) : null,
      }));
    },

    /** Unlinks one upstream sign-in and the identifiers it proved, unless it is the last way in. */
    async unlink(accountId: string, externalId: number, by: Actor, canSignIn: (trx: DbOrTx, accountId: string) => Promise<boolean>): Promise<void> {
      await db.transaction(async (trx) => {
        const row = await trx('external_identities').where({ id: externalId, account_id: accountId }).first();
        if (!row) throw new AppError('federation.link_not_found');
        await trx('external_identities').where({ id: externalId }).delete();
        // Exactly what this identity proved (a merge-engine unionid too), unless another link still proves it.
        const others: Array<{ proves: Array<{ kind: string; value: string }> }> = await trx('external_identities').where({ account_id: accountId }).select('proves');
        const stillProven = new Set(others.flatMap((o) => o.proves.map((i) => `${i.kind}\u0000${i.value}`)));
        for (const i of (row.proves as Array<{ kind: string; value: string }>)) {
          if (!stillProven.has(`${i.kind}\u0000${i.value}`)) await trx('identifiers').where({ account_id: accountId, kind: i.kind, value: i.value }).delete();
        }
        if (!await canSignIn(trx, accountId)) throw new AppError('identity.last_sign_in_method');
        await recordAudit(trx, { ...by, action: 'upstream.unlinked', subject: accountId, detail: { provider: row.provider } });
        await emitEvent(trx, { type: 'identifier.unlinked', accountId, data: identifierData({ kind: 'upstream', provider: row.provider }) });
      });
    },

    /** Trips nobody finished. */
    async sweep(): Promise<number> {
      return db('upstream_logins').where('expires_at', '<', clock()).delete();
    },
  };
}

/** The email or phone of a new account from an upstream: only when trusted and verified there. */
function trustedContacts(id: UpstreamIdentity, trust: { trustVerifiedEmail: boolean; trustVerifiedPhone: boolean }): NewIdentifier[] {
  const out: NewIdentifier[] = [];
  const email = id.email?.verified && trust.trustVerifiedEmail ? normaliseEmail(id.email.value) : null;
  if (email) out.push({ kind: 'email', value: email, verified: true, source: `upstream:${id.provider}` });
  const phone = id.phone?.verified && trust.trustVerifiedPhone ? normalisePhone(id.phone.value) : null;
  if (phone) out.push({ kind: 'phone', value: phone, verified: true, source: `upstream:${id.provider}` });
  return out;
}
