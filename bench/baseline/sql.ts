/**
 * The product's SQL: imported where it lives in a framework-free module (the rollup reads, from
 * src/database/rollups.ts; the dashboards' statements, see dashboard-sql.ts), else copied, since
 * the baseline must stay a plain compiled script with no framework (the repositories pull in Nest
 * and TypeORM). Each copied block names the file it was copied from; when the product's SQL
 * changes, change it here too, or the comparison measures two different queries.
 * `npm run bench -- --check` compares both servers' answers.
 */
import { ORG_SCOPE, rollupSource } from '../../src/database/rollups';
import { Params } from '../../src/database/sql';

// The rollup reads are the product's own module (src/database/rollups.ts, framework-free):
// imported, so the dashboards' SQL cannot drift apart. The baseline stores no converted months
// (`convertedMonthsFill`): it reads what the product stored, as the product's reads do.
export {
  type Bounds,
  type Conversion,
  convertedRollups,
  ownRollups,
} from '../../src/database/rollups';
export { ORG_SCOPE, Params };

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
