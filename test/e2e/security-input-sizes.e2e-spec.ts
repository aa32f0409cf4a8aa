import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type TestApp } from '../app';
import { bearer, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';
import {
  hostileInputHelpers,
  seedHostileInput,
  tx,
  type TableCounts,
} from '../security-input-helpers';
import { waitFor } from '../waits';

/**
 * Hostile input: oversized and deeply nested bodies, huge and strange numbers, NUL characters,
 * and uploads cut off or abandoned half-way. Every one gets the contract's 4xx (or a correct
 * result) and never a 500, and the app keeps serving with nothing left behind.
 */

const HUGE = 'y'.repeat(100_000);

describe('security: hostile input', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let ownTx: string;
  let counts: TableCounts;

  const { tableCounts, get, raw } = hostileInputHelpers(() => app);

  beforeAll(async () => {
    app = await startApp();
    ({ admin, analyst, ownTx } = await seedHostileInput(app));
    counts = await tableCounts();
  });
  afterAll(() => app.stop());

  describe('oversized, deep and strange values', () => {
    it('answers a JSON body over 1 MiB with 413, creating nothing', async () => {
      const res = await app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(analyst))
        .send(tx({ notes: 'n'.repeat(1_100_000) }));
      expectProblem(res, 413);
      expect(await tableCounts()).toEqual(counts);
    });

    it('answers an object nested 10,000 levels deep with 400, and answers normally afterwards', async () => {
      const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
      const body = `{"type":"expense","amount":"1.00","category":"Food","date":"2026-02-01","notes":${deep}}`;
      expectProblem(await raw('post', '/api/v1/transactions', body, analyst), 400);
      await app.http().get('/health/ready').expect(200);
      await get(analyst, '/api/v1/transactions?limit=1').expect(200);
    });

    it('answers arrays nested 10,000 levels deep as the whole body with 400', async () => {
      const deep = '['.repeat(10_000) + ']'.repeat(10_000);
      expectProblem(await raw('post', '/api/v1/users', deep, admin), 400);
      await app.http().get('/health/live').expect(200);
    });

    it.each([
      ['category', '/api/v1/transactions', () => tx({ category: HUGE })],
      ['notes', '/api/v1/transactions', () => tx({ notes: HUGE })],
      ['amount', '/api/v1/transactions', () => tx({ amount: '9'.repeat(100_000) })],
      ['date', '/api/v1/transactions', () => tx({ date: HUGE })],
      ['type', '/api/v1/transactions', () => tx({ type: HUGE })],
    ])('answers a 100,000-character %s with 400', async (field, path, body) => {
      const res = await app.http().post(path).set(bearer(analyst)).send(body());
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain(field);
    });

    it.each([
      ['name', { name: HUGE }],
      ['email', { email: `${HUGE}@test.local` }],
      ['password', { password: HUGE }],
    ])('answers POST /users with a 100,000-character %s with 400', async (field, over) => {
      const res = await app
        .http()
        .post('/api/v1/users')
        .set(bearer(admin))
        .send({
          name: 'Big',
          email: 'big@test.local',
          password: 'a-good-password',
          role: 'viewer',
          ...over,
        });
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain(field);
    });

    it.each([
      ['login email', '/api/v1/auth/login', { email: HUGE, password: 'whatever-pass' }],
      ['login password', '/api/v1/auth/login', { email: 'root@test.local', password: HUGE }],
      ['refresh token', '/api/v1/auth/refresh', { refreshToken: HUGE }],
      ['logout token', '/api/v1/auth/logout', { refreshToken: HUGE }],
    ])('answers a 100,000-character %s with 400', async (_n, path, body) => {
      expectProblem(await app.http().post(path).send(body), 400);
    });

    it('answers a 100,000-character current password on a password change with 400', async () => {
      const res = await app
        .http()
        .post('/api/v1/auth/password')
        .set(bearer(analyst))
        .send({ currentPassword: HUGE, newPassword: 'another-good-password' });
      expectProblem(res, 400);
    });

    it.each([
      ['1e309 (Infinity once parsed)', '1e309'],
      ['-1e309', '-1e309'],
      ['12345678901234567890 as a number', '12345678901234567890'],
      ['"12345678901234567890"', '"12345678901234567890"'],
      ['1e21 as a number', '1e21'],
      ['"1000000000000" (13 digits)', '"1000000000000"'],
      ['-0', '-0'],
      ['0', '0'],
      ['"0.00"', '"0.00"'],
      ['"NaN"', '"NaN"'],
      ['"Infinity"', '"Infinity"'],
      ['"1e3"', '"1e3"'],
      ['"-5.00"', '"-5.00"'],
      ['0.001', '0.001'],
      ['"1.005"', '"1.005"'],
      ['"0x10"', '"0x10"'],
      ['" 5.00"', '" 5.00"'],
      ['"5,00"', '"5,00"'],
    ])('answers amount %s with 400, creating nothing', async (_n, amount) => {
      const body = `{"type":"expense","amount":${amount},"category":"Food","date":"2026-02-01"}`;
      const res = await raw('post', '/api/v1/transactions', body, analyst);
      expectProblem(res, 400);
      expect(fieldsOf(res)).toContain('amount');
      expect(await tableCounts()).toEqual(counts);
    });

    it('accepts the largest amount the column holds, 999999999999.99, and returns it exactly', async () => {
      const res = await app
        .http()
        .post('/api/v1/transactions')
        .set(bearer(analyst))
        .send(tx({ amount: '999999999999.99', notes: 'max amount' }))
        .expect(201);
      expect(res.body.amount).toBe('999999999999.99');
      counts = await tableCounts();
    });

    it.each([
      ['limit=1e309'],
      ['limit=-0'],
      ['limit=0x10'],
      ['page=99999999999999999999'],
      ['page=-1'],
      ['minAmount=1e309'],
      ['maxAmount=NaN'],
      ['minAmount=-0'],
    ])('answers the query %s with 400', async (query) => {
      expectProblem(await get(analyst, `/api/v1/transactions?${query}`), 400);
    });

    it.each([
      ['category', { category: 'Food\u0000' }],
      ['notes', { notes: 'a\u0000b' }],
      ['category (NUL only)', { category: '\u0000' }],
    ])('answers a NUL character in %s with 400, creating nothing', async (_n, over) => {
      const res = await app.http().post('/api/v1/transactions').set(bearer(analyst)).send(tx(over));
      expectProblem(res, 400);
      expect(await tableCounts()).toEqual(counts);
    });

    it('answers a NUL character in a user name with 400, creating nothing', async () => {
      const res = await app
        .http()
        .post('/api/v1/users')
        .set(bearer(admin))
        .send({
          name: 'Nul\u0000Name',
          email: `nul-${randomBytes(3).toString('hex')}@test.local`,
          password: 'a-good-password',
          role: 'viewer',
        });
      expectProblem(res, 400);
      expect(await tableCounts()).toEqual(counts);
    });

    it('answers a NUL character in a PATCH of a transaction with 400, changing nothing', async () => {
      const before = await app.sql.query('SELECT * FROM transactions WHERE id = $1', [ownTx]);
      const res = await app
        .http()
        .patch(`/api/v1/transactions/${ownTx}`)
        .set(bearer(admin))
        .send({ notes: 'x\u0000y' });
      expectProblem(res, 400);
      expect(
        (await app.sql.query('SELECT * FROM transactions WHERE id = $1', [ownTx])).rows,
      ).toEqual(before.rows);
    });

    it.each([
      ['the login email', { email: 'root@test.local\u0000', password: 'whatever-pass' }],
      ['the login password', { email: 'root@test.local', password: 'root-password-1\u0000' }],
    ])(
      'answers a NUL character in %s with 400 or the generic 401, never a token',
      async (_n, body) => {
        const res = await app.http().post('/api/v1/auth/login').send(body);
        expect([400, 401]).toContain(res.status);
        expectProblem(res, res.status);
      },
    );

    it.each([
      ['q', 'a%00b'],
      ['category', 'Food%00'],
    ])('answers a NUL character in the %s filter with 400', async (param, value) => {
      expectProblem(await get(analyst, `/api/v1/transactions?${param}=${value}`), 400);
    });

    it('answers a CSV import containing a NUL byte with 422, importing nothing', async () => {
      const res = await app
        .http()
        .post('/api/v1/transactions/import')
        .set(bearer(analyst))
        .set('Content-Type', 'text/csv')
        .send(Buffer.from('date,type,amount,category\n2026-02-01,expense,1.00,Fo\u0000od\n'));
      expectProblem(res, 422);
      expect(await tableCounts()).toEqual(counts);
    });
  });

  describe('broken and abandoned uploads', () => {
    const activeCopies = async () =>
      Number(
        (
          await app.sql.query(
            `SELECT count(*) AS n FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND (query ILIKE 'COPY transactions%' OR state LIKE 'idle in transaction%')`,
          )
        ).rows[0].n,
      );

    // The app spools uploads in the OS temp directory, which it shares with this process.
    const spoolFiles = () => readdirSync(tmpdir()).filter((f) => f.startsWith('finance-import-'));

    it('answers a multipart upload cut off inside the file part with 400, and keeps serving', async () => {
      const res = await raw(
        'post',
        '/api/v1/transactions/import',
        '--zzz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\ndate,type',
        analyst,
        'multipart/form-data; boundary=zzz',
      );
      expectProblem(res, 400);
      await app.http().get('/health/ready').expect(200);
      expect(await tableCounts()).toEqual(counts);
    });

    it('answers a multipart upload without a boundary with 400', async () => {
      expectProblem(
        await raw('post', '/api/v1/transactions/import', 'garbage', analyst, 'multipart/form-data'),
        400,
      );
    });

    it.each([
      ['text/csv', 'text/csv', ''],
      [
        'multipart',
        'multipart/form-data; boundary=zzz',
        '--zzz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n',
      ],
    ])(
      'holds no database connection while a %s upload is in flight, and an abandoned one leaves nothing behind',
      async (_name, contentType, preamble) => {
        const { port } = new URL(app.url);
        const head = `${preamble}date,type,amount,category\n${'2026-02-01,expense,1.00,Abandoned\n'.repeat(200)}`;
        const before = new Set(spoolFiles());
        const socket = connect(Number(port), '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise((r) => socket.once('connect', r));
        socket.write(
          `POST /api/v1/transactions/import HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${analyst.token}\r\n` +
            `Content-Type: ${contentType}\r\nContent-Length: 1000000\r\n\r\n${head}`,
        );
        // The rows are read and spooled to a temporary file as they arrive ...
        await waitFor(
          'the upload to be spooled',
          () => spoolFiles().some((f) => !before.has(f) && statSync(join(tmpdir(), f)).size > 0),
          { ms: 15_000 },
        );
        // ... but no COPY and no transaction is open until the whole file is in.
        expect(await activeCopies()).toBe(0);
        socket.destroy();
        await waitFor(
          'the spool file to be removed',
          () => spoolFiles().every((f) => before.has(f)),
          { ms: 15_000 },
        );
        expect(await activeCopies()).toBe(0);
        expect(await tableCounts()).toEqual(counts);
        await app.http().get('/health/ready').expect(200);
      },
    );
  });
});
