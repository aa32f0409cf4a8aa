import { type Params, type Queryable, query } from './sql';

export type PurgeTable = 'transactions' | 'transfers';

export interface PurgedRow {
  id: string;
  ownerId: string;
}

/**
 * Deletes for good the rows of `table` whose ids `pick` selects (a subquery that locks them), in
 * one statement with the `alongside` CTEs over the purged rows (`purged`: id, "ownerId", and an
 * empty `changes` for the audit entry), so the rows, their audit entries and their events go
 * together. The rollup triggers subtract a live row; a soft-deleted one is not in them.
 */
export async function purgeRows(
  db: Queryable,
  params: Params,
  table: PurgeTable,
  pick: string,
  alongside: (params: Params, source: string) => string[],
): Promise<PurgedRow[]> {
  const also = alongside(params, 'purged')
    .map((sql, i) => `, alongside${i} AS (${sql})`)
    .join('');
  return query<PurgedRow>(
    db,
    `WITH purged AS (
       DELETE FROM ${table} WHERE id IN (${pick})
       RETURNING id, owner_id AS "ownerId", '{}'::jsonb AS changes
     )${also}
     SELECT id, "ownerId" FROM purged`,
    params.values,
  );
}
