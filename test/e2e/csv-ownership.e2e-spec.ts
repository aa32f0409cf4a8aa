import { startApp, type TestApp } from '../app';
import { csvHelpers, ok, three } from '../csv-helpers';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import type { NewTx } from '../transactions';

/**
 * Whose rows a CSV export shows and for whom a CSV import writes (docs/api.md section 6), by role and
 * ownerId, end to end over HTTP against the built app. Every request goes through `ok()`, so no
 * response in this file may be a 5xx.
 */

// Starting an app can take a while on a busy machine.
jest.setTimeout(60_000);

describe('CSV import and export', () => {
  let app: TestApp;
  let admin: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app.stop());

  const { createTx, listAll, exportRaw, exportCsv, importCsv, countRows, analyst } = csvHelpers(
    () => app,
    () => admin,
  );

  // ---- export: whose rows ----

  describe('export', () => {
    describe('ownership', () => {
      let a: TestUser;
      let b: TestUser;
      let aIds: string[];
      let bIds: string[];

      beforeAll(async () => {
        a = await analyst();
        b = await analyst();
        const t = (n: number): NewTx => ({
          type: 'expense',
          amount: `${n}.00`,
          category: 'Own',
          date: '2026-05-01',
        });
        aIds = [(await createTx(a, t(1))).id, (await createTx(a, t(2))).id];
        bIds = [(await createTx(b, t(3))).id];
      });

      it("exports only the analyst's own rows", async () => {
        const { rows } = await exportCsv(a);
        expect(rows.map((r) => r.id).sort()).toEqual([...aIds].sort());
        expect(rows.every((r) => r.ownerId === a.id)).toBe(true);
      });

      it("exports everyone's rows for an admin, and ownerId= narrows to one user", async () => {
        const all = (await exportCsv(admin)).rows.map((r) => r.id);
        expect(all).toEqual(expect.arrayContaining([...aIds, ...bIds]));
        const onlyB = (await exportCsv(admin, { ownerId: b.id })).rows;
        expect(onlyB.map((r) => r.id)).toEqual(bIds);
        expect(onlyB.every((r) => r.ownerId === b.id)).toBe(true);
      });

      it('lets a viewer export its own rows', async () => {
        const viewer = await createUser(app, admin, 'viewer');
        const mine = await createTx(
          admin,
          { type: 'income', amount: '9.99', category: 'Gift', date: '2026-01-01' },
          viewer.id,
        );
        const { rows } = await exportCsv(viewer);
        expect(rows.map((r) => r.id)).toEqual([mine.id]);
      });

      it.each(['analyst', 'viewer'] as const)(
        'answers 403 when a non-admin (%s) names another ownerId',
        async (role) => {
          const user = role === 'analyst' ? a : await createUser(app, admin, 'viewer');
          const res = await exportRaw(user, { ownerId: b.id });
          expect(res.status).toBe(403);
          expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        },
      );

      it('does not export soft-deleted rows', async () => {
        const user = await analyst();
        const keep = await createTx(user, {
          type: 'income',
          amount: '1.00',
          category: 'K',
          date: '2026-01-01',
        });
        const gone = await createTx(user, {
          type: 'income',
          amount: '2.00',
          category: 'G',
          date: '2026-01-02',
        });
        const del = ok(
          await app.http().delete(`/api/v1/transactions/${gone.id}`).set(bearer(admin)),
        );
        expect(del.status).toBe(204);
        expect((await exportCsv(user)).rows.map((r) => r.id)).toEqual([keep.id]);
        expect((await exportCsv(admin, { ownerId: user.id })).rows.map((r) => r.id)).toEqual([
          keep.id,
        ]);
        // ...unless an admin asks for them, as with the list.
        expect(
          (await exportCsv(admin, { ownerId: user.id, deleted: 'only' })).rows.map((r) => r.id),
        ).toEqual([gone.id]);
      });
    });
  });

  describe('import', () => {
    // ---- import: who may import for whom ----

    describe('roles and ownerId', () => {
      it('answers 403 to a viewer and writes nothing', async () => {
        const viewer = await createUser(app, admin, 'viewer');
        const res = await importCsv(viewer, three);
        expect(res.status).toBe(403);
        expect(await countRows(viewer.id)).toBe(0);
      });

      it('answers 403 to an analyst naming another ownerId', async () => {
        const user = await analyst();
        const other = await analyst();
        const res = await importCsv(user, three, { ownerId: other.id });
        expect(res.status).toBe(403);
        expect(await countRows(other.id)).toBe(0);
        expect(await countRows(user.id)).toBe(0);
      });

      it('lets an analyst name itself as ownerId', async () => {
        const user = await analyst();
        const res = await importCsv(user, three, { ownerId: user.id });
        expect(res.status).toBe(201);
        expect(await countRows(user.id)).toBe(3);
      });

      it('answers 422 to an admin naming an inactive user', async () => {
        const user = await analyst();
        const patch = ok(
          await app
            .http()
            .patch(`/api/v1/users/${user.id}`)
            .set(bearer(admin))
            .send({ isActive: false }),
        );
        expect(patch.status).toBe(200);
        const res = await importCsv(admin, three, { ownerId: user.id });
        expect(res.status).toBe(422);
        expect(await countRows(user.id)).toBe(0);
      });

      it('answers 422 to an admin naming an unknown user', async () => {
        const res = await importCsv(admin, three, {
          ownerId: '7b0f2d0e-3c1a-4a59-9a57-1d2c3b4a5f60',
        });
        expect(res.status).toBe(422);
      });

      it('writes the rows for the user an admin names in ownerId', async () => {
        const user = await analyst();
        const adminBefore = await countRows(admin.id);
        const res = await importCsv(admin, three, { ownerId: user.id });
        expect(res.status).toBe(201);
        const rows = await listAll(user);
        expect(rows).toHaveLength(3);
        expect(rows.every((r) => r.ownerId === user.id)).toBe(true);
        expect(await countRows(admin.id)).toBe(adminBefore);
      });
    });
  });
});
