import { likePattern } from '../common/validators';
import { ORG_SCOPE, rollupSource } from '../database/rollups';
import type { DataSource } from 'typeorm';
import { Params, type Queryable, query } from '../database/sql';
import { inTransaction } from '../database/transaction';
import { advance, CountCache, type CountedAt, type Delta } from './count-cache';
import type { DeletedMode, Sort, TransactionFiltersDto } from './dto/list-transactions.dto';

/**
 * The SQL of listing transactions beyond the rows themselves (transactions.repository.ts): the
 * filters and sort orders, shared by the list, its totals and the export; and the page-mode
 * totals, with the change log behind their cache. Request values only ever travel as parameters;
 * sort keys map through an allow-list. No NestJS here: unit tests load it, and an e2e test runs
 * PRUNE_CHANGES_SQL itself.
 */

export type SortKey = 'date' | 'amount' | 'createdAt';
export interface SortSpec {
  key: SortKey;
  desc: boolean;
}
/** Where a keyset page continues: the last row's sort value and id. */
export interface Keyset {
  value: string;
  id: string;
}
export interface ResolvedFilters extends Omit<TransactionFiltersDto, 'sort' | 'deleted'> {
  deleted: DeletedMode;
  /** `q` matches the category only: the reader sees others' notes masked (access.ts). */
  notesHidden?: true;
}

// The allow-list: the only strings that ever reach ORDER BY or a keyset comparison.
const SORT_SQL: Record<SortKey, { column: string; cast: string; text: string }> = {
  date: { column: 't.date', cast: 'date', text: 't.date::text' },
  amount: { column: 't.amount', cast: 'numeric', text: 't.amount::text' },
  createdAt: { column: 't.created_at', cast: 'timestamptz', text: 't.created_at::text' },
};

export function parseSort(sort: Sort): SortSpec {
  const desc = sort.startsWith('-');
  return { key: (desc ? sort.slice(1) : sort) as SortKey, desc };
}

/** `ORDER BY` for a sort, ties broken by id in the same direction (keysets need a total order). */
export function orderBySql(sort: SortSpec): string {
  const dir = sort.desc ? 'DESC' : 'ASC';
  return `ORDER BY ${SORT_SQL[sort.key].column} ${dir}, t.id ${dir}`;
}

/** The sort column as text, carried in a cursor. */
export const sortValueSql = (sort: SortSpec): string => SORT_SQL[sort.key].text;

/** Rows strictly after `after` in the sort order. */
export function afterKeysetSql(sort: SortSpec, after: Keyset, params: Params): string {
  const s = SORT_SQL[sort.key];
  const op = sort.desc ? '<' : '>';
  return `(${s.column}, t.id) ${op} (${params.p(after.value)}::${s.cast}, ${params.p(after.id)}::uuid)`;
}

/** The WHERE condition of the filters over `transactions t` (`true` when there are none). */
export function filterSql(f: ResolvedFilters, params: Params): string {
  const clauses: string[] = [];
  if (f.deleted === 'exclude') clauses.push('t.deleted_at IS NULL');
  if (f.deleted === 'only') clauses.push('t.deleted_at IS NOT NULL');
  if (f.ownerId) clauses.push(`t.owner_id = ${params.p(f.ownerId)}`);
  if (f.accountId) clauses.push(`t.account_id = ${params.p(f.accountId.toLowerCase())}`);
  if (f.currency) clauses.push(`t.currency = ${params.p(f.currency)}`);
  if (f.type) clauses.push(`t.type = ${params.p(f.type)}`);
  if (f.category) clauses.push(`lower(t.category) = lower(${params.p(f.category)})`);
  if (f.from) clauses.push(`t.date >= ${params.p(f.from)}`);
  if (f.to) clauses.push(`t.date <= ${params.p(f.to)}`);
  if (f.minAmount) clauses.push(`t.amount >= ${params.p(f.minAmount)}`);
  if (f.maxAmount) clauses.push(`t.amount <= ${params.p(f.maxAmount)}`);
  if (f.q) {
    const q = params.p(likePattern(f.q));
    clauses.push(
      f.notesHidden ? `t.category ILIKE ${q}` : `(t.category ILIKE ${q} OR t.notes ILIKE ${q})`,
    );
  }
  return clauses.length > 0 ? clauses.join(' AND ') : 'true';
}

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
function changesSinceSql(f: ResolvedFilters, old: string, params: Params): string {
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

/**
 * The list's page-mode totals, with the exact counts it keeps (one instance per
 * TransactionsRepository). `primary` is where exact counts and the change log are read: the
 * change log's delta compares transaction ids with the primary's snapshot.
 */
export class TransactionTotals {
  private readonly exactCounts = new CountCache();
  private readonly countsRunning = new Map<string, Promise<CountedAt>>();

  constructor(private readonly primary: DataSource) {}

  /**
   * The page-mode total. Filters the rollups can answer (owner, type, currency, category, date range over
   * live rows) are counted there, at a cost that does not grow with the number of rows; amount
   * bounds, search and deleted rows need an exact count over the table, which is cached.
   */
  async count(f: ResolvedFilters, db: Queryable): Promise<number> {
    if (f.deleted === 'exclude' && !f.q && !f.minAmount && !f.maxAmount && !f.accountId) {
      const params = new Params();
      const source = rollupSource(params, `= ${params.p(f.ownerId ?? ORG_SCOPE)}`, {
        from: f.from,
        to: f.to,
      });
      const where = ['true'];
      if (f.type) where.push(`s.type = ${params.p(f.type)}`);
      if (f.currency) where.push(`s.currency = ${params.p(f.currency)}`);
      if (f.category) where.push(`lower(s.category) = lower(${params.p(f.category)})`);
      const [row] = await query<{ total: number }>(
        db,
        `SELECT coalesce(sum(s.count), 0)::int AS total FROM (${source}) s WHERE ${where.join(' AND ')}`,
        params.values,
      );
      return row.total;
    }
    // On the primary: the change log's delta compares transaction ids with the primary's snapshot.
    return this.exactCount(f);
  }

  /**
   * An exact count. A total cached for the same filter is brought forward to this statement's
   * snapshot with the change log's delta (one small indexed read) instead of counting again, so
   * writes do not make the next search recount; it is counted again only after an import, a
   * TRUNCATE or a prune. The delta is read after this request started, so a write committed
   * before it (on any instance) is always in the total. A burst of identical requests with no
   * cached total shares one running count, each then bringing it forward the same way.
   */
  private async exactCount(f: ResolvedFilters): Promise<number> {
    const key = JSON.stringify([
      f.deleted,
      f.ownerId,
      f.type,
      f.currency,
      f.accountId,
      f.category,
      f.from,
      f.to,
      f.minAmount,
      f.maxAmount,
      f.q,
      f.notesHidden,
    ]);
    const cached = this.exactCounts.get(key);
    const current = cached && (await this.bringForward(f, cached));
    if (current) return this.exactCounts.remember(key, current);
    // No usable total: share a count another request has started (it may predate this request,
    // so it is brought forward the same way), or start one.
    const running = this.countsRunning.get(key);
    if (running) {
      const shared = await this.bringForward(f, await running);
      if (shared) return this.exactCounts.remember(key, shared);
    }
    const params = new Params();
    const counting = inTransaction(this.primary, async (m) => {
      // A cold search count rechecks nearly every heap page (trigram matches are lossy): worth
      // parallel workers, which the default setup cost (1000) just misses. Paid once per filter
      // and instance; small counts stay serial (docs/performance.md, "Cold search totals").
      await m.query('SET LOCAL parallel_setup_cost = 100');
      const [row] = await query<CountedAt>(
        m,
        `SELECT pg_current_snapshot()::text AS snapshot,
                (SELECT count(*)::int FROM transactions t WHERE ${filterSql(f, params)}) AS total`,
        params.values,
      );
      return row;
    });
    this.countsRunning.set(key, counting);
    try {
      return this.exactCounts.remember(key, await counting);
    } finally {
      if (this.countsRunning.get(key) === counting) this.countsRunning.delete(key);
    }
  }

  /** `counted` moved to this statement's snapshot by the change log, if the log can tell. */
  private async bringForward(
    f: ResolvedFilters,
    counted: CountedAt,
  ): Promise<CountedAt | undefined> {
    const params = new Params();
    const [delta] = await query<Delta>(
      this.primary,
      changesSinceSql(f, counted.snapshot, params),
      params.values,
    );
    return advance(counted, delta);
  }

  /** See PRUNE_CHANGES_SQL. */
  async prune(intervalSeconds: number): Promise<void> {
    await query(this.primary, PRUNE_CHANGES_SQL, [intervalSeconds]);
  }
}
