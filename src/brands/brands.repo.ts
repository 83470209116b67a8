import type { DbOrTx } from '../db/database.ts';

export interface BrandRow {
  id: string;
  name_zh: string;
  name_en: string;
  logo_url: string | null;
  colors: { primary?: string; primaryText?: string };
  legal_links: { termsUrl?: string; privacyUrl?: string };
  region: string | null;
  default_locale: string;
  created_at: Date;
  updated_at: Date;
}

export type BrandFields = Omit<BrandRow, 'id' | 'created_at' | 'updated_at'>;

/** Inserts a brand; false when the id is taken. */
export async function insertBrand(db: DbOrTx, row: BrandFields & { id: string }): Promise<boolean> {
  const inserted = await db('brands').insert(row).onConflict('id').ignore().returning('id');
  return inserted.length > 0;
}

export async function updateBrandRow(db: DbOrTx, id: string, fields: BrandFields): Promise<boolean> {
  return (await db('brands').where({ id }).update({ ...fields, updated_at: db.fn.now() })) > 0;
}

export async function findBrandRow(db: DbOrTx, id: string, opts: { forUpdate?: boolean } = {}): Promise<BrandRow | undefined> {
  const query = db('brands').where({ id }).first();
  return opts.forUpdate ? query.forUpdate() : query;
}

export async function listBrandRows(db: DbOrTx): Promise<BrandRow[]> {
  return db('brands').orderBy('id');
}

export async function countClientsOfBrand(db: DbOrTx, id: string): Promise<number> {
  const row = await db('clients').where({ brand_id: id }).count<{ count: string | number }>('* as count').first();
  return Number(row?.count ?? 0);
}

export async function deleteBrandRow(db: DbOrTx, id: string): Promise<boolean> {
  return (await db('brands').where({ id }).delete()) > 0;
}
