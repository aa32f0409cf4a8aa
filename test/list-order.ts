/**
 * The list's sort order written out again, independently of the database: shared by the in-process
 * sort matrix (test/integration/transactions-sorting.int-spec.ts) and the e2e page walks.
 */
export type Sort = 'date' | '-date' | 'amount' | '-amount' | 'createdAt' | '-createdAt';

export interface Keys {
  id: string;
  date: string;
  amount: string;
  micros: string;
}

/**
 * The order the contract defines, computed here rather than asked of the database: the sort key
 * (amount as integer cents, createdAt to the microsecond), then id, both in the sort's direction.
 * A uuid orders like its lower-case text.
 */
export function expectedOrder(rows: Keys[], sort: Sort): string[] {
  const desc = sort.startsWith('-');
  const name = desc ? sort.slice(1) : sort;
  const key = (r: Keys): string | bigint =>
    name === 'date'
      ? r.date
      : name === 'amount'
        ? BigInt(r.amount.replace('.', ''))
        : BigInt(r.micros);
  const cmp = (a: string | bigint, b: string | bigint) => (a < b ? -1 : a > b ? 1 : 0);
  const asc = [...rows].sort((a, b) => cmp(key(a), key(b)) || cmp(a.id, b.id)).map((r) => r.id);
  return desc ? asc.reverse() : asc;
}
