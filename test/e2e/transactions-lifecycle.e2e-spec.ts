import { randomUUID } from 'node:crypto';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { createTx, ORG_SCOPE, rollupVersusLive, TX, type TxBody } from '../transactions';

// jest-circus reads testTimeout only from the top-level config, not from the e2e project's,
// so hooks that start the app would otherwise get 5 s on a busy machine.
jest.setTimeout(60_000);

describe('transactions: soft delete, restore, update and their rollups', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let other: TestUser;
  let analystRow: TxBody;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    [analyst, other] = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'analyst'),
    ]);
    analystRow = await createTx(app, analyst, { category: 'Rent', notes: 'analyst row' });
  });
  afterAll(() => app?.stop());

  const get = (user: TestUser, path: string) => app.http().get(path).set(bearer(user));
  const list = async (user: TestUser): Promise<TxBody[]> => {
    const res = await get(user, `${TX}?limit=100`).expect(200);
    return res.body.data as TxBody[];
  };
  describe('soft delete, restore and update', () => {
    const del = (user: TestUser, id: string) => app.http().delete(`${TX}/${id}`).set(bearer(user));
    const restore = (user: TestUser, id: string) =>
      app.http().post(`${TX}/${id}/restore`).set(bearer(user));
    const patch = (id: string, body: unknown) =>
      app
        .http()
        .patch(`${TX}/${id}`)
        .set(bearer(admin))
        .send(body as object);

    it('soft-deletes with 204, then the row is 404 and gone from the list', async () => {
      const row = await createTx(app, analyst);
      const res = await del(admin, row.id).expect(204);
      expect(res.text).toBe('');
      expectProblem(await get(analyst, `${TX}/${row.id}`), 404);
      expect((await list(analyst)).map((r) => r.id)).not.toContain(row.id);
      const stored = await app.sql.query('SELECT deleted_at FROM transactions WHERE id = $1', [
        row.id,
      ]);
      expect(stored.rows[0].deleted_at).not.toBeNull();
    });

    it('answers a second DELETE with 404', async () => {
      const row = await createTx(app, analyst);
      await del(admin, row.id).expect(204);
      expectProblem(await del(admin, row.id), 404);
    });

    it('restores a deleted row with 200 and the row, live again', async () => {
      const row = await createTx(app, analyst, { notes: 'back' });
      await del(admin, row.id).expect(204);
      const res = await restore(admin, row.id).expect(200);
      expect(res.body).toMatchObject({ id: row.id, ownerId: analyst.id, notes: 'back' });
      expect(res.body.deletedAt ?? null).toBeNull();
      await get(analyst, `${TX}/${row.id}`).expect(200);
    });

    it('answers 409 when restoring a live row', async () => {
      const row = await createTx(app, analyst);
      expectProblem(await restore(admin, row.id), 409);
    });

    it('answers 404 for an unknown id on delete and restore', async () => {
      const id = randomUUID();
      expectProblem(await del(admin, id), 404);
      expectProblem(await restore(admin, id), 404);
    });

    it('answers 400 for an id that is not a UUID on every :id route', async () => {
      expectProblem(await get(admin, `${TX}/not-a-uuid`), 400, ['id']);
      expectProblem(await patch('not-a-uuid', { notes: 'x' }), 400, ['id']);
      expectProblem(await del(admin, 'not-a-uuid'), 400, ['id']);
      expectProblem(await restore(admin, 'not-a-uuid'), 400, ['id']);
    });

    it('changes only the fields a PATCH sends, and the ETag with them', async () => {
      const row = await createTx(app, analyst, { notes: 'keep me', category: 'Travel' });
      const before = await get(admin, `${TX}/${row.id}`).expect(200);
      const res = await patch(row.id, { amount: '99.99' }).expect(200);
      expect(res.body).toEqual({ ...row, amount: '99.99', updatedAt: res.body.updatedAt });
      expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(row.updatedAt));
      const after = await get(admin, `${TX}/${row.id}`).expect(200);
      expect(after.body).toEqual(res.body);
      expect(after.headers.etag).not.toBe(before.headers.etag);
    });

    it('answers a conditional GET of one row with 304 while its ETag still holds', async () => {
      const row = await createTx(app, analyst, { notes: 'conditional' });
      const first = await get(analyst, `${TX}/${row.id}`).expect(200);
      const tag = first.headers.etag;
      expect(tag).toMatch(/^"[\w-]{27}"$/);
      const same = await get(analyst, `${TX}/${row.id}`).set('If-None-Match', tag).expect(304);
      expect(same.text).toBe('');
      await patch(row.id, { notes: 'changed' }).expect(200);
      const changed = await get(analyst, `${TX}/${row.id}`).set('If-None-Match', tag).expect(200);
      expect(changed.body.notes).toBe('changed');
      expect(changed.headers.etag).not.toBe(tag);
    });

    it('puts no ETag on lists (only single resources carry one)', async () => {
      const res = await get(analyst, `${TX}?limit=5`).expect(200);
      expect(res.headers.etag).toBeUndefined();
    });

    it('clears notes with a PATCH of null', async () => {
      const row = await createTx(app, analyst, { notes: 'temporary' });
      const res = await patch(row.id, { notes: null }).expect(200);
      expect(res.body.notes).toBeNull();
    });

    it('refuses a PATCH that sets a required field to null', async () => {
      const row = await createTx(app, analyst);
      for (const field of ['type', 'amount', 'category', 'date']) {
        expectProblem(await patch(row.id, { [field]: null }), 400, [field]);
      }
      const fetched = await get(admin, `${TX}/${row.id}`).expect(200);
      expect(fetched.body).toEqual(row);
    });

    it('validates PATCH fields like POST does', async () => {
      const res = await patch(analystRow.id, { amount: '0', date: '2025-02-30', category: ' ' });
      expectProblem(res, 400, ['amount', 'category', 'date']);
    });

    it('refuses a PATCH with an empty body', async () => {
      expectProblem(await patch(analystRow.id, {}), 400);
    });

    it('refuses a PATCH of ownerId as an unknown field', async () => {
      expectProblem(await patch(analystRow.id, { ownerId: other.id }), 400, ['ownerId']);
      const stored = await app.sql.query('SELECT owner_id FROM transactions WHERE id = $1', [
        analystRow.id,
      ]);
      expect(stored.rows[0].owner_id).toBe(analyst.id);
    });

    it('answers 404 to a PATCH of a deleted row', async () => {
      const row = await createTx(app, analyst);
      await del(admin, row.id).expect(204);
      expectProblem(await patch(row.id, { notes: 'zombie' }), 404);
    });

    it('keeps the rollups equal to the live rows through update, delete and restore', async () => {
      const owner = await createUser(app, admin, 'analyst');
      const a = await createTx(app, owner, { amount: '10.05', date: '2026-02-01' });
      const b = await createTx(app, owner, { amount: '3.30', date: '2026-02-01' });
      await createTx(app, owner, { amount: '7.00', type: 'income', category: 'Salary' });
      const check = async () => {
        for (const scope of [owner.id, ORG_SCOPE]) {
          const { rollup, live } = await rollupVersusLive(app, scope);
          expect(rollup).toEqual(live);
        }
      };
      await check();

      await patch(a.id, { amount: '20.10' }).expect(200);
      await check();
      await patch(a.id, { category: 'Books', date: '2026-03-31', type: 'income' }).expect(200);
      await check();
      await del(admin, b.id).expect(204);
      await check();
      await restore(admin, b.id).expect(200);
      await check();
      await del(admin, a.id).expect(204);
      await check();

      const totals = await app.sql.query(
        `SELECT sum(total)::text AS total, sum(count)::int AS count
         FROM rollup_daily WHERE scope_id = $1`,
        [owner.id],
      );
      expect(totals.rows[0]).toEqual({ total: '10.30', count: 2 });
    });
  });
});
