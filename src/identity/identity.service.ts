import type { Db, DbOrTx } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { recordAudit } from '../audit/audit-log.ts';
import { emitEvent, identifierData, viaOf } from '../events/outbox.ts';
import { insertAccount, findAccountRow, newAccountId, type Profile, type AccountRow } from './accounts.repo.ts';
import { insertIdentifier, listIdentifiers, accountIdsByIdentifier, type NewIdentifier, type IdentifierRow } from './identifiers.repo.ts';
import { findPasswordHash, upsertPasswordHash } from './credentials.repo.ts';
import { passwordLengthOk, type PasswordHasher } from './passwords.ts';
import type { LoginIdentifier } from './normalise.ts';

export interface Account extends AccountRow { identifiers: IdentifierRow[] }

export interface NewAccount {
  identifiers: NewIdentifier[];
  password?: string | undefined;
  profile?: Profile;
  /** Who creates it, for the audit log (cli:<user>, signup, ...). */
  actor: string;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

const UNIQUE_VIOLATION = '23505';

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === UNIQUE_VIOLATION;
}

export type IdentityService = ReturnType<typeof createIdentityService>;

export function createIdentityService({ db, hasher }: { db: Db; hasher: PasswordHasher }) {
  async function getAccount(id: string, trx: DbOrTx = db): Promise<Account | undefined> {
    const row = await findAccountRow(trx, id);
    if (!row) return undefined;
    return { ...row, identifiers: await listIdentifiers(trx, id) };
  }

  return {
    getAccount,

    /** Creates an account; inside `within` (a transaction of the caller) when given. */
    async createAccount(input: NewAccount, within?: DbOrTx): Promise<Account> {
      if (input.password !== undefined && !passwordLengthOk(input.password)) throw new AppError('identity.weak_password');
      const id = newAccountId();
      const hash = input.password === undefined ? undefined : await hasher.hash(input.password);
      try {
        return await (within ?? db).transaction(async (trx) => {
          await insertAccount(trx, { id, profile: input.profile ?? {} });
          for (const [i, identifier] of input.identifiers.entries()) {
            await insertIdentifier(trx, id, { ...identifier, primary: identifier.primary ?? i === 0 });
          }
          if (hash) await upsertPasswordHash(trx, id, hash);
          await recordAudit(trx, {
            actor: input.actor, action: 'account.created', subject: id, ip: input.ip, userAgent: input.userAgent,
            detail: { identifiers: input.identifiers.map((i) => i.kind), password: hash !== undefined },
          });
          await emitEvent(trx, { type: 'account.created', accountId: id, data: { via: viaOf(input.actor), identifiers: input.identifiers.map(identifierData) } });
          return (await getAccount(id, trx))!;
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new AppError('identity.identifier_in_use', { detail: (err as Error).message });
        throw err;
      }
    },

    /**
     * The account a login identifier names. Phones and emails count only when verified (an
     * unverified one may be someone else's: pre-hijacking); a username only when exactly one
     * account holds it (legacy usernames of different people collide).
     */
    async findLoginAccount(identifier: LoginIdentifier): Promise<string | undefined> {
      const ids = await accountIdsByIdentifier(db, identifier.kind, identifier.value, {
        includeUnverified: identifier.kind === 'username',
      });
      return ids.length === 1 ? ids[0] : undefined;
    },

    async passwordHashOf(accountId: string): Promise<string | undefined> {
      return findPasswordHash(db, accountId);
    },
  };
}
