import { addDays, addMonths, startOfMonth } from '../common/dates';
import type { Params, Queryable } from './sql';

/**
 * Reading the rollup tables (see the rollups migration). Shared by the dashboard and by the
 * transaction list's page totals, which count from the rollups when the filters allow.
 */

/**
 * The rollup scope of the whole organisation (the nil UUID). The rollups migration writes the
 * same literal; migrations are history and runtime code never imports them.
 */
export const ORG_SCOPE = '00000000-0000-0000-0000-000000000000';

/** Inclusive calendar-date bounds; either may be open. */
export interface Bounds {
  from?: string;
  to?: string;
}

/**
 * Rollup rows covering [from, to] from the fewest rows (the rollup-hierarchy migration): without
 * bounds, the all-time totals (or every month when the rows must be `dated`); else whole months
 * from the monthly table and the ragged edges from the daily table. Columns: scope_id, d (a day or
 * a month start; NULL for all time), type, category, currency, total (in that currency), count.
 */
export function rollupSource(
  params: Params,
  scope: string,
  { from, to }: Bounds,
  { dated = false }: { dated?: boolean } = {},
): string {
  if (!from && !to && !dated) {
    return `SELECT scope_id, NULL::date AS d, type, category, currency, total, count FROM rollup_totals WHERE scope_id ${scope}`;
  }
  const firstFull = from && (from.endsWith('-01') ? from : addMonths(from, 1));
  const endFull = to && startOfMonth(addDays(to, 1));
  if (firstFull && endFull && firstFull >= endFull) return dailySource(params, scope, { from, to });
  const monthly = [`scope_id ${scope}`];
  if (firstFull) monthly.push(`month >= ${params.p(firstFull)}`);
  if (endFull) monthly.push(`month < ${params.p(endFull)}`);
  const parts = [
    `SELECT scope_id, month AS d, type, category, currency, total, count FROM rollup_monthly WHERE ${monthly.join(' AND ')}`,
  ];
  if (from && firstFull && firstFull > from)
    parts.push(dailySource(params, scope, { from, to: addDays(firstFull, -1) }));
  if (to && endFull && endFull <= to) parts.push(dailySource(params, scope, { from: endFull, to }));
  return parts.join(' UNION ALL ');
}

export function dailySource(params: Params, scope: string, { from, to }: Bounds): string {
  const where = [`scope_id ${scope}`];
  if (from) where.push(`day >= ${params.p(from)}`);
  if (to) where.push(`day <= ${params.p(to)}`);
  return `SELECT scope_id, day AS d, type, category, currency, total, count FROM rollup_daily WHERE ${where.join(' AND ')}`;
}

/** Into which currency rollup sums are converted, and by which rule (docs/api.md, "Reporting currency"). */
export interface Conversion {
  currency: string;
  /** FX_MAX_AGE_DAYS. */
  maxAgeDays: number;
  /** BASE_CURRENCY, the currency cross rates go through. */
  base: string;
}

/**
 * CTEs ending in `conv`: the rollup rows of `scope` in the bounds with their amount in the
 * reporting currency. Rows already in it come as `rollupSource` gives them (whole months where
 * possible, or days when `daily`); every other currency comes per day, times that day's rate
 * (`fx_rates`: every currency and day in one call, planned once per connection rather than with
 * each query, and not called at all when there is nothing to convert; see its migration),
 * because each transaction converts at its own date's rate. The rate is a fraction num / den (an inverse or a cross rate through one has
 * den <> 1): the day's total is multiplied by num exactly, then divided once, carried to 40
 * decimals, so a quotient that ends within 40 decimals is exact and any other is off by at most
 * half of 1e-40 (`roundConverted` accounts for that). `day_rates` is MATERIALIZED: inlined into
 * `conv`, the planner could look rates up once per rollup row (26k at 1M rows) instead of once
 * per currency and day (2k), ten times the cost. Columns: scope_id, d (NULL in the all-time rows
 * of the reporting currency unless `dated`), type, category,
 * currency, total (in its own currency), count, amount (in the reporting currency; NULL when the
 * rate is missing), missing (whether the rate is). Nothing is rounded to money here.
 */
export function convertedRollups(
  params: Params,
  scope: string,
  bounds: Bounds,
  to: Conversion,
  {
    daily = false,
    byCategory = true,
    dated = false,
  }: { daily?: boolean; byCategory?: boolean; dated?: boolean } = {},
): string {
  const r = params.p(to.currency);
  // A day whose rows were all deleted keeps a zero row; it needs no rate.
  const where = [`f.scope_id ${scope}`, `(f.currency < ${r} OR f.currency > ${r})`, 'f.count <> 0'];
  if (bounds.from) where.push(`f.day >= ${params.p(bounds.from)}`);
  if (bounds.to) where.push(`f.day <= ${params.p(bounds.to)}`);
  const own = daily
    ? dailySource(params, scope, bounds)
    : rollupSource(params, scope, bounds, { dated });
  // Without categories, a day's categories are summed before the (costlier) 40-decimal division.
  const category = byCategory ? 'f.category' : 'NULL::varchar';
  return `foreign_days AS (
      SELECT f.scope_id, f.day, f.type, ${category} AS category, f.currency, sum(f.total) AS total,
        sum(f.count) AS count
      FROM rollup_daily f WHERE ${where.join(' AND ')} GROUP BY 1, 2, 3, 4, 5
    ), day_rates AS MATERIALIZED (
      SELECT x.currency, x.day, x.num, x.den
      FROM (SELECT array_agg(currency) AS cs, array_agg(day) AS ds
            FROM (SELECT DISTINCT currency, day FROM foreign_days) p HAVING count(*) > 0) a
      CROSS JOIN LATERAL fx_rates(a.cs, a.ds, ${r}, ${params.p(to.maxAgeDays)}, ${params.p(to.base)}) x
    ), conv AS (
      SELECT o.scope_id, o.d, o.type, o.category, o.currency, o.total, o.count, o.total AS amount, false AS missing
      FROM (${own}) o WHERE o.currency = ${r}
      UNION ALL
      SELECT f.scope_id, f.day, f.type, f.category, f.currency, f.total, f.count, (f.total * x.num)::numeric(1000, 40) / x.den, x.num IS NULL
      FROM foreign_days f JOIN day_rates x ON x.currency = f.currency AND x.day = f.day
    )`;
}

/** The missing rates behind a conversion: one per currency and day, oldest first, the first 100. */
export function missingRatesSql(
  params: Params,
  scope: string,
  bounds: Bounds,
  to: Conversion,
): string {
  return `WITH ${convertedRollups(params, scope, bounds, to, { byCategory: false })}
    SELECT currency AS "from", ${params.p(to.currency)}::text AS "to", day::text AS date
    FROM day_rates WHERE num IS NULL ORDER BY day, currency LIMIT 100`;
}

/** What a change of a transaction row touches in the rollups: its own rows' key. */
export interface RollupKey {
  ownerId: string;
  date: string;
  type: string;
  category: string;
  currency: string;
}

/**
 * Locks the rollup rows of `keys` (both scopes, every level), creating missing ones at zero, in
 * the order the maintenance triggers lock them: the same statement shape (daily and all-time
 * totals as CTEs in that order, monthly as the main INSERT; the rollup-hierarchy migration), rows
 * sorted by key. A transaction that writes transactions in several statements (a batch) calls
 * this first with every key it will touch; each later statement then meets only locks it holds,
 * so it cannot deadlock with one-statement writers, which lock in that same order, nor with
 * another batch. The owners' budget locks come last, as the budget alert triggers take them
 * after the rollup rows: each owner's advisory lock shared, then the budgets in id order
 * (budget-spending migration).
 */
export async function lockRollups(db: Queryable, keys: readonly RollupKey[]): Promise<void> {
  if (keys.length === 0) return;
  const column = (pick: (k: RollupKey) => string) => keys.map(pick);
  await db.query(
    `WITH k AS (
       SELECT DISTINCT s.scope_id, k.day, k.type, k.category, k.currency
       FROM unnest($1::uuid[], $2::date[], $3::transaction_type[], $4::text[], $5::char(3)[])
         AS k (owner_id, day, type, category, currency)
       CROSS JOIN LATERAL (VALUES (k.owner_id), ('${ORG_SCOPE}'::uuid)) s (scope_id)
     ),
     daily AS (
       INSERT INTO rollup_daily AS r (scope_id, day, type, category, currency, total, count)
       SELECT scope_id, day, type, category, currency, 0, 0 FROM k ORDER BY 1, 2, 3, 4, 5
       ON CONFLICT (scope_id, day, type, category, currency) DO UPDATE SET count = r.count
     ),
     totals AS (
       INSERT INTO rollup_totals AS r (scope_id, type, category, currency, total, count)
       SELECT DISTINCT scope_id, type, category, currency, 0, 0 FROM k ORDER BY 1, 2, 3, 4
       ON CONFLICT (scope_id, type, category, currency) DO UPDATE SET count = r.count
     )
     INSERT INTO rollup_monthly AS r (scope_id, month, type, category, currency, total, count)
     SELECT DISTINCT scope_id, date_trunc('month', day)::date, type, category, currency, 0, 0
     FROM k ORDER BY 1, 2, 3, 4, 5
     ON CONFLICT (scope_id, month, type, category, currency) DO UPDATE SET count = r.count`,
    [
      column((k) => k.ownerId),
      column((k) => k.date),
      column((k) => k.type),
      column((k) => k.category),
      column((k) => k.currency),
    ],
  );
  const owners = [...new Set(keys.map((k) => k.ownerId))];
  await db.query(`SELECT budget_owners_share($1::uuid[])`, [owners]);
  await db.query(`SELECT 1 FROM budgets WHERE owner_id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [
    owners,
  ]);
}
