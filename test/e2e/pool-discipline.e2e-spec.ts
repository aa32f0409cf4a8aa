import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import type { Pool } from 'pg';
import { startApp, stopProcess, type TestApp } from '../app';
import { bearer, createUser, login, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { marker, tx } from '../reliability-helpers';
import { type Patience, readUntil, sleep, waitFor } from '../waits';

/**
 * The rules that keep one request from holding a pooled connection while it waits for another
 * (docs/api.md section 8), checked where they would break first: an instance with ONE connection.
 * There, any code path that asks the pool for a second connection inside a transaction either
 * trips the pool guard (a 500) or waits for itself until DB_POOL_TIMEOUT_MS (a 503); so every
 * write path answering its contract status below proves it does all its work on one connection.
 */

const csv = (notes: string, rows = 3) =>
  `date,type,amount,category,notes\n${Array.from({ length: rows }, (_, i) => `2026-03-0${i + 1},expense,1.0${i},Import,${notes}`).join('\n')}\n`;

/** How the waits below poll: a try that fails (e.g. on a connection being killed) is "not yet". */
const PATIENCE: Patience = { ms: 15_000, every: 50, tolerateErrors: true };

const rowsWithNotes = async (sql: Pool, notes: string) =>
  (
    await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM transactions WHERE notes = $1', [
      notes,
    ])
  ).rows[0].n;

/** The app's backends that are inside a transaction (waiting on a lock, copying, or idle in one). */
const openTransactions = async (sql: Pool) =>
  (
    await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
         AND application_name = 'finance-api'`,
    )
  ).rows[0].n;

describe('one pooled connection (DB_POOL_MAX=1)', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    // A short pool wait turns a request waiting for itself into a quick 503 instead of a hang.
    app = await startApp({ DB_POOL_MAX: '1', DB_POOL_TIMEOUT_MS: '3000' });
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  const as = (user: TestUser) => ({
    get: (path: string) => app.http().get(path).set(bearer(user)),
    post: (path: string) => app.http().post(path).set(bearer(user)),
    patch: (path: string) => app.http().patch(path).set(bearer(user)),
    del: (path: string) => app.http().delete(path).set(bearer(user)),
  });

  it('answers every auth write with its contract status', async () => {
    const user = await createUser(app, admin, 'viewer');
    const first = await login(app, user.email, user.password);
    const rotated = await app
      .http()
      .post('/api/v1/auth/refresh')
      .send({ refreshToken: first.refreshToken })
      .expect(200);
    // Reuse: revokes the family and writes the audit entry, all in the refresh's transaction.
    expectProblem(
      await app.http().post('/api/v1/auth/refresh').send({ refreshToken: first.refreshToken }),
      401,
    );
    expectProblem(
      await app
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: rotated.body.refreshToken }),
      401,
    );
    const again = await login(app, user.email, user.password);
    await app
      .http()
      .post('/api/v1/auth/logout')
      .send({ refreshToken: again.refreshToken })
      .expect(204);
    await as({ ...user, token: again.accessToken })
      .post('/api/v1/auth/password')
      .send({ currentPassword: user.password, newPassword: 'a-new-password-1' })
      .expect(204);
    expectProblem(
      await as({ ...user, token: again.accessToken })
        .post('/api/v1/auth/password')
        .send({ currentPassword: user.password, newPassword: 'another-password-2' }),
      400,
    );
    expectProblem(
      await app
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: 'wrong-one' }),
      401,
    );
  });

  it('answers every user write with its contract status', async () => {
    const user = await createUser(app, admin, 'analyst');
    const path = `/api/v1/users/${user.id}`;
    const read = await as(admin).get(path).expect(200);
    await as(admin)
      .patch(path)
      .set('If-Match', read.headers.etag)
      .send({ name: 'Renamed' })
      .expect(200);
    expectProblem(
      await as(admin).patch(path).set('If-Match', read.headers.etag).send({ name: 'Stale' }),
      412,
    );
    await as(admin)
      .patch(path)
      .send({ role: 'viewer', password: 'changed-password-1' })
      .expect(200);
    await as(admin).patch(path).send({ isActive: false }).expect(200);
    expectProblem(await as(admin).patch(`/api/v1/users/${admin.id}`).send({ role: 'viewer' }), 409);
    expectProblem(
      await as(admin)
        .post('/api/v1/users')
        .send({ name: 'Twin', email: user.email, password: 'password-123', role: 'viewer' }),
      409,
    );
  });

  it('answers every transaction write with its contract status', async () => {
    const notes = marker('one-connection');
    const created = await as(admin).post('/api/v1/transactions').send(tx({ notes })).expect(201);
    const path = `/api/v1/transactions/${created.body.id as string}`;
    const key = marker('key');
    const keyed = await as(admin)
      .post('/api/v1/transactions')
      .set('Idempotency-Key', key)
      .send(tx({ notes }))
      .expect(201);
    const replay = await as(admin)
      .post('/api/v1/transactions')
      .set('Idempotency-Key', key)
      .send(tx({ notes }))
      .expect(201);
    expect(replay.body.id).toBe(keyed.body.id);
    await as(admin)
      .patch(path)
      .set('If-Match', created.headers.etag)
      .send({ amount: '11.00' })
      .expect(200);
    expectProblem(
      await as(admin).patch(path).set('If-Match', created.headers.etag).send({ amount: '12.00' }),
      412,
    );
    await as(admin).del(path).expect(204);
    expectProblem(await as(admin).del(path), 404);
    await as(admin).post(`${path}/restore`).expect(200);
    // The 409 of restoring a live row is decided by a second query inside the restore's transaction.
    expectProblem(await as(admin).post(`${path}/restore`), 409);
    expect(await rowsWithNotes(app.sql, notes)).toBe(2);
  });

  it('imports, replays a keyed import and exports on one connection', async () => {
    const notes = marker('one-connection-import');
    const key = marker('import-key');
    const send = () =>
      as(admin)
        .post('/api/v1/transactions/import')
        .set('Content-Type', 'text/csv')
        .set('Idempotency-Key', key)
        .send(csv(notes));
    expect((await send().expect(201)).body).toEqual({ imported: 3, skipped: 0, errors: [] });
    const replay = await send().expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    await as(admin)
      .post('/api/v1/transactions/import?mode=partial')
      .set('Content-Type', 'text/csv')
      .send(`${csv(notes, 1)}not-a-date,expense,1.00,Import,${notes}\n`)
      .expect(201);
    expect(await rowsWithNotes(app.sql, notes)).toBe(4);
    const exported = await as(admin).get('/api/v1/transactions/export').expect(200);
    expect(exported.text.split(notes).length - 1).toBe(4);
    await as(admin).get('/api/v1/dashboard').expect(200);
  });
});

describe('stalled uploads and downloads (CSV_IDLE_TIMEOUT_MS=1000, DB_POOL_MAX=1)', () => {
  let app: TestApp;
  let analyst: TestUser;

  beforeAll(async () => {
    app = await startApp({ DB_POOL_MAX: '1', CSV_IDLE_TIMEOUT_MS: '1000' });
    analyst = await createUser(app, await loginAdmin(app), 'analyst');
  });
  afterAll(() => app.stop());

  it('holds no connection while it stalls, and is cut off with a 408 that closes the connection', async () => {
    const notes = marker('stalled');
    const spools = () => readdirSync(tmpdir()).filter((f) => f.startsWith('finance-import-'));
    const before = new Set(spools());
    const socket = connect(Number(new URL(app.url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('connect', r));
    const started = Date.now();
    socket.write(
      `POST /api/v1/transactions/import HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${analyst.token}\r\n` +
        `Content-Type: text/csv\r\nContent-Length: 100000\r\n\r\n${csv(notes, 5)}`,
    );
    // While the upload stalls, the only pooled connection serves everyone else at once.
    await sleep(200);
    await app.http().get('/api/v1/transactions').set(bearer(analyst)).expect(200);
    // Still within the stall: a moment with no open transaction at all. (A single background
    // statement, such as the job queue's poll, shows as open for the instant it runs; an upload
    // holding a connection would keep the count above 0 for the whole stall.)
    const open = await readUntil(() => openTransactions(app.sql), (n) => n === 0, {
      ms: 400,
      every: 20,
    });
    expect(open).toBe(0);

    await closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toMatch(/content-type: application\/problem\+json/i);
    expect(answer).toMatch(/connection: close/i);
    expect(await rowsWithNotes(app.sql, notes)).toBe(0);
    await waitFor(
      'the spool file to be removed',
      () => spools().every((f) => before.has(f)),
      PATIENCE,
    );
  });

  /** Opens a raw connection, sends `head` and then nothing; resolves with what came back. */
  async function stall(head: string) {
    const socket = connect(Number(new URL(app.url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise((r) => socket.once('connect', r));
    socket.write(head);
    return { socket, closed, answer: () => answer };
  }

  it('cuts off a multipart upload that stalls before its file part with a 408, and frees its Idempotency-Key', async () => {
    const key = marker('multipart-stall');
    const upload = await stall(
      `POST /api/v1/transactions/import HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${analyst.token}\r\n` +
        `Idempotency-Key: ${key}\r\nContent-Type: multipart/form-data; boundary=zzz\r\nContent-Length: 100000\r\n\r\n--zzz\r\n`,
    );
    await upload.closed;
    expect(upload.answer()).toMatch(/^HTTP\/1\.1 408 /);
    // The claim was released with the failed request: the retry imports at once.
    const notes = marker('after-stall');
    const retry = await app
      .http()
      .post('/api/v1/transactions/import')
      .set(bearer(analyst))
      .set('Idempotency-Key', key)
      .set('Content-Type', 'text/csv')
      .send(csv(notes));
    expect(retry.status).toBe(201);
    expect(await rowsWithNotes(app.sql, notes)).toBe(3);
  });

  it('cuts off an export the client stops reading, refusing a second export meanwhile, and frees its connection', async () => {
    // Far more than the sockets' buffers hold (about 30 MB of CSV).
    await app.sql.query(
      `INSERT INTO transactions (owner_id, type, amount, currency, category, date, notes)
       SELECT $1, 'expense', 1.00, 'USD', 'Bulk', DATE '2026-01-01' + (i % 300), repeat('x', 120)
       FROM generate_series(1, 150000) i`,
      [analyst.id],
    );
    // The analyst is in the user cache, so the second export below needs no connection to be
    // authenticated (the only one is the stalled export's).
    await app.http().get('/api/v1/auth/me').set(bearer(analyst)).expect(200);
    const download = await stall(
      `GET /api/v1/transactions/export HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${analyst.token}\r\n\r\n`,
    );
    download.socket.pause();
    await waitFor(
      'the export to start',
      async () => (await openTransactions(app.sql)) > 0,
      PATIENCE,
    );
    const second = await app.http().get('/api/v1/transactions/export').set(bearer(analyst));
    expectProblem(second, 503);
    expect(second.headers['retry-after']).toMatch(/^\d+$/);
    await waitFor(
      'the stalled export to be cut off',
      async () => (await openTransactions(app.sql)) === 0,
      PATIENCE,
    );
    await app.http().get('/api/v1/transactions?limit=1').set(bearer(analyst)).expect(200);
    // What the client gets once it reads again is a cut-off response: no final chunk.
    download.socket.resume();
    await download.closed;
    expect(download.answer()).toMatch(/^HTTP\/1\.1 200 /);
    expect(download.answer().endsWith('0\r\n\r\n')).toBe(false);
    await app.sql.query(`DELETE FROM transactions WHERE category = 'Bulk'`);
  }, 90_000);
});

describe('a spool directory that cannot be written (TMPDIR missing)', () => {
  let app: TestApp;
  let analyst: TestUser;

  beforeAll(async () => {
    app = await startApp({ TMPDIR: `/nonexistent-${randomBytes(4).toString('hex')}` });
    analyst = await createUser(app, await loginAdmin(app), 'analyst');
  });
  afterAll(() => app.stop());

  it('answers an import with 503 and Retry-After and keeps serving', async () => {
    const notes = marker('no-spool');
    const res = await app
      .http()
      .post('/api/v1/transactions/import')
      .set(bearer(analyst))
      .set('Content-Type', 'text/csv')
      .send(csv(notes));
    expectProblem(res, 503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    await app.http().get('/health/live').expect(200);
    await app.http().get('/api/v1/transactions?limit=1').set(bearer(analyst)).expect(200);
    expect(await rowsWithNotes(app.sql, notes)).toBe(0);
  });
});

describe('an Idempotency-Key whose request died (IDEMPOTENCY_LEASE)', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  it('answers 409 until the lease passes, then lets a retry take the claim over and write exactly once', async () => {
    // A second instance on the same database: the one that is killed mid-request.
    const doomed = await startApp({}, { databaseUrl: app.databaseUrl });
    const notes = marker('lease');
    const key = marker('lease-key');
    const body = tx({ notes });
    const lock = await app.sql.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE transactions IN SHARE MODE');
      const inFlight = doomed
        .http()
        .post('/api/v1/transactions')
        .set(bearer(admin))
        .set('Idempotency-Key', key)
        .send(body)
        .then(
          () => undefined,
          () => undefined,
        );
      // The request has claimed the key and its INSERT waits for the lock: kill the instance.
      await waitFor(
        'the INSERT to wait for its lock',
        async () => {
          const { rows } = await app.sql.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%INSERT INTO transactions%'`,
          );
          return rows[0].n > 0;
        },
        PATIENCE,
      );
      await stopProcess(doomed.child, 'SIGKILL');
      await inFlight;
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      lock.release();
    }
    await doomed.stop();
    // Its backend notices the closed socket and rolls back: nothing was committed under the claim.
    await waitFor(
      'the dead request to roll back',
      async () => {
        const { rows } = await app.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND query ILIKE '%INSERT INTO transactions%' AND pid <> pg_backend_pid()`,
        );
        return rows[0].n === 0;
      },
      PATIENCE,
    );
    expect(await rowsWithNotes(app.sql, notes)).toBe(0);

    const retry = () =>
      app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(admin))
        .set('Idempotency-Key', key)
        .send(body);
    expectProblem(await retry(), 409);
    // Let the 60 s lease pass without waiting for it.
    await app.sql.query(
      `UPDATE idempotency_keys SET claimed_at = claimed_at - interval '61 seconds' WHERE key = $1`,
      [key],
    );
    const taken = await retry().expect(201);
    expect(taken.headers['idempotent-replayed']).toBeUndefined();
    const replay = await retry().expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.id).toBe(taken.body.id);
    expect(await rowsWithNotes(app.sql, notes)).toBe(1);
  });

  it('keeps a claim whose lease has not passed: a retry gets 409 while the first request still runs', async () => {
    const notes = marker('lease-live');
    const key = marker('lease-live-key');
    const lock = await app.sql.connect();
    let first: Promise<number> | undefined;
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE transactions IN SHARE MODE');
      first = app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(admin))
        .set('Idempotency-Key', key)
        .send(tx({ notes }))
        .then((r) => r.status);
      await waitFor(
        'the first request to claim the key',
        async () => {
          const { rows } = await app.sql.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [
            key,
          ]);
          return rows.length > 0;
        },
        PATIENCE,
      );
      expectProblem(
        await app
          .http()
          .post('/api/v1/transactions')
          .set(bearer(admin))
          .set('Idempotency-Key', key)
          .send(tx({ notes })),
        409,
      );
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      lock.release();
    }
    expect(await first).toBe(201);
    expect(await rowsWithNotes(app.sql, notes)).toBe(1);
  });
});
