import { randomBytes } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import type { Response } from 'supertest';
import { startApp, type TestApp } from '../app';
import { bearer, createApiKey, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { validTx } from '../transactions';

/**
 * The auditor role and field masking (docs/api.md section 11): an auditor reads the whole organisation
 * read-only, with other people's notes as "[masked]" and their emails as `a***@domain`, in every
 * response path (JSON, CSV, dashboards, audit changes), and cannot find masked values by searching
 * for them. Admins see everything unmasked.
 */

const MASKED = '[masked]';
const SECRET_WORD = `zanzibar${randomBytes(3).toString('hex')}`;

interface Tx {
  id: string;
  ownerId: string;
  notes: string | null;
}

const rowsOf = (res: Response): Tx[] => res.body.data as Tx[];
const byId = (rows: Tx[], id: string): Tx | undefined => rows.find((r) => r.id === id);

describe('auditor role and field masking', () => {
  let app: TestApp;
  let admin: TestUser;
  let alice: TestUser;
  let auditor: TestUser;
  let secretTx: string;
  let emptyTx: string;
  let nullTx: string;
  let deletedTx: string;
  let auditorOwnTx: string;

  const as = (who: { token: string }) => ({
    get: (path: string) => app.http().get(path).set(bearer(who)),
    post: (path: string) => app.http().post(path).set(bearer(who)),
    patch: (path: string) => app.http().patch(path).set(bearer(who)),
    delete: (path: string) => app.http().delete(path).set(bearer(who)),
  });
  const record = async (who: TestUser, body: Record<string, unknown>): Promise<string> =>
    (
      await as(who)
        .post('/api/v1/transactions')
        .send(validTx({ amount: '10.00', category: 'Travel', date: '2026-02-01', ...body }))
        .expect(201)
    ).body.id as string;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    const tag = randomBytes(3).toString('hex');
    [alice, auditor] = await Promise.all([
      createUser(app, admin, 'analyst', {
        name: `Alice ${tag}`,
        email: `alice-${tag}@corp.example`,
      }),
      createUser(app, admin, 'auditor', { email: `olga-${tag}@audit.example` }),
    ]);
    secretTx = await record(alice, { notes: `the ${SECRET_WORD} bonus` });
    emptyTx = await record(alice, { notes: '' });
    nullTx = await record(alice, {});
    deletedTx = await record(alice, { notes: 'deleted secret' });
    await as(admin).delete(`/api/v1/transactions/${deletedTx}`).expect(204);
    // An auditor records nothing itself, but an admin may record a row for it.
    auditorOwnTx = await record(admin, { ownerId: auditor.id, notes: 'auditor own note' });
    // Changes that put notes and emails into the audit trail.
    await as(admin)
      .patch(`/api/v1/transactions/${secretTx}`)
      .send({ notes: `still the ${SECRET_WORD} bonus` })
      .expect(200);
    await app
      .http()
      .post('/api/v1/auth/login')
      .send({ email: alice.email, password: 'wrong-password' })
      .expect(401);
  });
  afterAll(() => app.stop());

  describe('transactions', () => {
    it('gives an ETag that differs from the admin’s (computed on what the auditor sees)', async () => {
      const seen = await as(auditor).get(`/api/v1/transactions/${secretTx}`).expect(200);
      const full = await as(admin).get(`/api/v1/transactions/${secretTx}`).expect(200);
      expect(seen.headers.etag).toBeDefined();
      expect(seen.headers.etag).not.toBe(full.headers.etag);
    });

    it('exports CSV with other people’s notes masked, and the admin’s export unmasked', async () => {
      const csv = await as(auditor).get('/api/v1/transactions/export?deleted=include').expect(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      expect(csv.text).not.toContain(SECRET_WORD);
      expect(csv.text).not.toContain('deleted secret');
      const records = parse<Record<string, string>>(csv.text, { columns: true });
      const note = (id: string) => records.find((r) => r.id === id)?.notes;
      expect(note(secretTx)).toBe(MASKED);
      expect(note(deletedTx)).toBe(MASKED);
      expect(note(emptyTx)).toBe('');
      expect(note(nullTx)).toBe('');
      expect(note(auditorOwnTx)).toBe('auditor own note');
      const search = await as(auditor)
        .get(`/api/v1/transactions/export?q=${SECRET_WORD}`)
        .expect(200);
      expect(parse(search.text, { columns: true })).toEqual([]);
      const full = await as(admin).get('/api/v1/transactions/export').expect(200);
      expect(full.text).toContain(SECRET_WORD);
    });
  });

  describe('dashboard', () => {
    it('lets the auditor read every dashboard route, for the organisation or one user', async () => {
      for (const route of ['summary', 'recent', 'categories', 'trends', 'forecast']) {
        await as(auditor).get(`/api/v1/dashboard/${route}`).expect(200);
        await as(auditor).get(`/api/v1/dashboard/${route}?userId=${alice.id}`).expect(200);
      }
      const recent = await as(auditor)
        .get(`/api/v1/dashboard/recent?userId=${alice.id}`)
        .expect(200);
      expect(byId(recent.body as Tx[], secretTx)?.notes).toBe(MASKED);
      const summary = await as(auditor)
        .get(`/api/v1/dashboard/summary?userId=${alice.id}`)
        .expect(200);
      expect(summary.body.transactionCount).toBe(3);
      const one = await as(auditor).get(`/api/v1/dashboard?userId=${alice.id}`).expect(200);
      expect(one.text).not.toContain(alice.email);
    });
  });

  describe('read-only', () => {
    const csv = 'date,type,amount,category\n2026-01-01,income,1.00,x\n';
    const writes: [string, (a: TestUser) => ReturnType<ReturnType<typeof as>['get']>][] = [
      [
        'POST /transactions',
        (a) =>
          as(a)
            .post('/api/v1/transactions')
            .send({ type: 'income', amount: '1.00', category: 'x', date: '2026-01-01' }),
      ],
      [
        'POST /transactions for itself via ownerId',
        (a) =>
          as(a).post('/api/v1/transactions').send({
            type: 'income',
            amount: '1.00',
            category: 'x',
            date: '2026-01-01',
            ownerId: a.id,
          }),
      ],
      [
        'PATCH /transactions/:id',
        (a) => as(a).patch(`/api/v1/transactions/${secretTx}`).send({ notes: 'x' }),
      ],
      [
        'PATCH its own /transactions/:id',
        (a) => as(a).patch(`/api/v1/transactions/${auditorOwnTx}`).send({ notes: 'x' }),
      ],
      ['DELETE /transactions/:id', (a) => as(a).delete(`/api/v1/transactions/${secretTx}`)],
      [
        'POST /transactions/:id/restore',
        (a) => as(a).post(`/api/v1/transactions/${deletedTx}/restore`),
      ],
      [
        'POST /transactions/import',
        (a) => as(a).post('/api/v1/transactions/import').set('Content-Type', 'text/csv').send(csv),
      ],
      [
        'POST /users',
        (a) =>
          as(a)
            .post('/api/v1/users')
            .send({
              name: 'x',
              email: `x-${randomBytes(3).toString('hex')}@test.local`,
              password: 'password-123',
              role: 'admin',
            }),
      ],
      [
        'PATCH /users/:id',
        (a) => as(a).patch(`/api/v1/users/${alice.id}`).send({ isActive: false }),
      ],
      [
        'PATCH /users/:id (promoting itself)',
        (a) => as(a).patch(`/api/v1/users/${a.id}`).send({ role: 'admin' }),
      ],
    ];

    it.each(writes)('answers the auditor’s %s with 403, changing nothing', async (_label, send) => {
      const before = await app.sql.query(
        `SELECT (SELECT count(*) FROM transactions) AS t, (SELECT count(*) FROM users) AS u,
           (SELECT max(updated_at) FROM transactions) AS tu, (SELECT max(updated_at) FROM users) AS uu`,
      );
      expectProblem(await send(auditor), 403);
      const after = await app.sql.query(
        `SELECT (SELECT count(*) FROM transactions) AS t, (SELECT count(*) FROM users) AS u,
           (SELECT max(updated_at) FROM transactions) AS tu, (SELECT max(updated_at) FROM users) AS uu`,
      );
      expect(after.rows).toEqual(before.rows);
    });

    it('still lets the auditor manage its own keys (not a data write)', async () => {
      const key = await createApiKey(app, auditor, ['transactions:read']);
      await as(auditor).delete(`/api/v1/api-keys/${key.id}`).expect(204);
    });
  });

  describe('through an auditor’s API key', () => {
    it('masks notes for a transactions:read key and emails for a users:read key', async () => {
      const key = await createApiKey(app, auditor, [
        'transactions:read',
        'users:read',
        'audit:read',
      ]);
      const list = await as(key).get(`/api/v1/transactions?ownerId=${alice.id}`).expect(200);
      expect(byId(rowsOf(list), secretTx)?.notes).toBe(MASKED);
      expect(list.text).not.toContain(SECRET_WORD);
      const one = await as(key).get(`/api/v1/transactions/${secretTx}`).expect(200);
      expect(one.body.notes).toBe(MASKED);
      const csv = await as(key).get('/api/v1/transactions/export').expect(200);
      expect(csv.text).not.toContain(SECRET_WORD);
      const users = await as(key).get('/api/v1/users').expect(200);
      expect(users.text).not.toContain(alice.email);
      const audit = await as(key).get('/api/v1/audit-logs?limit=100').expect(200);
      expect(audit.text).not.toContain(SECRET_WORD);
      expect(audit.text).not.toContain(alice.email);
      const search = await as(key).get(`/api/v1/transactions?q=${SECRET_WORD}`).expect(200);
      expect(rowsOf(search)).toEqual([]);
    });

    it('refuses an auditor a write scope on a key (422), so no key makes it a writer', async () => {
      const res = await as(auditor)
        .post('/api/v1/api-keys')
        .send({ name: 'writer', scopes: ['transactions:write'] });
      expectProblem(res, 422);
    });
  });
});
