import { randomUUID } from 'node:crypto';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, deactivate, loginAdmin, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';
import { createTx, TX, type TxBody, validTx } from '../transactions';

// jest-circus reads testTimeout only from the top-level config, not from the e2e project's,
// so hooks that start the app would otherwise get 5 s on a busy machine.
jest.setTimeout(60_000);

describe('transactions: roles, ownership on create, validation, exact money', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let other: TestUser;
  let viewer: TestUser;
  let analystRow: TxBody;
  let otherRow: TxBody;
  let viewerRow: TxBody;
  let adminRow: TxBody;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    [analyst, other, viewer] = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'viewer'),
    ]);
    analystRow = await createTx(app, analyst, { category: 'Rent', notes: 'analyst row' });
    otherRow = await createTx(app, other, { category: 'Rent', notes: 'other row' });
    viewerRow = await createTx(app, admin, { ownerId: viewer.id, notes: 'viewer row' });
    adminRow = await createTx(app, admin, { notes: 'admin row' });
  });
  afterAll(() => app?.stop());

  const get = (user: TestUser, path: string) => app.http().get(path).set(bearer(user));
  const post = (user: TestUser, body: Record<string, unknown>) =>
    app.http().post(TX).set(bearer(user)).send(body);
  const list = async (user: TestUser, query = ''): Promise<TxBody[]> => {
    const res = await get(user, `${TX}?limit=100${query}`).expect(200);
    return res.body.data as TxBody[];
  };

  describe('role × route', () => {
    it('lets an analyst create a transaction: 201 with a Location that serves the row', async () => {
      const res = await post(analyst, validTx()).expect(201);
      expect(res.body).toMatchObject({ ownerId: analyst.id, amount: '12.50', category: 'Food' });
      expect(res.headers.location).toBe(`${TX}/${res.body.id}`);
      const fetched = await get(analyst, res.headers.location).expect(200);
      expect(fetched.body).toEqual(res.body);
    });

    it('lets an admin create a transaction for itself', async () => {
      const res = await post(admin, validTx()).expect(201);
      expect(res.body.ownerId).toBe(admin.id);
      expect(res.headers.location).toBe(`${TX}/${res.body.id}`);
    });

    it('forbids a viewer to create a transaction', async () => {
      const before = await app.sql.query('SELECT count(*)::int AS n FROM transactions');
      expectProblem(await post(viewer, validTx()), 403);
      const after = await app.sql.query('SELECT count(*)::int AS n FROM transactions');
      expect(after.rows[0].n).toBe(before.rows[0].n);
    });

    it.each(['analyst', 'viewer'] as const)('shows a %s only its own rows', async (role) => {
      const user = role === 'analyst' ? analyst : viewer;
      const own = role === 'analyst' ? analystRow : viewerRow;
      const rows = await list(user);
      expect(rows.map((r) => r.id)).toContain(own.id);
      expect(rows.every((r) => r.ownerId === user.id)).toBe(true);
    });

    it('shows an admin every owner’s rows', async () => {
      const ids = (await list(admin)).map((r) => r.id);
      expect(ids).toEqual(
        expect.arrayContaining([analystRow.id, otherRow.id, viewerRow.id, adminRow.id]),
      );
    });

    it('narrows an admin’s list to one owner with ownerId', async () => {
      const rows = await list(admin, `&ownerId=${other.id}`);
      expect(rows.map((r) => r.id)).toContain(otherRow.id);
      expect(rows.every((r) => r.ownerId === other.id)).toBe(true);
    });

    it('serves an own row with an ETag', async () => {
      const res = await get(analyst, `${TX}/${analystRow.id}`).expect(200);
      expect(res.body).toEqual(analystRow);
      expect(res.headers.etag).toMatch(/^"[^"]+"$/);
    });

    it.each(['analyst', 'viewer'] as const)(
      'answers 404, not 403, when a %s asks for another user’s row',
      async (role) => {
        const user = role === 'analyst' ? analyst : viewer;
        expectProblem(await get(user, `${TX}/${otherRow.id}`), 404);
      },
    );

    it('serves any user’s row to an admin', async () => {
      const res = await get(admin, `${TX}/${otherRow.id}`).expect(200);
      expect(res.body).toEqual(otherRow);
    });

    it('answers 404 for a deleted row, to its owner and to an admin', async () => {
      const row = await createTx(app, analyst);
      await app.http().delete(`${TX}/${row.id}`).set(bearer(admin)).expect(204);
      expectProblem(await get(analyst, `${TX}/${row.id}`), 404);
      expectProblem(await get(admin, `${TX}/${row.id}`), 404);
    });

    it.each(['analyst', 'viewer'] as const)(
      'forbids a %s to PATCH, DELETE or restore even its own row',
      async (role) => {
        const user = role === 'analyst' ? analyst : viewer;
        const own = role === 'analyst' ? analystRow : viewerRow;
        const deleted = await createTx(app, admin, { ownerId: user.id });
        await app.http().delete(`${TX}/${deleted.id}`).set(bearer(admin)).expect(204);

        const patch = await app
          .http()
          .patch(`${TX}/${own.id}`)
          .set(bearer(user))
          .send({ notes: 'mine' });
        expectProblem(patch, 403);
        expectProblem(await app.http().delete(`${TX}/${own.id}`).set(bearer(user)), 403);
        const restore = await app.http().post(`${TX}/${deleted.id}/restore`).set(bearer(user));
        expectProblem(restore, 403);

        const still = await app.sql.query(
          'SELECT notes, deleted_at FROM transactions WHERE id = ANY($1) ORDER BY id = $2 DESC',
          [[own.id, deleted.id], own.id],
        );
        expect(still.rows[0]).toEqual({ notes: own.notes, deleted_at: null });
        expect(still.rows[1].deleted_at).not.toBeNull();
      },
    );
  });

  describe('POST ownerId', () => {
    it('lets an admin record a transaction owned by another active user', async () => {
      const res = await post(admin, validTx({ ownerId: analyst.id })).expect(201);
      expect(res.body.ownerId).toBe(analyst.id);
      await get(analyst, `${TX}/${res.body.id}`).expect(200);
    });

    it('refuses an unknown ownerId with 422', async () => {
      expectProblem(await post(admin, validTx({ ownerId: randomUUID() })), 422);
    });

    it('refuses a deactivated owner with 422', async () => {
      const gone = await createUser(app, admin, 'analyst');
      await deactivate(app, admin, gone);
      expectProblem(await post(admin, validTx({ ownerId: gone.id })), 422);
      const rows = await app.sql.query('SELECT 1 FROM transactions WHERE owner_id = $1', [gone.id]);
      expect(rows.rowCount).toBe(0);
    });

    it('forbids an analyst to name another owner', async () => {
      expectProblem(await post(analyst, validTx({ ownerId: other.id })), 403);
    });

    it('lets an analyst name itself as owner', async () => {
      const res = await post(analyst, validTx({ ownerId: analyst.id })).expect(201);
      expect(res.body.ownerId).toBe(analyst.id);
    });

    it('lets an analyst name itself as owner in upper case, and still forbids another', async () => {
      const res = await post(analyst, validTx({ ownerId: analyst.id.toUpperCase() })).expect(201);
      expect(res.body.ownerId).toBe(analyst.id);
      expectProblem(await post(analyst, validTx({ ownerId: other.id.toUpperCase() })), 403);
    });
  });

  describe('body validation', () => {
    it.each([
      ['three decimals', '1.234'],
      ['negative', '-1'],
      ['zero', '0'],
      ['zero with decimals', '0.00'],
      ['exponent notation', '1e3'],
      ['thirteen integer digits', '1000000000000'],
      ['not a number', 'abc'],
      ['a float JSON number (0.1 + 0.2)', 0.1 + 0.2],
    ])('refuses an amount that is %s', async (_name, amount) => {
      expectProblem(await post(analyst, validTx({ amount })), 400, ['amount']);
    });

    it.each([
      ['"12" as "12.00"', '12', '12.00'],
      ['"12.5" as "12.50"', '12.5', '12.50'],
      ['the JSON number 12.5 as "12.50"', 12.5, '12.50'],
      ['"999999999999.99" exactly', '999999999999.99', '999999999999.99'],
    ])('accepts and stores the amount %s', async (_name, amount, stored) => {
      const res = await post(analyst, validTx({ amount })).expect(201);
      expect(res.body.amount).toBe(stored);
      const fetched = await get(analyst, `${TX}/${res.body.id}`).expect(200);
      expect(fetched.body.amount).toBe(stored);
    });

    it.each([
      ['a day that does not exist', '2025-02-30'],
      ['a month that does not exist', '2026-13-01'],
      ['before 1900-01-01', '1899-12-31'],
      ['after 2999-12-31', '3000-01-01'],
      ['without zero padding', '2026-1-1'],
    ])('refuses a date that is %s', async (_name, date) => {
      expectProblem(await post(analyst, validTx({ date })), 400, ['date']);
    });

    it.each([
      ['empty', ''],
      ['only spaces', '   '],
      ['65 characters', 'c'.repeat(65)],
    ])('refuses a category that is %s', async (_name, category) => {
      expectProblem(await post(analyst, validTx({ category })), 400, ['category']);
    });

    it('accepts a category of 64 emoji, counting code points', async () => {
      const category = '😀'.repeat(64);
      const res = await post(analyst, validTx({ category })).expect(201);
      expect(res.body.category).toBe(category);
    });

    it('trims the category before saving it', async () => {
      const res = await post(analyst, validTx({ category: '  Groceries \t' })).expect(201);
      expect(res.body.category).toBe('Groceries');
      const stored = await app.sql.query('SELECT category FROM transactions WHERE id = $1', [
        res.body.id,
      ]);
      expect(stored.rows[0].category).toBe('Groceries');
    });

    it('refuses notes of 1001 characters', async () => {
      expectProblem(await post(analyst, validTx({ notes: 'n'.repeat(1001) })), 400, ['notes']);
    });

    it('accepts notes of 1000 characters', async () => {
      const notes = 'n'.repeat(1000);
      const res = await post(analyst, validTx({ notes })).expect(201);
      expect(res.body.notes).toBe(notes);
    });

    it.each(['category', 'notes'])(
      'answers 400, not 500, to a %s containing U+0000, which PostgreSQL cannot store',
      async (field) => {
        expectProblem(await post(analyst, validTx({ [field]: 'a\u0000b' })), 400);
      },
    );

    it('refuses an unknown body field', async () => {
      expectProblem(await post(analyst, validTx({ colour: 'red' })), 400, ['colour']);
    });

    it('refuses prototype keys in the body', async () => {
      const res = await app
        .http()
        .post(TX)
        .set(bearer(analyst))
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(validTx()).replace('{', '{"__proto__":{"admin":true},'));
      expectProblem(res, 400, ['__proto__']);
      expectProblem(await post(analyst, validTx({ constructor: { a: 1 } })), 400, ['constructor']);
    });

    it('refuses a type other than income or expense', async () => {
      expectProblem(await post(analyst, validTx({ type: 'transfer' })), 400, ['type']);
    });

    it('lists every offending field at once', async () => {
      const res = await post(analyst, validTx({ amount: 'abc', date: '2025-02-30', type: 'x' }));
      expectProblem(res, 400, ['amount', 'date', 'type']);
      expect(fieldsOf(res)).toHaveLength(3);
    });
  });

  describe('money is exact', () => {
    it('sums 0.10 and 0.20 to exactly 0.30 in the table and in both rollups', async () => {
      const saver = await createUser(app, admin, 'analyst');
      await createTx(app, saver, { amount: '0.10', date: '2026-01-05' });
      await createTx(app, saver, { amount: '0.20', date: '2026-01-20' });
      const direct = await app.sql.query(
        'SELECT sum(amount)::text AS s FROM transactions WHERE owner_id = $1',
        [saver.id],
      );
      expect(direct.rows[0].s).toBe('0.30');
      const monthly = await app.sql.query(
        'SELECT sum(total)::text AS s FROM rollup_monthly WHERE scope_id = $1',
        [saver.id],
      );
      expect(monthly.rows[0].s).toBe('0.30');
      const daily = await app.sql.query(
        'SELECT sum(total)::text AS s FROM rollup_daily WHERE scope_id = $1',
        [saver.id],
      );
      expect(daily.rows[0].s).toBe('0.30');
    });
  });
});
