import { likePattern } from '../common/validators';
import type { Params } from '../database/sql';
import type { DeletedMode, Sort, TransactionFiltersDto } from './dto/list-transactions.dto';

/**
 * The SQL of the list filters and sort orders, shared by the list, its totals and the export.
 * Request values only ever travel as parameters; sort keys map through an allow-list.
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
