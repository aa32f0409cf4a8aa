import { randomUUID } from 'node:crypto';
import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { createTx, ORG_SCOPE, rollupVersusLive, TX } from '../transactions';
import { waitFor } from '../waits';

jest.setTimeout(120_000);

/** docs/api.md section 17: the trash's retention purge and DELETE ?permanent=true. */
describe('trash: retention purge and permanent delete', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;

  beforeAll(async () => {
    // Never purges by itself: the retention tests start their own instances on its database.
    app = await startApp({ TRASH_RETENTION_DAYS: '0' });
    admin = await loginAdmin(app);
    analyst = await createUser(app, admin, 'analyst');
    // A row that stays: an empty scope's sums compare as "0" against "0.00".
    await createTx(app, analyst, { category: 'Kept', amount: '7.00' });
  });
  afterAll(() => app?.stop());

  const del = (id: string, query = '') =>
    app.http().delete(`${TX}/${id}${query}`).set(bearer(admin));
  const purgeEntries = async (id: string) => {
    const { rows } = await app.sql.query(
      `SELECT (SELECT count(*) FROM audit_logs WHERE entity_id = $1 AND action = 'transaction.purge')::int AS audit,
              (SELECT count(*) FROM events WHERE data->>'id' = $1::text AND type = 'transaction.purged')::int AS events,
              (SELECT count(*) FROM transactions WHERE id = $1)::int AS rows`,
      [id],
    );
    return rows[0] as { audit: number; events: number; rows: number };
  };
  const expectRollupsExact = async () => {
    for (const scope of [analyst.id, ORG_SCOPE]) {
      const { rollup, live } = await rollupVersusLive(app, scope);
      expect(rollup).toEqual(live);
    }
  };

  describe('DELETE /transactions/:id?permanent=true', () => {
    it('purges a live row at once: 204, then 404 everywhere, the dashboards without it', async () => {
      const row = await createTx(app, analyst, { category: 'Purged live', amount: '40.00' });
      await del(row.id, '?permanent=true').expect(204);
      expectProblem(await app.http().get(`${TX}/${row.id}`).set(bearer(admin)), 404);
      expectProblem(await app.http().post(`${TX}/${row.id}/restore`).set(bearer(admin)), 404);
      expectProblem(await del(row.id), 404);
      expectProblem(await del(row.id, '?permanent=true'), 404);
      expect(await purgeEntries(row.id)).toEqual({ audit: 1, events: 1, rows: 0 });
      const { rows } = await app.sql.query(
        `SELECT actor_id::text AS actor, changes FROM audit_logs WHERE entity_id = $1 AND action = 'transaction.purge'`,
        [row.id],
      );
      expect(rows).toEqual([{ actor: admin.id, changes: {} }]);
      await expectRollupsExact();
    });

    it('purges a soft-deleted row the same way', async () => {
      const row = await createTx(app, analyst);
      await del(row.id).expect(204);
      await del(row.id, '?permanent=true').expect(204);
      expectProblem(await app.http().post(`${TX}/${row.id}/restore`).set(bearer(admin)), 404);
      expect(await purgeEntries(row.id)).toEqual({ audit: 1, events: 1, rows: 0 });
      await expectRollupsExact();
    });

    it('the owner sees the purge in their feed as { id, ownerId }', async () => {
      const row = await createTx(app, analyst);
      await del(row.id, '?permanent=true').expect(204);
      const feed = await app
        .http()
        .get('/api/v1/events?types=transaction.purged&limit=100')
        .set(bearer(analyst))
        .expect(200);
      const event = (feed.body.data as { data: { id: string } }[]).find(
        (e) => e.data.id === row.id,
      );
      expect(event?.data).toEqual({ id: row.id, ownerId: analyst.id });
    });

    it('permanent=false is the soft delete; another value is a 400; an analyst gets 403', async () => {
      const row = await createTx(app, analyst);
      expectProblem(await del(row.id, '?permanent=yes'), 400, ['permanent']);
      expectProblem(
        await app.http().delete(`${TX}/${row.id}?permanent=true`).set(bearer(analyst)),
        403,
      );
      await del(row.id, '?permanent=false').expect(204);
      await app.http().post(`${TX}/${row.id}/restore`).set(bearer(admin)).expect(200);
      expect((await purgeEntries(row.id)).rows).toBe(1);
      expectProblem(await del(randomUUID(), '?permanent=true'), 404);
    });
  });

  describe('TRASH_RETENTION_DAYS', () => {
    it('purges rows deleted longer ago than the retention, keeps the rest; two instances at once, then a re-run, purge each row once', async () => {
      const make = async (deletedDaysAgo: number | null) => {
        const row = await createTx(app, analyst, { category: 'Retention' });
        if (deletedDaysAgo !== null) {
          await del(row.id).expect(204);
          await app.sql.query(
            `UPDATE transactions SET deleted_at = now() - make_interval(secs => $2) WHERE id = $1`,
            [row.id, deletedDaysAgo * 86_400],
          );
        }
        return row.id;
      };
      // Retention 3 days: exactly 3 days (less a minute) is kept, past 3 days is purged.
      const kept = [await make(null), await make(1), await make(3 - 1 / 1440)];
      const purged = [await make(3 + 1 / 1440), await make(4), await make(400)];
      const transfer = await oldDeletedTransfer(app, admin, analyst, 10);

      const settings = { TRASH_RETENTION_DAYS: '3' };
      const [a, b] = await Promise.all([
        startApp(settings, { databaseUrl: app.databaseUrl }),
        startApp(settings, { databaseUrl: app.databaseUrl }),
      ]);
      try {
        await waitFor('the trash purge', async () => {
          const left = await Promise.all(
            [...purged, transfer].map(async (id) => (await purgeEntries(id)).rows),
          );
          const { rows } = await app.sql.query(
            'SELECT count(*)::int AS n FROM transfers WHERE id = $1',
            [transfer],
          );
          return left.every((n) => n === 0) && rows[0].n === 0;
        });
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
      for (const id of kept) expect((await purgeEntries(id)).rows).toBe(1);
      for (const id of purged)
        expect(await purgeEntries(id)).toEqual({ audit: 1, events: 1, rows: 0 });
      const { rows } = await app.sql.query(
        `SELECT (SELECT count(*) FROM audit_logs WHERE entity_id = $1 AND action = 'transfer.purge' AND actor_id IS NULL)::int AS audit,
                (SELECT count(*) FROM events WHERE data->>'id' = $1::text AND type = 'transfer.purged')::int AS events`,
        [transfer],
      );
      expect(rows[0]).toEqual({ audit: 1, events: 1 });

      // A re-run finds nothing more to do and writes nothing.
      const completed = async () =>
        (
          await app.sql.query(
            `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'trash-purge' AND state = 'completed'`,
          )
        ).rows[0].n as number;
      const before = await completed();
      const rerun = await startApp(settings, { databaseUrl: app.databaseUrl });
      try {
        await waitFor('the re-run of the purge', async () => (await completed()) > before);
      } finally {
        await rerun.stop();
      }
      for (const id of kept) expect((await purgeEntries(id)).rows).toBe(1);
      for (const id of purged)
        expect(await purgeEntries(id)).toEqual({ audit: 1, events: 1, rows: 0 });
      await expectRollupsExact();
    });
  });
});

/** A transfer of `owner`'s, soft-deleted `days` ago; its id. */
async function oldDeletedTransfer(
  app: TestApp,
  admin: TestUser,
  owner: TestUser,
  days: number,
): Promise<string> {
  const account = async () =>
    (
      await app
        .http()
        .post('/api/v1/accounts')
        .set(bearer(admin))
        .send({ name: 'trash', type: 'checking', currency: 'USD', ownerId: owner.id })
        .expect(201)
    ).body.id as string;
  const res = await app
    .http()
    .post('/api/v1/transfers')
    .set(bearer(admin))
    .send({
      fromAccountId: await account(),
      toAccountId: await account(),
      amount: '1.00',
      date: '2026-01-05',
    })
    .expect(201);
  const id = res.body.id as string;
  await app.http().delete(`/api/v1/transfers/${id}`).set(bearer(admin)).expect(204);
  await app.sql.query(
    `UPDATE transfers SET deleted_at = now() - make_interval(days => $2) WHERE id = $1`,
    [id, days],
  );
  return id;
}
