import { startApp, stopProcess, type TestApp } from '../app';
import { bearer, createApiKey, loginAdmin } from '../factories';
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

  it('deletes API keys revoked or expired more than 30 days ago, on several instances at once, keeping their audit entries', async () => {
    const admin = await loginAdmin(app);
    // A key that wrote an audit entry, then was revoked 31 days ago: the entry keeps its id.
    const writer = await createApiKey(app, admin, ['transactions:write']);
    await app
      .http()
      .post('/api/v1/transactions')
      .set(bearer(writer))
      .send({ type: 'income', amount: '1.00', category: 'purge', date: '2026-01-02' })
      .expect(201);
    await app.http().delete(`/api/v1/api-keys/${writer.id}`).set(bearer(admin)).expect(204);
    await app.sql.query(
      `UPDATE api_keys SET revoked_at = now() - interval '31 days' WHERE id = $1`,
      [writer.id],
    );
    const ended = async (name: string, revoked: string | null, expires: string) =>
      (
        await app.sql.query<{ id: string }>(
          `INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes, expires_at, revoked_at)
           VALUES ($1, $2, 'fin_purge000', sha256(gen_random_uuid()::text::bytea), '{dashboard:read}',
                   now() + $3::interval, now() + $4::interval)
           RETURNING id`,
          [admin.id, name, expires, revoked],
        )
      ).rows[0].id;
    await ended('revoked 31 days ago', '-31 days', '30 days');
    await ended('expired 31 days ago', null, '-31 days');
    await ended('revoked 29 days ago', '-29 days', '30 days');
    await ended('expired 29 days ago', null, '-29 days');
    await ended('live', null, '30 days');
    const names = async () =>
      (
        await app.sql.query<{ name: string }>(
          `SELECT name FROM api_keys WHERE user_id = $1 AND (name LIKE '% ago' OR name = 'live' OR id = $2)
           ORDER BY name`,
          [admin.id, writer.id],
        )
      ).rows.map((r) => r.name);
    // Each instance queues the purge when it starts: two start together on the same database.
    const others = await Promise.all([
      startApp({}, { databaseUrl: app.databaseUrl }),
      startApp({}, { databaseUrl: app.databaseUrl }),
    ]);
    try {
      await waitFor('the API-key purge', async () => (await names()).length === 3);
      expect(await names()).toEqual(['expired 29 days ago', 'live', 'revoked 29 days ago']);
      const entries = await app.sql.query(
        `SELECT action FROM audit_logs WHERE api_key_id = $1 ORDER BY at`,
        [writer.id],
      );
      expect(entries.rows).toEqual([{ action: 'transaction.create' }]);
    } finally {
      await Promise.all(others.map((o) => o.stop()));
    }
  });

  it('shuts down on SIGTERM with exit code 0 while its workers are idle', async () => {
    const third = await startApp({}, { databaseUrl: app.databaseUrl });
    expect(await stopProcess(third.child)).toBe(0);
    await third.stop();
  });
});
