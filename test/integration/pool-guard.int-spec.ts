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
    // With one connection in the pool, this works only if the broken one was discarded.
    const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
  });
});
