import { startApp, type TestApp } from '../app';
import {
  BASE,
  categoryRow,
  createAll,
  dash,
  point,
  totalsIn,
  usdSummary,
} from '../dashboard-helpers';
import { bearer, createUser, deactivate, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { createTx, type TxBody } from '../transactions';

// jest.config.js sets testTimeout per project, which jest ignores; starting an app can take >5 s.
jest.setTimeout(60_000);

/**
 * Who sees what on the dashboard, and how bad queries are refused. Rows (all live):
 *   admin  2025-07-01 income  Bonus   10.00
 *   ann    2025-05-10 income  Salary 100.00 | 2025-05-11 expense Food 30.00 | 2025-06-01 expense Food 20.00
 *   ben    2025-05-12 income  Salary  50.00 | 2025-06-02 expense Rent 70.25
 *   vic    2025-06-03 expense Food     5.50 (a viewer; recorded by the admin)
 *   ivy    no rows (a deactivated viewer)
 * Organisation: income 160.00, expenses 125.75, net 34.25, 7 rows.
 */
const ROUTES = ['', '/summary', '/recent', '/categories', '/trends', '/forecast'];
const ANALYST_ROUTES = ['/categories', '/trends', '/forecast'];
const UNKNOWN_ID = '5f0c6a52-8d1e-4c1b-9a55-0e4a8e0b7c11';

describe('dashboard access and validation', () => {
  let app: TestApp;
  let admin: TestUser;
  let ann: TestUser;
  let ben: TestUser;
  let vic: TestUser;
  let ivy: TestUser;

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    ann = await createUser(app, admin, 'analyst', { name: 'Ann' });
    ben = await createUser(app, admin, 'analyst', { name: 'Ben' });
    vic = await createUser(app, admin, 'viewer', { name: 'Vic' });
    ivy = await createUser(app, admin, 'viewer', { name: 'Ivy' });
    await deactivate(app, admin, ivy);
    await createTx(app, admin, {
      type: 'income',
      amount: '10.00',
      category: 'Bonus',
      date: '2025-07-01',
    });
    await createAll(app, ann, [
      { type: 'income', amount: '100.00', category: 'Salary', date: '2025-05-10' },
      { type: 'expense', amount: '30.00', category: 'Food', date: '2025-05-11' },
      { type: 'expense', amount: '20.00', category: 'Food', date: '2025-06-01' },
    ]);
    await createAll(app, ben, [
      { type: 'income', amount: '50.00', category: 'Salary', date: '2025-05-12' },
      { type: 'expense', amount: '70.25', category: 'Rent', date: '2025-06-02' },
    ]);
    await createTx(app, admin, {
      type: 'expense',
      amount: '5.50',
      category: 'Food',
      date: '2025-06-03',
      ownerId: vic.id,
    });
  });
  afterAll(() => app?.stop());

  describe('viewer', () => {
    it('reads its own summary and recent rows', async () => {
      const summary = await dash(app, vic, '/summary').expect(200);
      expect(summary.body).toEqual(usdSummary('0.00', '5.50', '-5.50', 1));
      const recent = await dash(app, vic, '/recent').expect(200);
      expect((recent.body as TxBody[]).map((r) => [r.ownerId, r.amount])).toEqual([
        [vic.id, '5.50'],
      ]);
    });

    it('gets exactly {summary, recent} from /dashboard', async () => {
      const res = await dash(app, vic, '').expect(200);
      expect(Object.keys(res.body).sort()).toEqual(['recent', 'summary']);
      expect(res.body.summary).toEqual((await dash(app, vic, '/summary')).body);
      expect(res.body.recent).toEqual((await dash(app, vic, '/recent')).body);
    });

    it.each(ANALYST_ROUTES)('is refused %s with 403', async (route) => {
      expectProblem(await dash(app, vic, route), 403);
    });
  });

  describe('analyst', () => {
    it('gets summary, recent, categories and monthly trends from /dashboard, nothing more', async () => {
      const res = await dash(app, ann, '').expect(200);
      expect(Object.keys(res.body).sort()).toEqual(['categories', 'recent', 'summary', 'trends']);
      expect(res.body.summary).toEqual(usdSummary('100.00', '50.00', '50.00', 3));
      expect(res.body.categories).toEqual([
        categoryRow('Salary', 'income', '100.00', 1, '100.00'),
        categoryRow('Food', 'expense', '50.00', 2, '100.00'),
      ]);
      expect(res.body.recent).toEqual((await dash(app, ann, '/recent')).body);
      expect(res.body.trends).toEqual((await dash(app, ann, '/trends')).body);
      expect((res.body.trends as unknown[]).slice(0, 2)).toEqual([
        point('2025-05', '100.00', '30.00', '70.00'),
        point('2025-06', '0.00', '20.00', '-20.00'),
      ]);
    });

    it('applies the range to every part of /dashboard', async () => {
      const res = await dash(app, ann, '', { from: '2025-06-01', to: '2025-06-30' }).expect(200);
      expect(res.body.summary).toEqual(usdSummary('0.00', '20.00', '-20.00', 1));
      expect(res.body.recent).toHaveLength(1);
      expect(res.body.categories).toEqual([categoryRow('Food', 'expense', '20.00', 1, '100.00')]);
      expect(res.body.trends).toEqual([point('2025-06', '0.00', '20.00', '-20.00')]);
    });
  });

  describe('admin', () => {
    it('sees the organisation total, the sum over all users, without userId', async () => {
      const res = await dash(app, admin, '/summary').expect(200);
      expect(res.body).toEqual(usdSummary('160.00', '125.75', '34.25', 7));
      const cats = await dash(app, admin, '/categories').expect(200);
      expect(cats.body).toEqual([
        categoryRow('Salary', 'income', '150.00', 2, '93.75'),
        categoryRow('Rent', 'expense', '70.25', 1, '55.86'),
        categoryRow('Food', 'expense', '55.50', 3, '44.14'),
        categoryRow('Bonus', 'income', '10.00', 1, '6.25'),
      ]);
      const recent = await dash(app, admin, '/recent').expect(200);
      expect(recent.body).toHaveLength(7);
    });

    it('gets byUser (one summary per user) and user counts from /dashboard', async () => {
      const res = await dash(app, admin, '').expect(200);
      expect(Object.keys(res.body).sort()).toEqual([
        'byUser',
        'categories',
        'recent',
        'summary',
        'trends',
        'users',
      ]);
      // A byUser row: the user, then its totals in the reporting currency (no byCurrency).
      const row = (
        user: TestUser,
        name: string,
        income: string,
        expenses: string,
        net: string,
        count: number,
      ) => ({
        userId: user.id,
        name,
        email: user.email,
        ...totalsIn(BASE, income, expenses, net, count),
      });
      const byId = Object.fromEntries(
        (res.body.byUser as { userId: string }[]).map((u) => [u.userId, u]),
      );
      expect(res.body.byUser).toHaveLength(5);
      expect(byId[admin.id]).toEqual(row(admin, 'Administrator', '10.00', '0.00', '10.00', 1));
      expect(byId[ann.id]).toEqual(row(ann, 'Ann', '100.00', '50.00', '50.00', 3));
      expect(byId[ben.id]).toEqual(row(ben, 'Ben', '50.00', '70.25', '-20.25', 2));
      expect(byId[vic.id]).toEqual(row(vic, 'Vic', '0.00', '5.50', '-5.50', 1));
      expect(byId[ivy.id]).toEqual(row(ivy, 'Ivy', '0.00', '0.00', '0.00', 0));
      expect(res.body.users).toEqual({
        total: 5,
        active: 4,
        admin: { active: 1, inactive: 0 },
        analyst: { active: 2, inactive: 0 },
        viewer: { active: 1, inactive: 1 },
        auditor: { active: 0, inactive: 0 },
      });
      expect(res.body.summary).toEqual(usdSummary('160.00', '125.75', '34.25', 7));
    });

    it.each(['/summary', '/categories', '/trends', '/recent'])(
      'with userId gets exactly what that user sees for itself on %s',
      async (route) => {
        for (const query of [{}, { from: '2025-05-11', to: '2025-06-01' }]) {
          const own = await dash(app, ann, route, query).expect(200);
          const viaAdmin = await dash(app, admin, route, { ...query, userId: ann.id }).expect(200);
          expect(viaAdmin.body).toEqual(own.body);
          expect(own.body).not.toEqual([]);
        }
      },
    );

    it('with userId narrows the /dashboard summary, recent and categories to that user', async () => {
      const res = await dash(app, admin, '', { userId: ben.id }).expect(200);
      expect(res.body.summary).toEqual((await dash(app, ben, '/summary')).body);
      expect(res.body.recent).toEqual((await dash(app, ben, '/recent')).body);
      expect(res.body.categories).toEqual((await dash(app, ben, '/categories')).body);
    });

    it.each(ROUTES)('gets 404 for an unknown userId on /dashboard%s', async (route) => {
      expectProblem(await dash(app, admin, route, { userId: UNKNOWN_ID }), 404);
    });
  });

  describe('userId from a non-admin', () => {
    it.each(ROUTES)(
      'is a 403 for an analyst on /dashboard%s, even naming itself',
      async (route) => {
        expectProblem(await dash(app, ann, route, { userId: ben.id }), 403);
        expectProblem(await dash(app, ann, route, { userId: ann.id }), 403);
      },
    );

    it.each(ROUTES)('is a 403 for a viewer on /dashboard%s', async (route) => {
      expectProblem(await dash(app, vic, route, { userId: vic.id }), 403);
    });
  });

  describe('validation', () => {
    const RANGED = ['', '/summary', '/recent', '/categories', '/trends'];

    it.each(RANGED)('rejects from after to on /dashboard%s', async (route) => {
      expectProblem(await dash(app, ann, route, { from: '2025-06-02', to: '2025-06-01' }), 400, [
        'from',
      ]);
    });

    it.each(RANGED)('rejects range together with from or to on /dashboard%s', async (route) => {
      expectProblem(await dash(app, ann, route, { range: 'mtd', from: '2025-06-01' }), 400, [
        'range',
      ]);
      expectProblem(await dash(app, ann, route, { range: 'all', to: '2025-06-01' }), 400, [
        'range',
      ]);
    });

    it.each(RANGED)('rejects an unknown range name on /dashboard%s', async (route) => {
      expectProblem(await dash(app, ann, route, { range: 'bogus' }), 400, ['range']);
    });

    it.each(ROUTES)('rejects an unknown query parameter on /dashboard%s', async (route) => {
      expectProblem(await dash(app, ann, route, { catgory: 'Food' }), 400, ['catgory']);
    });

    it('rejects impossible and malformed dates', async () => {
      expectProblem(await dash(app, ann, '/summary', { from: '2025-02-30' }), 400, ['from']);
      expectProblem(await dash(app, ann, '/summary', { to: '2025-6-1' }), 400, ['to']);
    });

    it('rejects a repeated query parameter', async () => {
      const res = await app
        .http()
        .get('/api/v1/dashboard/summary?range=mtd&range=ytd')
        .set(bearer(ann));
      expectProblem(res, 400, ['range']);
    });

    it('rejects interval=day', async () => {
      expectProblem(await dash(app, ann, '/trends', { interval: 'day' }), 400, ['interval']);
    });

    it('rejects type=transfer on /categories', async () => {
      expectProblem(await dash(app, ann, '/categories', { type: 'transfer' }), 400, ['type']);
    });

    it.each(['0', '13', '1.5', 'x'])('rejects months=%s on /forecast', async (months) => {
      expectProblem(await dash(app, ann, '/forecast', { months }), 400, ['months']);
    });

    it('rejects a userId that is not a uuid, for an admin', async () => {
      expectProblem(await dash(app, admin, '/summary', { userId: 'nobody' }), 400, ['userId']);
    });
  });
});
