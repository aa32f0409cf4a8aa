import type { Response } from 'supertest';
import type { TestApp } from '../app';
import { bearer, type TestUser } from '../factories';

export const TX = '/api/v1/transactions';

export interface TxBody {
  id: string;
  ownerId: string;
  type: 'income' | 'expense';
  amount: string;
  category: string;
  date: string;
  notes: string | null;
  createdAt: string;
  updatedAt: string;
  deletedAt?: string | null;
}

export const validTx = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'expense',
  amount: '12.50',
  category: 'Food',
  date: '2026-03-14',
  ...overrides,
});

/** The page-mode `total` of a list query (one row fetched), as `user` sees it on `on`. */
export async function listTotal(on: TestApp, user: TestUser, query: string): Promise<number> {
  const res = await on.http().get(`${TX}?limit=1&${query}`).set(bearer(user)).expect(200);
  return (res.body as { meta: { total: number } }).meta.total;
}

/** Creates a transaction through the API and fails loudly unless it is a 201. */
export async function createTx(
  app: TestApp,
  user: TestUser,
  overrides: Record<string, unknown> = {},
): Promise<TxBody> {
  const res = await app.http().post(TX).set(bearer(user)).send(validTx(overrides));
  if (res.status !== 201)
    throw new Error(`create transaction failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as TxBody;
}

/** Asserts an RFC 9457 problem with the given status and, when given, exactly these error fields. */
export function expectProblem(res: Response, status: number, fields?: string[]): void {
  expect({ status: res.status, body: res.body as unknown }).toMatchObject({
    status,
    body: { status },
  });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  if (fields) {
    const errors = (res.body as { errors?: { field: string; message: string }[] }).errors;
    expect(Array.isArray(errors)).toBe(true);
    expect([...new Set(errors!.map((e) => e.field))].sort()).toEqual([...fields].sort());
    for (const e of errors!) expect(typeof e.message).toBe('string');
  }
}

/** The error fields of a problem body, in order, one per broken rule. */
export const errorFields = (res: Response): string[] =>
  ((res.body as { errors?: { field: string }[] }).errors ?? []).map((e) => e.field);

export const ORG_SCOPE = '00000000-0000-0000-0000-000000000000';

/**
 * The daily rollup of one owner (or, with ORG_SCOPE, of everyone) next to what a direct
 * aggregate over the live transactions says: totals and per (day, type, category).
 */
export async function rollupVersusLive(
  app: TestApp,
  scopeId: string,
): Promise<{ rollup: unknown; live: unknown }> {
  const live = scopeId === ORG_SCOPE ? '$1::uuid IS NOT NULL' : 'owner_id = $1';
  const q = (sql: string) => app.sql.query(sql, [scopeId]).then((r) => r.rows);
  const [rollupTotals, liveTotals, rollupGroups, liveGroups] = await Promise.all([
    q(`SELECT coalesce(sum(total), 0)::text AS total, coalesce(sum(count), 0)::text AS count
       FROM rollup_daily WHERE scope_id = $1`),
    q(`SELECT coalesce(sum(amount), 0)::text AS total, count(*)::text AS count
       FROM transactions WHERE deleted_at IS NULL AND ${live}`),
    q(`SELECT day::text AS day, type::text AS type, category, total::text AS total,
         count::int AS count
       FROM rollup_daily WHERE scope_id = $1 AND count <> 0 ORDER BY 1, 2, 3`),
    q(`SELECT date::text AS day, type::text AS type, category, sum(amount)::text AS total,
         count(*)::int AS count
       FROM transactions WHERE deleted_at IS NULL AND ${live} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
  ]);
  return {
    rollup: { totals: rollupTotals[0], groups: rollupGroups },
    live: { totals: liveTotals[0], groups: liveGroups },
  };
}
