/**
 * Anything that runs SQL: the DataSource (the pool), an EntityManager inside a transaction, or a
 * checked-out pg client (a COPY's transaction).
 */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Runs parameterised SQL and returns the rows. TypeORM hands back `[rows, count]` for UPDATE and
 * DELETE but bare rows otherwise, and a pg client a result object; this evens that out so
 * RETURNING reads the same everywhere.
 */
export async function query<T>(db: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
  const result: unknown = await db.query(sql, params);
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  if (!Array.isArray(result) && Array.isArray((result as { rows?: unknown }).rows)) {
    return (result as { rows: T[] }).rows;
  }
  return result as T[];
}

/** Collects parameters while a statement is assembled: `p(value)` returns its `$n` placeholder. */
export class Params {
  readonly values: unknown[] = [];

  p(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}
