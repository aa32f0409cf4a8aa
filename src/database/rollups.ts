import { addDays, addMonths, startOfMonth } from '../common/dates';
import type { Params } from './sql';

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
 * Rollup rows covering [from, to]: whole months from the monthly table, the ragged edges from the
 * daily table. Columns: scope_id, d (a day or a month start), type, category, currency, total (in that currency), count.
 */
export function rollupSource(params: Params, scope: string, { from, to }: Bounds): string {
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
