import type { DbOrTx } from '../db/database.ts';

/** Who did what to whom, when and from where. Written in the transaction of the change. */
export interface AuditEntry {
  actor: string;
  action: string;
  subject?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  detail?: Record<string, unknown>;
}

export async function recordAudit(db: DbOrTx, entry: AuditEntry): Promise<void> {
  await db('audit_log').insert({
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject ?? null,
    ip: entry.ip ?? null,
    user_agent: entry.userAgent?.slice(0, 512) ?? null,
    detail: entry.detail ?? {},
  });
}

