import type { Pool } from 'pg';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, login, loginAdmin, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';
import { marker, tx } from '../reliability-helpers';
import { readUntil, sleep, waitFor } from '../waits';

/**
 * Concurrency far above the pool size (docs/api.md section 8): bursts of 50 simultaneous requests,
 * on one resource where that matters, against an instance with only two pooled connections.
 * Every burst gives only the statuses the contract names, has its effect exactly once, and is
 * answered by waiting, never by a timeout: the long pool and statement timeouts below make a
 * deadlock show up as a stalled burst rather than as a quick error.
 */

const N = 50;

/**
 * A bound on a stall, not a benchmark: a healthy burst takes well under a second, a deadlocked
 * one would wait for the 60 s statement timeout. Past this the burst counts as stalled.
 */
const STALL_MS = 10_000;

/** `promise`'s value, or undefined once `ms` have passed (no timer is left behind either way). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The multiset of statuses, e.g. `{ 200: 1, 401: 49 }`. */
const statusCounts = (responses: Response[]) =>
  responses.reduce<Record<number, number>>((counts, r) => {
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    return counts;
  }, {});

/** The statuses outside `allowed` (expected to be none: the list reads well in a failure). */
const statusesOutside = (responses: Response[], allowed: number[]) =>
  responses.map((r) => r.status).filter((s) => !allowed.includes(s));

const expectRetryAfter = (res: Response) => {
  expectProblem(res, 503);
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
};

/** Backends of this database other than the asking one: the app's, and this test's pool. */
const OTHER_BACKENDS = 'datname = current_database() AND pid <> pg_backend_pid()';

/**
 * Runs `fn` while the test's own connection holds a SHARE lock on transactions: the app's writes
 * to it (INSERT, COPY) wait, each holding its pooled connection, until `fn` has returned.
 */
async function whileTransactionsLocked<T>(sql: Pool, fn: () => Promise<T>): Promise<T> {
  const lock = await sql.connect();
  try {
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE transactions IN SHARE MODE');
    return await fn();
  } finally {
    await lock.query('ROLLBACK').catch(() => undefined);
    lock.release();
  }
}

describe('concurrency with DB_POOL_MAX=2', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp({
      DB_POOL_MAX: '2',
      DB_POOL_TIMEOUT_MS: '20000',
      DB_STATEMENT_TIMEOUT_MS: '60000',
    });
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  /**
   * Fires `fire(0..n-1)` at once and waits for every answer. A burst not answered within
   * STALL_MS fails; its requests are then unjammed so the next test starts on a working
   * instance. Any 5xx fails too, except the ones the contract names for the route.
   */
  async function burst(
    n: number,
    fire: (i: number) => PromiseLike<Response>,
    contractual5xx: number[] = [],
  ): Promise<Response[]> {
    const started = Date.now();
    const all = Promise.all(Array.from({ length: n }, (_, i) => fire(i)));
    const answered = await within(all, STALL_MS);
    if (answered === undefined) {
      // What the app's connections were doing at the stall names the deadlock (e.g. one idle in
      // transaction while the other waits for its lock: a request waiting for a second connection).
      const { rows } = await app.sql.query<{ state: string; n: number }>(
        `SELECT concat_ws(' / ', state, wait_event_type, wait_event) AS state, count(*)::int AS n
         FROM pg_stat_activity WHERE ${OTHER_BACKENDS} GROUP BY 1 ORDER BY 1`,
      );
      await unjam(all);
      throw new Error(
        `${n} concurrent requests were not all answered within ${STALL_MS} ms; the app's connections then: ${rows.map((r) => `${r.n} × ${r.state}`).join(', ')}`,
      );
    }
    expect(Date.now() - started).toBeLessThan(STALL_MS);
    const failed = answered.filter((r) => r.status >= 500 && !contractual5xx.includes(r.status));
    if (failed.length > 0) {
      throw new Error(
        `${failed.length} of ${n} answered with a 5xx (${failed.map((r) => r.status).join(', ')}), first: ${failed[0].text.slice(0, 300)}`,
      );
    }
    return answered;
  }

  /**
   * Ends a stall: terminates the other connections to the database (the app's pool, like this
   * test's, reconnects) until every request of the burst has been answered, failed or not.
   */
  async function unjam(all: Promise<unknown>): Promise<void> {
    let settled = false;
    all.then(
      () => (settled = true),
      () => (settled = true),
    );
    const deadline = Date.now() + 30_000;
    while (!settled && Date.now() < deadline) {
      await app.sql.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${OTHER_BACKENDS}`,
      );
      await sleep(200);
    }
  }

  const refresh = (refreshToken: string) =>
    app.http().post('/api/v1/auth/refresh').send({ refreshToken });
  const logout = (refreshToken: string) =>
    app.http().post('/api/v1/auth/logout').send({ refreshToken });
  const loginRequest = (email: string, password: string) =>
    app.http().post('/api/v1/auth/login').send({ email, password });

  const create = (body: object, key?: string) => {
    const req = app.http().post('/api/v1/transactions').set(bearer(admin));
    if (key !== undefined) req.set('Idempotency-Key', key);
    return req.send(body);
  };
  const createdId = async (notes: string) =>
    (await create(tx({ notes })).expect(201)).body.id as string;

  const rowsWithNotes = async (notes: string) =>
    (
      await app.sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM transactions WHERE notes = $1',
        [notes],
      )
    ).rows[0].n;
  const storedTx = async (id: string) =>
    (
      await app.sql.query<{ amount: string; deleted: boolean }>(
        'SELECT amount::text AS amount, deleted_at IS NOT NULL AS deleted FROM transactions WHERE id = $1',
        [id],
      )
    ).rows[0];

  /** Audit entries of `action` about `entityId`, read through the API as the admin. */
  const auditEntries = async (action: string, entityId: string) =>
    (
      await app
        .http()
        .get(`/api/v1/audit-logs?action=${action}&entityId=${entityId}&limit=100`)
        .set(bearer(admin))
        .expect(200)
    ).body.data as unknown[];

  describe('auth', () => {
    it('lets exactly one of 50 concurrent refreshes of one token win; the rest get 401, the family is revoked and the reuse is audited once', async () => {
      const user = await createUser(app, admin, 'analyst');

      const results = await burst(N, () => refresh(user.refreshToken));

      expect(statusCounts(results)).toEqual({ 200: 1, 401: N - 1 });
      results.filter((r) => r.status === 401).forEach((r) => expectProblem(r, 401));
      expect(await auditEntries('auth.refresh_reuse', user.id)).toHaveLength(1);
      // Presenting the used token revoked the whole family, the winner's new token included.
      const winner = results.find((r) => r.status === 200)!;
      expectProblem(await refresh(winner.body.refreshToken as string), 401);
    });

    it('answers 50 concurrent logins of one user with 50 × 200 and 50 distinct refresh tokens, each working once', async () => {
      const user = await createUser(app, admin, 'viewer');

      const results = await burst(N, () => loginRequest(user.email, user.password));

      expect(statusCounts(results)).toEqual({ 200: N });
      const tokens = results.map((r) => r.body.refreshToken as string);
      expect(new Set(tokens).size).toBe(N);
      await app
        .http()
        .get('/api/v1/auth/me')
        .set({ Authorization: `Bearer ${results[N - 1].body.accessToken}` })
        .expect(200);
      for (const token of [tokens[0], tokens[N / 2], tokens[N - 1]]) {
        await refresh(token).expect(200);
        expectProblem(await refresh(token), 401);
      }
    });

    it('answers 50 concurrent logouts with one refresh token with 204 each, and revokes that family only', async () => {
      const user = await createUser(app, admin, 'viewer');
      const rotated = (await refresh(user.refreshToken).expect(200)).body.refreshToken as string;
      const otherSession = await login(app, user.email, user.password);

      const results = await burst(N, () => logout(rotated));

      expect(statusCounts(results)).toEqual({ 204: N });
      expectProblem(await refresh(rotated), 401);
      await refresh(otherSession.refreshToken).expect(200);
    });

    it('lets exactly one of 50 concurrent password changes with the same current password win; the rest get 400 on currentPassword', async () => {
      const user = await createUser(app, admin, 'analyst');
      const candidates = Array.from({ length: N }, (_, i) => `new-pw-${i}-${marker('x')}`);

      const results = await burst(N, (i) =>
        app
          .http()
          .post('/api/v1/auth/password')
          .set(bearer(user))
          .send({ currentPassword: user.password, newPassword: candidates[i] }),
      );

      expect(statusCounts(results)).toEqual({ 204: 1, 400: N - 1 });
      for (const res of results.filter((r) => r.status === 400)) {
        expectProblem(res, 400);
        expect(fieldsOf(res)).toContain('currentPassword');
      }
      const winner = candidates[results.findIndex((r) => r.status === 204)];
      const tried = [user.password, ...candidates];
      const logins = await Promise.all(tried.map((pw) => loginRequest(user.email, pw)));
      expect(tried.filter((_, i) => logins[i].status === 200)).toEqual([winner]);
    });
  });

  describe('users', () => {
    it('lets exactly one of 50 concurrent PATCHes of a user with the same If-Match win; the rest get 412', async () => {
      const user = await createUser(app, admin, 'viewer');
      const tag = (await app.http().get(`/api/v1/users/${user.id}`).set(bearer(admin)).expect(200))
        .headers.etag;
      expect(tag).toMatch(/^"[^"]+"$/);

      const results = await burst(N, (i) =>
        app
          .http()
          .patch(`/api/v1/users/${user.id}`)
          .set(bearer(admin))
          .set('If-Match', tag)
          .send({ name: `Concurrent writer ${i}` }),
      );

      expect(statusCounts(results)).toEqual({ 200: 1, 412: N - 1 });
      results.filter((r) => r.status === 412).forEach((r) => expectProblem(r, 412));
      const winner = results.find((r) => r.status === 200)!;
      const { rows } = await app.sql.query('SELECT name FROM users WHERE id = $1', [user.id]);
      expect(rows[0].name).toBe(winner.body.name);
      expect(await auditEntries('user.update', user.id)).toHaveLength(1);
    });

    it('lets two admins edit each other at the same moment, 25 times over, without a deadlock', async () => {
      // Each PATCH locks its target and then writes an audit entry referencing its actor: the
      // other admin, whose row the other PATCH has locked.
      const other = await createUser(app, admin, 'admin');
      const results = await burst(N, (i) =>
        i % 2 === 0
          ? app
              .http()
              .patch(`/api/v1/users/${other.id}`)
              .set(bearer(admin))
              .send({ name: `Edited by the first ${i}` })
          : app
              .http()
              .patch(`/api/v1/users/${admin.id}`)
              .set(bearer(other))
              .send({ name: `Edited by the second ${i}` }),
      );
      expect(statusCounts(results)).toEqual({ 200: N });
    });
  });

  describe('transactions', () => {
    it('creates exactly 50 rows for 50 concurrent creates with distinct bodies', async () => {
      const notes = marker('create-burst');

      const results = await burst(N, (i) =>
        create(tx({ type: i % 2 ? 'expense' : 'income', amount: `${i + 1}.${i % 10}5`, notes })),
      );

      expect(statusCounts(results)).toEqual({ 201: N });
      expect(new Set(results.map((r) => r.body.id)).size).toBe(N);
      expect(await rowsWithNotes(notes)).toBe(N);
    });

    it('lets exactly one of 50 concurrent PATCHes with the same If-Match win; the rest get 412', async () => {
      const id = await createdId(marker('patch-burst'));
      const tag = (
        await app.http().get(`/api/v1/transactions/${id}`).set(bearer(admin)).expect(200)
      ).headers.etag;

      const results = await burst(N, (i) =>
        app
          .http()
          .patch(`/api/v1/transactions/${id}`)
          .set(bearer(admin))
          .set('If-Match', tag)
          .send({ amount: `${100 + i}.00` }),
      );

      expect(statusCounts(results)).toEqual({ 200: 1, 412: N - 1 });
      results.filter((r) => r.status === 412).forEach((r) => expectProblem(r, 412));
      const winner = results.find((r) => r.status === 200)!;
      expect((await storedTx(id)).amount).toBe(winner.body.amount);
      expect(await auditEntries('transaction.update', id)).toHaveLength(1);
    });

    it('deletes once for 50 concurrent DELETEs of one row; the rest get 404', async () => {
      const id = await createdId(marker('delete-burst'));

      const results = await burst(N, () =>
        app.http().delete(`/api/v1/transactions/${id}`).set(bearer(admin)),
      );

      expect(statusCounts(results)).toEqual({ 204: 1, 404: N - 1 });
      results.filter((r) => r.status === 404).forEach((r) => expectProblem(r, 404));
      expect((await storedTx(id)).deleted).toBe(true);
      expect(await auditEntries('transaction.delete', id)).toHaveLength(1);
    });

    it('restores once for 50 concurrent restores of one deleted row; the rest get 409', async () => {
      const id = await createdId(marker('restore-burst'));
      await app.http().delete(`/api/v1/transactions/${id}`).set(bearer(admin)).expect(204);

      const results = await burst(N, () =>
        app.http().post(`/api/v1/transactions/${id}/restore`).set(bearer(admin)),
      );

      expect(statusCounts(results)).toEqual({ 200: 1, 409: N - 1 });
      results.filter((r) => r.status === 409).forEach((r) => expectProblem(r, 409));
      expect((await storedTx(id)).deleted).toBe(false);
      expect(await auditEntries('transaction.restore', id)).toHaveLength(1);
    });

    it('writes one row for 50 concurrent creates with one Idempotency-Key; the rest replay it or get 409', async () => {
      const key = marker('burst-key');
      const notes = marker('idempotent-burst');
      const body = tx({ type: 'income', amount: '77.70', notes });

      const results = await burst(N, () => create(body, key));

      expect(statusesOutside(results, [201, 409])).toEqual([]);
      results.filter((r) => r.status === 409).forEach((r) => expectProblem(r, 409));
      const created = results.filter((r) => r.status === 201);
      expect(created.length).toBeGreaterThanOrEqual(1);
      expect(created.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
      const ids = new Set(created.map((r) => r.body.id as string));
      expect(ids.size).toBe(1);
      expect(await rowsWithNotes(notes)).toBe(1);

      const replay = await create(body, key).expect(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body.id).toBe([...ids][0]);
    });
  });

  describe('imports', () => {
    const ROWS = 5;
    const csvWith = (notes: string) =>
      `date,type,amount,category,notes\n${Array.from(
        { length: ROWS },
        (_, i) =>
          `2026-03-0${i + 1},${i % 2 ? 'income' : 'expense'},${i + 3}.40,Imported,${notes}\n`,
      ).join('')}`;
    const importCsv = (csv: string, key?: string) => {
      const req = app
        .http()
        .post('/api/v1/transactions/import')
        .set(bearer(admin))
        .set('Content-Type', 'text/csv');
      if (key !== undefined) req.set('Idempotency-Key', key);
      return req.send(csv);
    };
    const imported = { imported: ROWS, skipped: 0, errors: [] };

    it('imports each of 50 concurrent imports fully or answers 503 with Retry-After, nothing in between', async () => {
      const notes = marker('import-burst');

      const results = await burst(N, () => importCsv(csvWith(notes)), [503]);

      expect(statusesOutside(results, [201, 503])).toEqual([]);
      const created = results.filter((r) => r.status === 201);
      expect(created.length).toBeGreaterThanOrEqual(1);
      created.forEach((r) => expect(r.body).toEqual(imported));
      results.filter((r) => r.status === 503).forEach(expectRetryAfter);
      expect(await rowsWithNotes(notes)).toBe(created.length * ROWS);
    });

    it('answers imports beyond the cap with 503 and Retry-After at once while one import is writing', async () => {
      const notes = marker('import-cap');
      // The first import's COPY waits for the table lock, so it is writing for as long as the
      // lock is held. With two pooled connections at most one import may write at once, so the
      // others must be refused right away, not queued behind it.
      let answered = 0;
      const { all, answeredWhileWriting } = await whileTransactionsLocked(app.sql, async () => {
        const all = burst(
          N,
          () =>
            importCsv(csvWith(notes)).then((r) => {
              answered++;
              return r;
            }),
          [503],
        );
        all.catch(() => undefined); // awaited below, once the lock is gone
        await readUntil(
          () => answered,
          (n) => n >= N - 1,
          { ms: 5_000, every: 50 },
        );
        return { all, answeredWhileWriting: answered };
      });
      const results = await all;

      expect(statusCounts(results)).toEqual({ 201: 1, 503: N - 1 });
      expect(answeredWhileWriting).toBe(N - 1);
      results.filter((r) => r.status === 503).forEach(expectRetryAfter);
      expect(results.find((r) => r.status === 201)!.body).toEqual(imported);
      expect(await rowsWithNotes(notes)).toBe(ROWS);
    });

    it('imports once for 50 concurrent imports with one Idempotency-Key; the rest replay, get 409 or 503', async () => {
      const key = marker('import-key');
      const notes = marker('import-idempotent');
      const csv = csvWith(notes);

      const results = await burst(N, () => importCsv(csv, key), [503]);

      expect(statusesOutside(results, [201, 409, 503])).toEqual([]);
      results.filter((r) => r.status === 201).forEach((r) => expect(r.body).toEqual(imported));
      results.filter((r) => r.status === 409).forEach((r) => expectProblem(r, 409));
      results.filter((r) => r.status === 503).forEach(expectRetryAfter);
      expect(await rowsWithNotes(notes)).toBe(ROWS);

      const replay = await importCsv(csv, key).expect(201);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toEqual(imported);
    });
  });

  // Runs last: it checks the sum of everything the bursts above wrote.
  describe('afterwards', () => {
    it('reports dashboard totals equal to the sums over the live rows after the bursts', async () => {
      // Every row is in USD, the base currency and so the default reporting currency: the
      // totals are the plain sums, and byCurrency holds them once more under USD.
      const totals = `coalesce(sum(amount) FILTER (WHERE type = 'income'), 0)::numeric(16,2)::text AS "totalIncome",
             coalesce(sum(amount) FILTER (WHERE type = 'expense'), 0)::numeric(16,2)::text AS "totalExpenses",
             (coalesce(sum(amount) FILTER (WHERE type = 'income'), 0)
              - coalesce(sum(amount) FILTER (WHERE type = 'expense'), 0))::numeric(16,2)::text AS "netBalance",
             count(*)::int AS "transactionCount"`;
      const { rows } = await app.sql.query(`
      SELECT 'USD' AS currency, ${totals} FROM transactions WHERE deleted_at IS NULL`);
      expect(rows[0].transactionCount).toBeGreaterThan(N);
      const { rows: byCurrency } = await app.sql.query(`
      SELECT currency::text AS currency, ${totals} FROM transactions WHERE deleted_at IS NULL
      GROUP BY currency ORDER BY currency`);

      const summary = await app
        .http()
        .get('/api/v1/dashboard/summary')
        .set(bearer(admin))
        .expect(200);

      expect(summary.body).toEqual({ ...rows[0], byCurrency });
    });
  });
});

describe('waiting for a pooled connection (DB_POOL_MAX=1, DB_POOL_TIMEOUT_MS=500)', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp({ DB_POOL_MAX: '1', DB_POOL_TIMEOUT_MS: '500' });
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  const create = (body: object) =>
    app.http().post('/api/v1/transactions').set(bearer(admin)).send(body);
  const insertWaits = async () =>
    (
      await app.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${OTHER_BACKENDS} AND wait_event_type = 'Lock'`,
      )
    ).rows[0].n > 0;

  it('answers a request that cannot get a connection within DB_POOL_TIMEOUT_MS with 503 and Retry-After, and keeps serving', async () => {
    const list = () => app.http().get('/api/v1/transactions').set(bearer(admin));
    const { posting, waiting, early, elapsed } = await whileTransactionsLocked(
      app.sql,
      async () => {
        // This INSERT waits for the lock holding the pool's only connection.
        const posting = create(tx({ notes: 'held the only connection' })).then((r) => r);
        await waitFor('the INSERT to wait for the lock', insertWaits, { ms: 5_000, every: 20 });
        const started = Date.now();
        const waiting = list().then((r) => r);
        // Far past DB_POOL_TIMEOUT_MS: a request unanswered by then waits without a bound.
        const early = await within(waiting, 3_000);
        return { posting, waiting, early, elapsed: Date.now() - started };
      },
    );

    if (early === undefined) {
      await waiting;
      throw new Error('a request waiting for the busy pool was still unanswered after 3000 ms');
    }
    expectRetryAfter(early);
    // It waited for a connection (DB_POOL_TIMEOUT_MS = 500) before giving up, not much longer.
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(2_000);
    expect((await posting).status).toBe(201);
    await list().expect(200);
  });
});
