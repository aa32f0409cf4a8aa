import type { Params } from '../database/sql';
import { filterSql, type ResolvedFilters } from './transaction-filters.sql';

/** The SQL of the change log behind cached page-mode totals (transaction-changes migration). */

/**
 * How the rows matching `f` changed between the snapshot `old` and this statement's snapshot,
 * read from the change log (see the transaction-changes migration): the sum of the signs of the
 * matching row images written by transactions that had not committed in `old` and have now. Not
 * usable when a reset (an import, a TRUNCATE) of a concerned owner fell in between or the log was
 * pruned past `old`. The upper xid bound changes no result (nothing at or above the current
 * xmax is visible) but gives the planner a narrow range on the xid index even without
 * statistics (autovacuum may be off), instead of a sequential scan of the log.
 */
export function changesSinceSql(f: ResolvedFilters, old: string, params: Params): string {
  const snap = `${params.p(old)}::pg_snapshot`;
  const since = (alias: string) =>
    `${alias}.xid >= pg_snapshot_xmin(${snap}) AND ${alias}.xid < pg_snapshot_xmax(pg_current_snapshot()) AND NOT pg_visible_in_snapshot(${alias}.xid, ${snap})`;
  const owner = f.ownerId ? ` AND (r.owner_id IS NULL OR r.owner_id = ${params.p(f.ownerId)})` : '';
  return `SELECT pg_current_snapshot()::text AS snapshot,
      (SELECT horizon FROM transaction_change_horizon) <= pg_snapshot_xmin(${snap})
        AND NOT EXISTS (SELECT 1 FROM transaction_change_resets r WHERE ${since('r')}${owner}) AS usable,
      (SELECT coalesce(sum(t.sign), 0)::int FROM transaction_changes t
        WHERE ${since('t')} AND ${filterSql(f, params)}) AS delta`;
}

/**
 * Prunes the change log: the horizon moves to the oldest snapshot xmin remembered at the previous
 * prune, and the changes below it go. One statement, so a reader sees either the old horizon and
 * every change or the new horizon and what is left. Runs at most once per `intervalSeconds`
 * across all instances (the row lock orders concurrent prunes; the later one then finds
 * `pruned_at` recent and does nothing).
 */
export const PRUNE_CHANGES_SQL = `WITH moved AS (
    UPDATE transaction_change_horizon
       SET horizon = next_horizon, next_horizon = pg_snapshot_xmin(pg_current_snapshot()), pruned_at = now()
     WHERE pruned_at <= now() - make_interval(secs => $1)
     RETURNING horizon
  ), changes AS (
    DELETE FROM transaction_changes WHERE xid < (SELECT horizon FROM moved)
  )
  DELETE FROM transaction_change_resets WHERE xid < (SELECT horizon FROM moved)`;
