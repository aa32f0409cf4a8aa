import { startApp, stopProcess, type TestApp } from '../app';
import { waitFor } from '../waits';

jest.setTimeout(120_000);

describe('jobs: the PostgreSQL job queue', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(() => app?.stop());

  it('purges events past EVENT_RETENTION and expired idempotency keys through queued jobs', async () => {
    await app.sql.query(
      `INSERT INTO events (type, actor_id, owner_id, data, occurred_at)
       VALUES ('user.updated', NULL, NULL, '{"id":"old"}', now() - interval '31 days'),
              ('user.updated', NULL, NULL, '{"id":"recent"}', now() - interval '29 days')`,
    );
    const user = (await app.sql.query(`SELECT id FROM users LIMIT 1`)).rows[0].id as string;
    await app.sql.query(
      `INSERT INTO idempotency_keys (user_id, key, request_hash, created_at)
       VALUES ($1, 'expired-key', 'h', now() - interval '25 hours'), ($1, 'live-key', 'h', now())`,
      [user],
    );
    // Each instance queues both purges when it starts; a second one on the same database runs them.
    const second = await startApp({}, { databaseUrl: app.databaseUrl });
    try {
      await waitFor('the events purge', async () => {
        const r = await app.sql.query(
          `SELECT data->>'id' AS id FROM events WHERE data->>'id' IN ('old','recent')`,
        );
        return r.rows.length === 1;
      });
      const left = await app.sql.query(
        `SELECT data->>'id' AS id FROM events WHERE data->>'id' IN ('old','recent')`,
      );
      expect(left.rows).toEqual([{ id: 'recent' }]);
      await waitFor('the idempotency-key purge', async () => {
        const r = await app.sql.query(`SELECT key FROM idempotency_keys WHERE key LIKE '%-key'`);
        return r.rows.length === 1;
      });
      const keys = await app.sql.query(`SELECT key FROM idempotency_keys WHERE key LIKE '%-key'`);
      expect(keys.rows).toEqual([{ key: 'live-key' }]);
      const jobs = await app.sql.query(
        `SELECT name, state FROM pgboss.job WHERE name IN ('events-purge', 'idempotency-purge') AND state = 'completed'`,
      );
      expect(jobs.rows.length).toBeGreaterThanOrEqual(2);
    } finally {
      await second.stop();
    }
  });

  it('shuts down on SIGTERM with exit code 0 while its workers are idle', async () => {
    const third = await startApp({}, { databaseUrl: app.databaseUrl });
    expect(await stopProcess(third.child)).toBe(0);
    await third.stop();
  });
});
