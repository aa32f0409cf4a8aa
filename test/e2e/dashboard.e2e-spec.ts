import { startApp, type TestApp } from '../app';
import {
  categoryRow,
  createAll,
  dash,
  monthStart,
  pluck,
  point,
  usdSummary,
} from '../dashboard-helpers';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { createTx, type TxBody } from '../transactions';

// jest.config.js sets testTimeout per project, which jest ignores; starting an app can take >5 s.
jest.setTimeout(60_000);

/**
 * Dashboard figures for one user with known rows. Every expected value below was worked out by
 * hand from this table (live rows of Alice; D is soft-deleted; Bob's rows must never show up):
 *
 *   A1  2021-01-03 Sun  income  Gift        350.00   ISO week 2020-W53
 *   A2  2021-01-04 Mon  expense Transport     6.70   ISO week 2021-W01
 *   A3  2024-12-30 Mon  income  Salary     1000.00   ISO week 2025-W01, year 2024
 *   A4  2025-01-15 Wed  expense Rent        300.00   2025-W03
 *   A5  2025-01-31 Fri  expense Food         51.00   2025-W05 (Mon 27 Jan .. Sun 2 Feb)
 *   A6  2025-02-02 Sun  expense Transport    12.30   2025-W05
 *   --  2025-03          nothing live (D 2025-03-15 expense Food 999.99 is deleted)
 *   A7  2025-04-01 Tue  income  Freelance   650.00
 *   A8  2025-04-30 Wed  expense Food         50.00
 *   A9  2026-01-05 Mon  income  Salary     1000.00
 *   A10 2026-01-06 Tue  expense Rent        300.00
 *   A11 2026-01-07 Wed  expense Transport    80.00
 *
 * Income 3000.00 (Salary 2000.00, Freelance 650.00, Gift 350.00); expenses 800.00 (Rent 600.00,
 * Food 101.00, Transport 99.00); net 2200.00; 11 rows.
 */
describe('dashboard figures', () => {
  let app: TestApp;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let alices: TxBody[];
  /** Alice's row An of the table above. */
  const A = (n: number) => alices[n - 1];
  let c: TxBody[];

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    [alice, bob, carol] = await Promise.all([
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'analyst'),
      createUser(app, admin, 'analyst'),
    ]);
    const e = 'expense' as const;
    const i = 'income' as const;
    alices = await createAll(app, alice, [
      { type: i, amount: '350.00', category: 'Gift', date: '2021-01-03' },
      { type: e, amount: '6.70', category: 'Transport', date: '2021-01-04' },
      { type: i, amount: '1000.00', category: 'Salary', date: '2024-12-30' },
      { type: e, amount: '300.00', category: 'Rent', date: '2025-01-15' },
      { type: e, amount: '51.00', category: 'Food', date: '2025-01-31' },
      { type: e, amount: '12.30', category: 'Transport', date: '2025-02-02' },
      { type: i, amount: '650.00', category: 'Freelance', date: '2025-04-01' },
      { type: e, amount: '50.00', category: 'Food', date: '2025-04-30' },
      { type: i, amount: '1000.00', category: 'Salary', date: '2026-01-05' },
      { type: e, amount: '300.00', category: 'Rent', date: '2026-01-06' },
      { type: e, amount: '80.00', category: 'Transport', date: '2026-01-07' },
    ]);
    const d = await createTx(app, alice, {
      type: e,
      amount: '999.99',
      category: 'Food',
      date: '2025-03-15',
    });
    await app.http().delete(`/api/v1/transactions/${d.id}`).set(bearer(admin)).expect(204);
    await createAll(app, bob, [
      { type: i, amount: '777.77', category: 'Salary', date: '2025-01-15' },
      { type: e, amount: '10.00', category: 'Books', date: '2025-03-10' },
      { type: e, amount: '10.00', category: 'Games', date: '2025-03-10' },
      { type: e, amount: '10.00', category: 'Music', date: '2025-03-10' },
    ]);
    // Carol's rows are created in this order: the newest date first, two on the same date.
    c = await createAll(app, carol, [
      { type: e, amount: '70.00', category: 'Rent', date: '2025-07-01' },
      { type: e, amount: '10.00', category: 'Food', date: '2025-06-01' },
      { type: i, amount: '5.00', category: 'Pay', date: '2025-06-01' },
      { type: i, amount: '1.00', category: 'Pay', date: '2025-05-01' },
    ]);
  });
  afterAll(() => app?.stop());

  describe('summary', () => {
    it('totals live rows of the user only, leaving out the deleted row and other users', async () => {
      const res = await dash(app, alice, '/summary').expect(200);
      expect(res.body).toEqual(usdSummary('3000.00', '800.00', '2200.00', 11));
    });

    it('gives another user only its own totals', async () => {
      const res = await dash(app, bob, '/summary').expect(200);
      expect(res.body).toEqual(usdSummary('777.77', '30.00', '747.77', 4));
    });

    it('shows a negative net balance with two decimals', async () => {
      const res = await dash(app, alice, '/summary', { from: '2025-02-01', to: '2025-02-28' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(usdSummary('0.00', '12.30', '-12.30', 1));
    });

    it('includes rows on both edges of an inclusive from/to inside one month', async () => {
      const res = await dash(app, alice, '/summary', { from: '2025-01-15', to: '2025-01-31' });
      expect(res.body).toEqual(usdSummary('0.00', '351.00', '-351.00', 2));
    });

    it('gives zeros for a range that stops one day short of the rows on either side', async () => {
      const res = await dash(app, alice, '/summary', { from: '2025-01-16', to: '2025-01-30' });
      expect(res.body).toEqual(usdSummary('0.00', '0.00', '0.00', 0));
    });

    it('counts a range spanning partial months at both ends, edges included', async () => {
      // A3 (Dec 30) .. A7 (Apr 1): whole Jan-Mar plus a ragged start and end.
      const res = await dash(app, alice, '/summary', { from: '2024-12-30', to: '2025-04-01' });
      expect(res.body).toEqual(usdSummary('1650.00', '363.30', '1286.70', 5));
    });

    it('excludes the rows just outside a range that ends on a month end', async () => {
      const res = await dash(app, alice, '/summary', { from: '2024-12-31', to: '2025-03-31' });
      expect(res.body).toEqual(usdSummary('0.00', '363.30', '-363.30', 3));
    });

    it('accepts only from, or only to', async () => {
      const since = await dash(app, alice, '/summary', { from: '2026-01-06' }).expect(200);
      expect(since.body).toEqual(usdSummary('0.00', '380.00', '-380.00', 2));
      const until = await dash(app, alice, '/summary', { to: '2021-01-03' }).expect(200);
      expect(until.body).toEqual(usdSummary('350.00', '0.00', '350.00', 1));
    });
  });

  describe('categories', () => {
    it('lists totals, counts and half-up shares per type, largest total first', async () => {
      const res = await dash(app, alice, '/categories').expect(200);
      expect(res.body).toEqual([
        categoryRow('Salary', 'income', '2000.00', 2, '66.67'),
        categoryRow('Freelance', 'income', '650.00', 1, '21.67'),
        categoryRow('Rent', 'expense', '600.00', 2, '75.00'),
        categoryRow('Gift', 'income', '350.00', 1, '11.67'),
        // 101/800 = 12.625% -> 12.63 (half-up; half-even would say 12.62)
        categoryRow('Food', 'expense', '101.00', 2, '12.63'),
        categoryRow('Transport', 'expense', '99.00', 3, '12.38'),
      ]);
    });

    it('keeps only one type with type=', async () => {
      const income = await dash(app, alice, '/categories', { type: 'income' }).expect(200);
      expect(pluck(income.body, 'category')).toEqual(['Salary', 'Freelance', 'Gift']);
      const expense = await dash(app, alice, '/categories', { type: 'expense' }).expect(200);
      expect(expense.body).toEqual([
        categoryRow('Rent', 'expense', '600.00', 2, '75.00'),
        categoryRow('Food', 'expense', '101.00', 2, '12.63'),
        categoryRow('Transport', 'expense', '99.00', 3, '12.38'),
      ]);
    });

    it('computes shares within a range spanning partial months', async () => {
      const res = await dash(app, alice, '/categories', {
        type: 'expense',
        from: '2024-12-30',
        to: '2025-04-01',
      }).expect(200);
      // of 363.30: 300 -> 82.576..., 51 -> 14.037..., 12.30 -> 3.385...
      expect(res.body).toEqual([
        categoryRow('Rent', 'expense', '300.00', 1, '82.58'),
        categoryRow('Food', 'expense', '51.00', 1, '14.04'),
        categoryRow('Transport', 'expense', '12.30', 1, '3.39'),
      ]);
    });

    it('gives three equal categories 33.33 each', async () => {
      const res = await dash(app, bob, '/categories', { type: 'expense' }).expect(200);
      const byName = [...res.body].sort((x, y) => (x.category < y.category ? -1 : 1));
      expect(byName).toEqual([
        categoryRow('Books', 'expense', '10.00', 1, '33.33'),
        categoryRow('Games', 'expense', '10.00', 1, '33.33'),
        categoryRow('Music', 'expense', '10.00', 1, '33.33'),
      ]);
    });

    it('gives exact shares such as 1/8 = 12.50 and a sole category 100.00', async () => {
      const res = await dash(app, carol, '/categories').expect(200);
      expect(res.body).toEqual([
        categoryRow('Rent', 'expense', '70.00', 1, '87.50'),
        categoryRow('Food', 'expense', '10.00', 1, '12.50'),
        categoryRow('Pay', 'income', '6.00', 2, '100.00'),
      ]);
    });

    it('returns an empty list for a range without rows', async () => {
      const res = await dash(app, alice, '/categories', { from: '2025-03-01', to: '2025-03-31' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual([]);
    });
  });

  describe('trends', () => {
    it('fills the empty month between two non-empty ones with zeros', async () => {
      const res = await dash(app, alice, '/trends', {
        interval: 'month',
        from: '2024-12-01',
        to: '2025-04-30',
      }).expect(200);
      expect(res.body).toEqual([
        point('2024-12', '1000.00', '0.00', '1000.00'),
        point('2025-01', '0.00', '351.00', '-351.00'),
        point('2025-02', '0.00', '12.30', '-12.30'),
        point('2025-03', '0.00', '0.00', '0.00'),
        point('2025-04', '650.00', '50.00', '600.00'),
      ]);
    });

    it('uses month as the default interval and cuts partial months at the range edges', async () => {
      const res = await dash(app, alice, '/trends', { from: '2025-01-20', to: '2025-04-01' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual([
        point('2025-01', '0.00', '51.00', '-51.00'),
        point('2025-02', '0.00', '12.30', '-12.30'),
        point('2025-03', '0.00', '0.00', '0.00'),
        point('2025-04', '650.00', '0.00', '650.00'),
      ]);
    });

    it('labels ISO weeks and sums a week that crosses a month boundary', async () => {
      const res = await dash(app, alice, '/trends', {
        interval: 'week',
        from: '2024-12-30',
        to: '2025-02-09',
      }).expect(200);
      expect(res.body).toEqual([
        point('2025-W01', '1000.00', '0.00', '1000.00'), // Mon 2024-12-30 is in ISO year 2025
        point('2025-W02', '0.00', '0.00', '0.00'),
        point('2025-W03', '0.00', '300.00', '-300.00'),
        point('2025-W04', '0.00', '0.00', '0.00'),
        point('2025-W05', '0.00', '63.30', '-63.30'), // Fri Jan 31 + Sun Feb 2
        point('2025-W06', '0.00', '0.00', '0.00'),
      ]);
    });

    it('puts 2021-01-03 in week 2020-W53 but in year 2021', async () => {
      const range = { from: '2020-12-28', to: '2021-01-10' };
      const weeks = await dash(app, alice, '/trends', { interval: 'week', ...range }).expect(200);
      expect(weeks.body).toEqual([
        point('2020-W53', '350.00', '0.00', '350.00'),
        point('2021-W01', '0.00', '6.70', '-6.70'),
      ]);
      const years = await dash(app, alice, '/trends', { interval: 'year', ...range }).expect(200);
      expect(years.body).toEqual([
        point('2020', '0.00', '0.00', '0.00'),
        point('2021', '350.00', '6.70', '343.30'),
      ]);
    });

    it('counts only the days of a week that fall inside the range', async () => {
      const res = await dash(app, alice, '/trends', {
        interval: 'week',
        from: '2025-01-29',
        to: '2025-02-01',
      }).expect(200);
      expect(res.body).toEqual([point('2025-W05', '0.00', '51.00', '-51.00')]);
    });

    it('sums whole years, empty years included', async () => {
      const res = await dash(app, alice, '/trends', {
        interval: 'year',
        from: '2021-01-01',
        to: '2026-12-31',
      }).expect(200);
      expect(res.body).toEqual([
        point('2021', '350.00', '6.70', '343.30'),
        point('2022', '0.00', '0.00', '0.00'),
        point('2023', '0.00', '0.00', '0.00'),
        point('2024', '1000.00', '0.00', '1000.00'),
        point('2025', '650.00', '413.30', '236.70'),
        point('2026', '1000.00', '380.00', '620.00'),
      ]);
    });

    it('starts range=all at the first transaction and runs to the current period', async () => {
      const today = new Date().toISOString().slice(0, 10);
      const months = await dash(app, alice, '/trends', { range: 'all' }).expect(200);
      const [y, m] = today.split('-').map(Number);
      expect(months.body).toHaveLength((y - 2021) * 12 + m);
      expect(months.body[0]).toEqual(point('2021-01', '350.00', '6.70', '343.30'));
      expect(months.body[1]).toEqual(point('2021-02', '0.00', '0.00', '0.00'));
      expect((months.body as { period: string }[]).at(-1)?.period).toBe(
        monthStart(today).slice(0, 7),
      );
      const years = await dash(app, alice, '/trends', { interval: 'year' }).expect(200);
      expect(pluck(years.body, 'period')).toEqual(
        Array.from({ length: y - 2020 }, (_, k) => String(2021 + k)),
      );
      const weeks = await dash(app, alice, '/trends', { interval: 'week' }).expect(200);
      expect(weeks.body[0]).toEqual(point('2020-W53', '350.00', '0.00', '350.00'));
    });
  });

  describe('recent', () => {
    const ids = (rows: TxBody[]) => rows.map((r) => r.id);

    it('lists the latest 10 by date by default, without deleted rows or other users', async () => {
      const res = await dash(app, alice, '/recent').expect(200);
      expect(ids(res.body)).toEqual(
        ids([A(11), A(10), A(9), A(8), A(7), A(6), A(5), A(4), A(3), A(2)]),
      );
      expect(res.body[0]).toEqual({
        id: A(11).id,
        ownerId: alice.id,
        type: 'expense',
        amount: '80.00',
        currency: 'USD',
        accountId: null,
        category: 'Transport',
        date: '2026-01-07',
        notes: null,
        createdAt: A(11).createdAt,
        updatedAt: expect.any(String),
      });
    });

    it('orders by date, then by createdAt newest first, and honours limit', async () => {
      const all = await dash(app, carol, '/recent').expect(200);
      expect(ids(all.body)).toEqual(ids([c[0], c[2], c[1], c[3]]));
      const two = await dash(app, carol, '/recent', { limit: 2 }).expect(200);
      expect(ids(two.body)).toEqual(ids([c[0], c[2]]));
    });

    it('applies from/to', async () => {
      const res = await dash(app, alice, '/recent', { from: '2025-01-01', to: '2025-02-28' });
      expect(res.status).toBe(200);
      expect(ids(res.body)).toEqual(ids([A(6), A(5), A(4)]));
    });

    it('accepts limit 1 and 50 and rejects 0 and 51', async () => {
      expect((await dash(app, alice, '/recent', { limit: 1 }).expect(200)).body).toHaveLength(1);
      expect((await dash(app, alice, '/recent', { limit: 50 }).expect(200)).body).toHaveLength(11);
      for (const limit of [0, 51]) {
        const res = await dash(app, alice, '/recent', { limit }).expect(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body.errors).toEqual([expect.objectContaining({ field: 'limit' })]);
      }
    });
  });
});
