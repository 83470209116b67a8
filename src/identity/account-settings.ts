import { z } from 'zod';
import type { Db, DbOrTx } from '../db/database.ts';
import { AppError, type ErrorCode } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { emitEvent, identifierData } from '../events/outbox.ts';
import { listIdentifiers, type IdentifierKind } from './identifiers.repo.ts';
import { findPasswordHash, upsertPasswordHash } from './credentials.repo.ts';
import type { PasswordHasher } from './passwords.ts';
import { passwordProblem, type PasswordProblem } from './password-policy.ts';
import type { Profile } from './accounts.repo.ts';

/** Who changes an account, for the audit log. */
export interface Actor { actor: string; ip?: string | undefined; userAgent?: string | undefined }

const PROBLEM_ERRORS: Record<PasswordProblem, ErrorCode> = {
  too_short: 'identity.weak_password',
  too_long: 'identity.password_too_long',
  common: 'identity.common_password',
  personal: 'identity.personal_password',
};

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v);

/** What a person may write into their profile; empty fields clear the value. */
export const profileSchema = z.object({
  name: z.preprocess(blankToUndefined, z.string().max(64).optional()),
  nickname: z.preprocess(blankToUndefined, z.string().max(32).optional()),
  gender: z.preprocess(blankToUndefined, z.enum(['male', 'female', 'unknown']).optional()),
  birthdate: z.preprocess(blankToUndefined, z.iso.date().refine((d) => d >= '1900-01-01' && new Date(d) <= new Date(), 'not a plausible birthday').optional()),
  picture: z.preprocess(blankToUndefined, z.url({ protocol: /^https$/ }).max(2048).optional()),
  region: z.preprocess(blankToUndefined, z.string().max(64).optional()),
});

export type ProfileInput = z.input<typeof profileSchema>;

/** The kinds a person signs in with by code; a username only signs in with a password. */
const CODE_KINDS: readonly IdentifierKind[] = ['phone', 'email'];

/** Whether the account could still sign in with what it has (a code, a password, an upstream). */
export async function canSignIn(trx: DbOrTx, accountId: string): Promise<boolean> {
  const ids = await listIdentifiers(trx, accountId);
  if (ids.some((i) => i.verified && CODE_KINDS.includes(i.kind))) return true;
  const hasPassword = (await findPasswordHash(trx, accountId)) !== undefined;
  if (hasPassword && ids.some((i) => i.kind === 'username')) return true;
  const external = await trx('external_identities').where({ account_id: accountId }).first('id');
  return external !== undefined;
}

export type AccountSettings = ReturnType<typeof createAccountSettings>;

/**
 * The changes a person makes to their own account in the account center. Each is written to
 * the audit log in its transaction. None checks step-up: the caller has.
 */
export function createAccountSettings({ db, hasher }: { db: Db; hasher: PasswordHasher }) {
  async function touch(trx: DbOrTx, accountId: string) {
    await trx('accounts').where({ id: accountId }).update({ updated_at: trx.fn.now() });
  }

  return {
    async updateProfile(accountId: string, input: unknown, by: Actor): Promise<Profile> {
      const parsed = profileSchema.safeParse(input);
      if (!parsed.success) {
        const field = String(parsed.error.issues[0]!.path[0]);
        throw new AppError('identity.invalid_profile', { detail: field });
      }
      const profile = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as Profile;
      await db.transaction(async (trx) => {
        const current = await trx('accounts').where({ id: accountId }).first('profile');
        // Fields the form does not show (locale, legacy extras) are kept.
        const kept = Object.fromEntries(Object.entries(current?.profile ?? {}).filter(([k]) => !(k in profileSchema.shape)));
        await trx('accounts').where({ id: accountId }).update({ profile: { ...kept, ...profile }, updated_at: trx.fn.now() });
        await recordAudit(trx, { ...by, action: 'profile.updated', subject: accountId, detail: { fields: Object.keys(profileSchema.shape).filter((k) => (current?.profile ?? {})[k] !== (profile as Record<string, unknown>)[k]) } });
      });
      return profile;
    },

    /**
     * Adds a phone or email the person has just proved with a code. One that is verified on
     * another account is refused, without saying which account.
     */
    async addVerifiedIdentifier(accountId: string, id: { kind: 'phone' | 'email'; value: string }, by: Actor): Promise<void> {
      try {
        await db.transaction(async (trx) => {
          const taken = await trx('identifiers').where({ kind: id.kind, value: id.value, verified: true }).whereNot({ account_id: accountId }).first('id');
          if (taken) throw new AppError('identity.identifier_in_use', { detail: `${id.kind} verified on another account` });
          const hasPrimary = await trx('identifiers').where({ account_id: accountId, kind: id.kind, is_primary: true }).first('id');
          const before = await trx('identifiers').where({ account_id: accountId, kind: id.kind, value: id.value }).first('verified');
          await trx('identifiers')
            .insert({ account_id: accountId, kind: id.kind, value: id.value, verified: true, verified_at: trx.fn.now(), is_primary: !hasPrimary, source: 'account' })
            .onConflict(['account_id', 'kind', 'value'])
            .merge({ verified: true, verified_at: trx.fn.now() });
          await touch(trx, accountId);
          await recordAudit(trx, { ...by, action: 'identifier.added', subject: accountId, detail: { kind: id.kind } });
          // Proving one the account already held verified changes nothing downstream.
          if (!before?.verified) await emitEvent(trx, { type: 'identifier.linked', accountId, data: identifierData({ ...id, verified: true }) });
        });
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new AppError('identity.identifier_in_use', { detail: (err as Error).message });
        throw err;
      }
    },

    /** Removes one identifier, unless the account could no longer sign in without it. */
    async removeIdentifier(accountId: string, identifierId: number, by: Actor): Promise<void> {
      await db.transaction(async (trx) => {
        const row = await trx('identifiers').where({ id: identifierId, account_id: accountId }).forUpdate().first();
        if (!row) throw new AppError('identity.identifier_not_found');
        await trx('identifiers').where({ id: identifierId }).delete();
        if (!await canSignIn(trx, accountId)) throw new AppError('identity.last_sign_in_method');
        if (row.is_primary) {
          const next = await trx('identifiers').where({ account_id: accountId, kind: row.kind }).orderBy([{ column: 'verified', order: 'desc' }, 'id']).first('id');
          if (next) await trx('identifiers').where({ id: next.id }).update({ is_primary: true });
        }
        await touch(trx, accountId);
        await recordAudit(trx, { ...by, action: 'identifier.removed', subject: accountId, detail: { kind: row.kind } });
        await emitEvent(trx, { type: 'identifier.unlinked', accountId, data: identifierData(row) });
      });
    },

    /** Makes a verified phone or email the one apps receive. */
    async setPrimary(accountId: string, identifierId: number, by: Actor): Promise<void> {
      await db.transaction(async (trx) => {
        const row = await trx('identifiers').where({ id: identifierId, account_id: accountId }).first();
        if (!row) throw new AppError('identity.identifier_not_found');
        if (!row.verified) throw new AppError('identity.identifier_unverified');
        await trx('identifiers').where({ account_id: accountId, kind: row.kind }).update({ is_primary: false });
        await trx('identifiers').where({ id: identifierId }).update({ is_primary: true });
        await touch(trx, accountId);
        await recordAudit(trx, { ...by, action: 'identifier.primary_changed', subject: accountId, detail: { kind: row.kind } });
      });
    },

    /** Sets or replaces the password; old hashes imported from legacy centers stop working. */
    async setPassword(accountId: string, password: string, by: Actor): Promise<void> {
      const personal = (await listIdentifiers(db, accountId)).map((i) => i.value);
      const problem = passwordProblem(password, personal);
      if (problem) throw new AppError(PROBLEM_ERRORS[problem]);
      const hash = await hasher.hash(password);
      await db.transaction(async (trx) => {
        const had = (await findPasswordHash(trx, accountId)) !== undefined;
        await upsertPasswordHash(trx, accountId, hash);
        await trx('credentials').where({ account_id: accountId, type: 'legacy_password' }).delete();
        await touch(trx, accountId);
        await recordAudit(trx, { ...by, action: had ? 'password.changed' : 'password.set', subject: accountId });
      });
    },

    async hasPassword(accountId: string): Promise<boolean> {
      return (await findPasswordHash(db, accountId)) !== undefined;
    },
  };
}
