/** An exact total and the database snapshot (`pg_current_snapshot()` as text) it is exact under. */
export interface CountedAt {
  snapshot: string;
  total: number;
}

/**
 * What the change log says happened between a cached total's snapshot and a later one (see the
 * transaction-changes migration): the sum of the signs of the matching row images committed in
 * between, unless the log cannot tell (a reset fell in between, or the log was pruned past it).
 */
export interface Delta {
  snapshot: string;
  usable: boolean;
  delta: number;
}

/**
 * The total under the delta's snapshot, or undefined when it must be counted again. A negative
 * result would mean the log and the count disagree; it is never trusted.
 */
export function advance(entry: CountedAt, d: Delta): CountedAt | undefined {
  if (!d.usable) return undefined;
  const total = entry.total + d.delta;
  if (!Number.isSafeInteger(total) || total < 0) return undefined;
  return { snapshot: d.snapshot, total };
}

/**
 * Exact page-mode totals for the filters the rollups cannot answer (search, amount bounds,
 * deleted rows), remembered per filter with the snapshot they are exact under. The repository
 * brings an entry forward with the change log's delta instead of counting again after every
 * write. Least recently used entries go first once `capacity` filters are kept.
 */
export class CountCache {
  private readonly entries = new Map<string, CountedAt>();

  constructor(private readonly capacity = 1000) {}

  get(key: string): CountedAt | undefined {
    return this.entries.get(key);
  }

  /** Keeps the entry as the most recently used; past the capacity, the least recently used goes. */
  remember(key: string, entry: CountedAt): number {
    this.entries.delete(key);
    this.entries.set(key, entry);
    // A Map iterates in insertion order, so the first key is the least recently used.
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return entry.total;
  }
}
