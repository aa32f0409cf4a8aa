import { Client, Pool } from 'pg';
import { guardPool, withClient } from '../../src/database/transaction';
import { createTestDatabase, type TestDatabase } from '../database';
import { waitFor } from '../waits';

/**
 * A connection the app holds between statements (a COPY's or an export's transaction) whose
 * session is ended from outside (a failover, pg_terminate_backend) must fail its next statement,
 * not the process: pg-pool stops listening to a client's errors while it is checked out.
 */
describe('guardPool: a checked-out connection lost between statements', () => {
  let db: TestDatabase;
  let pool: Pool;
  let admin: Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = new Pool({ connectionString: db.url, max: 1 });
    pool.on('error', () => undefined);
    guardPool(pool);
    admin = new Client({ connectionString: db.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await pool?.end();
    await db?.drop();
  });

  it('fails the next statement with a connection error, and the pool goes on on a new connection', async () => {
    const outcome = await withClient(pool, async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pid = rows[0].pid;
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await waitFor(
        'the session to end',
        async () =>
          (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount ===
          0,
      );
      return client.query('SELECT 1').then(
        () => 'answered',
        (error: Error) => error.message,
      );
    });
    expect(outcome).toMatch(/connection|terminat/i);
    // Discarded at its release (withClient's `release(false)` included), not left idle in the pool.
    expect(pool.totalCount).toBe(0);
    // With one connection in the pool, this works only if the broken one was discarded.
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
  });

  // 25006 on a healthy connection: what a standby answers a write until a failover reaches it.
  it('discards a client that met a read-only server even when the work itself went on', async () => {
    const pid = await withClient(pool, async (client) => {
      await client.query('BEGIN READ ONLY');
      const refused = await client
        .query('CREATE TABLE t (x int)')
        .catch((e: { code?: string }) => e);
      expect(refused).toMatchObject({ code: '25006' });
      await client.query('ROLLBACK');
      return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    });
    expect(pool.totalCount).toBe(0);
    const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(rows[0].pid).not.toBe(pid);
  });
});
