import type { DataSource, EntityManager } from 'typeorm';

/**
 * Runs parameterised SQL and returns the rows. TypeORM hands back `[rows, count]` for UPDATE and
 * DELETE but bare rows otherwise; this evens that out so RETURNING reads the same everywhere.
 */
export async function query<T>(
  db: DataSource | EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const result: unknown = await db.query(sql, params);
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
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
