/**
 * The product's SQL, copied rather than imported: the baseline must stay a plain compiled script
 * with no framework (src/ pulls in Nest and TypeORM; only framework-free helpers such as
 * src/common/dates.ts are imported). Each block names the file it was copied from; when the
 * product's SQL changes, change it here too, or the comparison measures two different queries.
 * `npm run bench -- --check` compares both servers' answers.
 */
import { addDays, addMonths } from '../../src/common/dates';

/** The organisation's rollup scope (src/database/migrations/1764000002000-rollups.ts). */
export const ORG_SCOPE = '00000000-0000-0000-0000-000000000000';

/** Collects parameters while a statement is assembled (src/database/sql.ts). */
export class Params {
  readonly values: unknown[] = [];

  p(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const startOfMonth = (date: string) => `${date.slice(0, 7)}-01`;

// ---- src/database/rollups.ts ----

export interface Bounds {
  from?: string;
  to?: string;
}

/** All-time totals without bounds (unless `dated`); else whole months, the edges from days. */
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

/** Into which currency rollup sums are converted (BASE_CURRENCY here: no `currency=`). */
export interface Conversion {
  currency: string;
  maxAgeDays: number;
  base: string;
}

/** convertedRollups(): CTEs ending in `conv`, each rollup row with its amount in `to.currency`. */
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
  const where = [`f.scope_id ${scope}`, `(f.currency < ${r} OR f.currency > ${r})`, 'f.count <> 0'];
  if (bounds.from) where.push(`f.day >= ${params.p(bounds.from)}`);
  if (bounds.to) where.push(`f.day <= ${params.p(bounds.to)}`);
  const own = daily
    ? dailySource(params, scope, bounds)
    : rollupSource(params, scope, bounds, { dated });
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

// ---- src/transactions/transactions.repository.ts and transaction-list.repository.ts ----

export type SortKey = 'date' | 'amount' | 'createdAt';
export interface SortSpec {
  key: SortKey;
  desc: boolean;
}
export const SORTS = ['date', '-date', 'amount', '-amount', 'createdAt', '-createdAt'];

export const SORT_SQL: Record<SortKey, { column: string; cast: string; text: string }> = {
  date: { column: 't.date', cast: 'date', text: 't.date::text' },
  amount: { column: 't.amount', cast: 'numeric', text: 't.amount::text' },
  createdAt: { column: 't.created_at', cast: 'timestamptz', text: 't.created_at::text' },
};

export const COLUMNS = `t.id, t.owner_id AS "ownerId", t.account_id AS "accountId", t.type, t.amount::text AS amount,
  t.currency, t.category, t.date::text AS date, t.notes, t.created_at AS "createdAt", t.updated_at AS "updatedAt", t.deleted_at AS "deletedAt"`;

/** The list filters the baseline accepts; live rows only (the product's `deleted=exclude`). */
export interface Filters {
  ownerId?: string;
  type?: string;
  category?: string;
  from?: string;
  to?: string;
  minAmount?: string;
  maxAmount?: string;
  q?: string;
}

export function orderBy(sort: SortSpec): string {
  const dir = sort.desc ? 'DESC' : 'ASC';
  return `ORDER BY ${SORT_SQL[sort.key].column} ${dir}, t.id ${dir}`;
}

export function where(f: Filters, params: Params): string {
  const clauses = ['t.deleted_at IS NULL'];
  if (f.ownerId) clauses.push(`t.owner_id = ${params.p(f.ownerId)}`);
  if (f.type) clauses.push(`t.type = ${params.p(f.type)}`);
  if (f.category) clauses.push(`lower(t.category) = lower(${params.p(f.category)})`);
  if (f.from) clauses.push(`t.date >= ${params.p(f.from)}`);
  if (f.to) clauses.push(`t.date <= ${params.p(f.to)}`);
  if (f.minAmount) clauses.push(`t.amount >= ${params.p(f.minAmount)}`);
  if (f.maxAmount) clauses.push(`t.amount <= ${params.p(f.maxAmount)}`);
  if (f.q) {
    // likePattern() of src/common/validators.ts: a user's % and _ match themselves.
    const q = params.p(`%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    clauses.push(`(t.category ILIKE ${q} OR t.notes ILIKE ${q})`);
  }
  return clauses.join(' AND ');
}

/** Page mode's rows: the deferred join (the offset walks only the index). */
export function pageSql(f: Filters, sort: SortSpec, limit: number, offset: number) {
  const params = new Params();
  const text = `SELECT ${COLUMNS} FROM transactions t
     JOIN (SELECT t.id FROM transactions t WHERE ${where(f, params)} ${orderBy(sort)}
           LIMIT ${params.p(limit)} OFFSET ${params.p(offset)}) page ON page.id = t.id
     ${orderBy(sort)}`;
  return { text, values: params.values };
}

/** The page total from the rollups, for the filters they can answer (see `rollupsCanCount`). */
export function rollupCountSql(f: Filters) {
  const params = new Params();
  const source = rollupSource(params, `= ${params.p(f.ownerId ?? ORG_SCOPE)}`, f);
  const clauses = ['true'];
  if (f.type) clauses.push(`s.type = ${params.p(f.type)}`);
  if (f.category) clauses.push(`lower(s.category) = lower(${params.p(f.category)})`);
  const text = `SELECT coalesce(sum(s.count), 0)::int AS total FROM (${source}) s WHERE ${clauses.join(' AND ')}`;
  return { text, values: params.values };
}

export const rollupsCanCount = (f: Filters) => !f.q && !f.minAmount && !f.maxAmount;

/**
 * The exact count and the snapshot it was taken under (src/transactions/transaction-list.repository.ts
 * exactCount).
 */
export function exactCountSql(f: Filters) {
  const params = new Params();
  const text = `SELECT pg_current_snapshot()::text AS snapshot,
          (SELECT count(*)::int FROM transactions t WHERE ${where(f, params)}) AS total`;
  return { text, values: params.values };
}

/**
 * The change-log delta since a cached count's snapshot (src/transactions/transaction-list.repository.ts
 * changesSinceSql).
 */
export function changesSinceSql(f: Filters, old: string) {
  const params = new Params();
  const snap = `${params.p(old)}::pg_snapshot`;
  const since = (alias: string) =>
    `${alias}.xid >= pg_snapshot_xmin(${snap}) AND ${alias}.xid < pg_snapshot_xmax(pg_current_snapshot()) AND NOT pg_visible_in_snapshot(${alias}.xid, ${snap})`;
  const owner = f.ownerId ? ` AND (r.owner_id IS NULL OR r.owner_id = ${params.p(f.ownerId)})` : '';
  const text = `SELECT pg_current_snapshot()::text AS snapshot,
      (SELECT horizon FROM transaction_change_horizon) <= pg_snapshot_xmin(${snap})
        AND NOT EXISTS (SELECT 1 FROM transaction_change_resets r WHERE ${since('r')}${owner}) AS usable,
      (SELECT coalesce(sum(t.sign), 0)::int FROM transaction_changes t
        WHERE ${since('t')} AND ${where(f, params)}) AS delta`;
  return { text, values: params.values };
}

/** Keyset page: rows strictly after `after`, plus one to tell whether more exist. */
export function cursorSql(
  f: Filters,
  sort: SortSpec,
  limit: number,
  after?: { value: string; id: string },
) {
  const params = new Params();
  let clauses = where(f, params);
  const s = SORT_SQL[sort.key];
  if (after) {
    const op = sort.desc ? '<' : '>';
    clauses += ` AND (${s.column}, t.id) ${op} (${params.p(after.value)}::${s.cast}, ${params.p(after.id)}::uuid)`;
  }
  const text = `SELECT ${COLUMNS}, ${s.text} AS "sortKey" FROM transactions t WHERE ${clauses} ${orderBy(sort)} LIMIT ${params.p(limit + 1)}`;
  return { text, values: params.values };
}

/** findLive(): someone else's row (for a non-admin) and a deleted row are both not found. */
export function findLiveSql(id: string, ownerId?: string) {
  const params = new Params();
  const owner = ownerId ? ` AND t.owner_id = ${params.p(ownerId)}` : '';
  const text = `SELECT ${COLUMNS} FROM transactions t WHERE t.id = ${params.p(id)} AND t.deleted_at IS NULL${owner}`;
  return { text, values: params.values };
}

/**
 * insert() with the audit entry as a data-modifying CTE (AuditService.insertFrom in
 * src/audit/audit.service.ts): row and entry commit together in one round trip.
 */
export function insertSql(
  t: {
    ownerId: string;
    type: string;
    amount: string;
    currency: string;
    category: string;
    date: string;
  },
  notes: string | null,
  audit: { actorId: string; changes: object; requestId: string; ip: string | null },
) {
  const params = new Params();
  const owner = params.p(t.ownerId);
  const values = [
    owner,
    ...[t.type, t.amount, t.currency, t.category, t.date, notes].map((v) => params.p(v)),
  ];
  const entry = `INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, changes, request_id, ip)
    SELECT ${params.p(audit.actorId)}::uuid, ${params.p('transaction.create')}, ${params.p('transaction')},
      inserted.id::uuid, ${params.p(JSON.stringify(audit.changes))}::jsonb,
      ${params.p(audit.requestId)}, ${params.p(audit.ip)} FROM inserted`;
  const text = `WITH inserted AS (
       INSERT INTO transactions AS t (owner_id, type, amount, currency, category, date, notes)
       SELECT ${values.join(', ')} WHERE EXISTS (SELECT 1 FROM users WHERE id = ${owner} AND is_active)
       RETURNING ${COLUMNS}
     ), alongside AS (${entry})
     SELECT * FROM inserted`;
  return { text, values: params.values };
}
