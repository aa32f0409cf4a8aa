export interface CountedAt {
  /** The owners' write version the count was taken at (see the search-and-versions migration). */
  version: string;
  total: number;
}

/**
 * Exact page-mode totals for the filters the rollups cannot answer (search, amount bounds,
 * deleted rows), remembered per filter with the write version they were counted at. A total is
 * reused only while that version is current, so paging through a search counts once, and any
 * committed write (by any instance) makes the next read count again. Least recently used entries
 * go first once `capacity` filters are kept.
 */
export class CountCache {
  private readonly entries = new Map<string, CountedAt>();

  constructor(private readonly capacity = 1000) {}

  /** The total remembered for `key` if it was counted at `version`. */
  current(key: string, version: string): number | undefined {
    const entry = this.entries.get(key);
    if (entry?.version !== version) return undefined;
    this.remember(key, entry);
    return entry.total;
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
