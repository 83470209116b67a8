import type { DbOrTx } from '../db/database.ts';

export interface ClientRow {
  client_id: string;
  brand_id: string;
  metadata: Record<string, unknown>;
  secret_enc: string | null;
  first_party: boolean;
  legacy_source: string | null;
  created_at: Date;
  updated_at: Date;
}

export async function insertClient(db: DbOrTx, row: Omit<ClientRow, 'created_at' | 'updated_at'>): Promise<void> {
  await db('clients').insert(row);
}

export async function upsertClient(db: DbOrTx, row: Omit<ClientRow, 'created_at' | 'updated_at'>): Promise<void> {
  await db('clients').insert(row).onConflict('client_id')
    .merge({ ...row, updated_at: db.fn.now() } as Record<string, unknown>);
}

export async function findClientRow(db: DbOrTx, clientId: string): Promise<ClientRow | undefined> {
  return db('clients').where({ client_id: clientId }).first();
}

export async function listClientRows(db: DbOrTx): Promise<ClientRow[]> {
  return db('clients').orderBy('created_at');
}

export async function deleteClientRow(db: DbOrTx, clientId: string): Promise<boolean> {
  return (await db('clients').where({ client_id: clientId }).delete()) > 0;
}
