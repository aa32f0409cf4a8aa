import { Pool } from 'pg';
import { QueryFailedError } from 'typeorm';
import { poolReads } from '../../src/database/transaction';
import { query } from '../../src/database/sql';
import { createTestDatabase, type TestDatabase } from '../database';

/**
 * poolReads with `prepare`: each statement text is a named prepared statement on the connection
 * (what the dashboards' rollup reads use on the primary); without it nothing is prepared, which
 * is what a transaction-pooling PgBouncer needs (DATABASE_DIRECT_URL set).
 */
describe('poolReads: prepared reads', () => {
  let db: TestDatabase;
  let pool: Pool;

  /** The statements prepared on the pool's one connection. */
  const prepared = async () =>
    (
      await pool.query<{ name: string; statement: string }>(
        `SELECT name, statement FROM pg_prepared_statements ORDER BY prepare_time`,
      )
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 1 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });
  beforeEach(() => pool.query('DEALLOCATE ALL'));

  it('prepares each text once per connection and answers from it with any parameters', async () => {
    const reads = poolReads(pool, true);
    const text = 'SELECT $1::int + 1 AS n /* prepared-reads spec */';
    expect(await query(reads, text, [1])).toEqual([{ n: 2 }]);
    expect(await query(reads, text, [41])).toEqual([{ n: 42 }]);
    const other = 'SELECT $1::text AS s /* prepared-reads spec */';
    expect(await query(reads, other, ['x'])).toEqual([{ s: 'x' }]);

    const statements = await prepared();
    expect(statements.map((s) => s.statement)).toEqual([text, other]);
    expect(new Set(statements.map((s) => s.name)).size).toBe(2);
    expect(statements.every((s) => s.name.startsWith('read_'))).toBe(true);
  });

  it('prepares nothing without `prepare`', async () => {
    const reads = poolReads(pool, false);
    expect(await query(reads, 'SELECT $1::int * 2 AS n', [21])).toEqual([{ n: 42 }]);
    expect(await prepared()).toEqual([]);
  });

  it('reports a server error as TypeORM would, prepared or not', async () => {
    for (const prepare of [true, false]) {
      const error = await query(poolReads(pool, prepare), 'SELECT 1 / $1::int', [0]).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(QueryFailedError);
      expect((error as { driverError?: { code?: string } }).driverError?.code).toBe('22012');
    }
  });
});
