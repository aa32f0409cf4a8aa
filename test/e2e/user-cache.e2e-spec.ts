import { startApp, type TestApp } from '../app';
import { bearer, createUser, deactivate, loginAdmin, type TestUser } from '../factories';
import { readUntil, sleep, waitFor } from '../waits';

/**
 * The per-request user check is answered from an in-process cache (users/user-cache.ts) that a
 * NOTIFY from a trigger on `users` invalidates on every instance. Deactivation and role changes
 * must still apply at once on the instance that made them and within a bounded time on the
 * others, whoever makes the change; a lost listening connection must never leave a stale user.
 */

/** How long another instance may take to hear of a change (NOTIFY is delivered on commit). */
const PROPAGATION_MS = 2_000;

describe('user cache across two instances', () => {
  let a: TestApp;
  let b: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    a = await startApp();
    b = await startApp({}, { databaseUrl: a.databaseUrl });
    admin = await loginAdmin(a);
  });
  afterAll(async () => {
    await b.stop();
    await a.stop();
  });

  const status = async (app: TestApp, user: TestUser, path: string) =>
    (await app.http().get(path).set(bearer(user))).status;

  /** Polls until `path` answers `expected` for `user` on `app`; returns how long that took. */
  async function timeUntil(
    app: TestApp,
    user: TestUser,
    path: string,
    expected: number,
  ): Promise<number> {
    const started = Date.now();
    await waitFor(
      `${path} to answer ${expected} on this instance`,
      async () => (await status(app, user, path)) === expected,
      { ms: 10_000, every: 20 },
    );
    return Date.now() - started;
  }

  it('refuses a deactivated user on the very next request where it was deactivated, and soon on the other instance', async () => {
    const user = await createUser(a, admin, 'analyst');
    // Both instances have seen (and cached) the active user.
    expect(await status(a, user, '/api/v1/auth/me')).toBe(200);
    expect(await status(b, user, '/api/v1/auth/me')).toBe(200);

    await deactivate(a, admin, user);
    expect(await status(a, user, '/api/v1/auth/me')).toBe(401);
    expect(await timeUntil(b, user, '/api/v1/auth/me', 401)).toBeLessThan(PROPAGATION_MS);
  });

  it('applies a role change made with plain SQL on every instance within the bound', async () => {
    const user = await createUser(a, admin, 'analyst');
    expect(await status(a, user, '/api/v1/dashboard/categories')).toBe(200);
    expect(await status(b, user, '/api/v1/dashboard/categories')).toBe(200);

    await a.sql.query(`UPDATE users SET role = 'viewer' WHERE id = $1`, [user.id]);
    expect(await timeUntil(a, user, '/api/v1/dashboard/categories', 403)).toBeLessThan(
      PROPAGATION_MS,
    );
    expect(await timeUntil(b, user, '/api/v1/dashboard/categories', 403)).toBeLessThan(
      PROPAGATION_MS,
    );
  });

  it('answers from the cache: a change that bypasses the trigger stays unseen while the entry is fresh', async () => {
    const user = await createUser(a, admin, 'analyst');
    expect(await status(b, user, '/api/v1/dashboard/categories')).toBe(200);
    const client = await a.sql.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE users DISABLE TRIGGER users_notify_change');
      await client.query(`UPDATE users SET role = 'viewer' WHERE id = $1`, [user.id]);
      await client.query('ALTER TABLE users ENABLE TRIGGER users_notify_change');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await sleep(300);
    expect(await status(b, user, '/api/v1/dashboard/categories')).toBe(200);
    // Any announced change to the user (here a no-op update) brings the real row back.
    await a.sql.query('UPDATE users SET name = name WHERE id = $1', [user.id]);
    expect(await timeUntil(b, user, '/api/v1/dashboard/categories', 403)).toBeLessThan(
      PROPAGATION_MS,
    );
  });

  it('never serves a user cached before its listening connection was lost', async () => {
    const user = await createUser(a, admin, 'analyst');
    expect(await status(b, user, '/api/v1/auth/me')).toBe(200);
    const listeners = async () =>
      (
        await a.sql.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'finance-api-listener'`,
        )
      ).rows.map((r) => r.pid);
    const before = await listeners();
    expect(before).toHaveLength(2);

    // Cut every listener, then change the user at once: that NOTIFY reaches nobody.
    await a.sql.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid', [before]);
    await a.sql.query('UPDATE users SET is_active = false WHERE id = $1', [user.id]);

    // Both listeners come back on new connections, and the user is refused: the cache was off
    // while they were down and was emptied when they came back.
    const after = await readUntil(
      listeners,
      (pids) => pids.filter((pid) => !before.includes(pid)).length >= 2,
      { ms: 10_000 },
    );
    expect(after.filter((pid) => !before.includes(pid))).toHaveLength(2);
    expect(await status(a, user, '/api/v1/auth/me')).toBe(401);
    expect(await status(b, user, '/api/v1/auth/me')).toBe(401);
  });
});
