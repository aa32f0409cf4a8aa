import type { HttpException } from '@nestjs/common';
import fc from 'fast-check';
import { addDays, addMonths, startOfMonth, todayIn } from '../../src/common/dates';
import { DashboardRepository, EVERY_USER } from '../../src/dashboard/dashboard.repository';
import { DashboardService } from '../../src/dashboard/dashboard.service';
import { ReadRouting } from '../../src/database/replicas/read-routing';
import { ExchangeRatesService } from '../../src/exchange-rates/exchange-rates.service';
import { TransactionsService } from '../../src/transactions/transactions.service';
import type { User } from '../../src/users/entities/user.entity';
import { Rational } from '../exact-rational';
import { createUser } from './factories';
import {
  convertedSum,
  expectedSummary,
  missingOf,
  type Rate,
  type Tx,
  UNITS,
  MISSING_RATE_ROWS,
  RATES,
} from '../fx-reference';
import { sleep } from '../waits';
import { type Harness, startHarness } from './harness';

/**
 * Dashboards in a reporting currency (docs/api.md, "Reporting currency"), in process: rates set
 * through ExchangeRatesService, rows created through TransactionsService, figures read from
 * DashboardService with the query objects the routes pass it. Every expected figure is computed
 * independently by test/fx-reference.ts (exact rationals, the lookup rule written out again). The
 * HTTP side (the 422 problem body with `missingRates`, the 400 for a bad `currency=`) stays in
 * test/e2e/dashboard-currency.e2e-spec.ts.
 */
describe('dashboards in a reporting currency', () => {
  let h: Harness;
  let rates: ExchangeRatesService;
  let transactions: TransactionsService;
  let dashboard: DashboardService;

  /** Each rate is new, as PUT answering 201 said in the e2e version. */
  async function putRates(list: Rate[]): Promise<void> {
    for (const { rate, ...key } of list) {
      const { created } = await rates.set(h.admin, key, rate);
      if (!created) throw new Error(`rate ${JSON.stringify(key)} already existed`);
    }
  }

  async function userWith(rows: Tx[]): Promise<User> {
    const user = await createUser(h, 'analyst');
    for (const row of rows) await transactions.create(user, { ...row });
    return user;
  }

  beforeAll(async () => {
    h = await startHarness();
    rates = h.get(ExchangeRatesService);
    transactions = h.get(TransactionsService);
    dashboard = h.get(DashboardService);
    await putRates(RATES);
  });
  afterAll(() => h?.close());

  describe('rates chosen by date, inverse and cross rates', () => {
    const rows: Tx[] = [
      { type: 'income', amount: '100.00', currency: 'EUR', category: 'Sales', date: '2026-01-05' },
      { type: 'income', amount: '100.00', currency: 'EUR', category: 'Sales', date: '2026-01-12' },
      { type: 'income', amount: '80.00', currency: 'GBP', category: 'Sales', date: '2026-01-06' },
      { type: 'expense', amount: '1500', currency: 'JPY', category: 'Travel', date: '2026-01-03' },
      { type: 'expense', amount: '1000', currency: 'JPY', category: 'Travel', date: '2026-01-11' },
      { type: 'expense', amount: '10.00', currency: 'USD', category: 'Food', date: '2026-01-05' },
      // Exactly FX_MAX_AGE_DAYS after the 2026-01-10 rates: still usable (inclusive).
      { type: 'expense', amount: '7.77', currency: 'EUR', category: 'Food', date: '2026-01-17' },
    ];
    let user: User;

    beforeAll(async () => {
      user = await userWith(rows);
    });

    it.each(['USD', 'EUR', 'JPY'])('sums every row at its own date’s rate into %s', async (r) => {
      expect(await dashboard.summary(user, { currency: r })).toEqual(
        expectedSummary(RATES, rows, r),
      );
    });

    it('spot-checks the rule by hand: 100 EUR at 1.1 and at 1.2, 1500 JPY at 1/150, 1000 JPY at 1/160, 80 GBP at 1.25', async () => {
      // 110 + 120 + 100 income; 10 + 6.25 + 10 + 7.77 * 1.2 (= 9.324) expenses.
      expect(await dashboard.summary(user, {})).toMatchObject({
        currency: 'USD',
        totalIncome: '330.00',
        totalExpenses: '35.57',
        netBalance: '294.43',
      });
    });

    it('converts each category total and each trend point, rounding each once', async () => {
      for (const r of ['EUR', 'JPY']) {
        const cats = await dashboard.categories(user, { currency: r });
        const byKey = (type: string, category: string) =>
          convertedSum(
            RATES,
            rows.filter((t) => t.type === type && t.category === category),
            r,
          ).toMoney(UNITS[r]);
        for (const row of cats) {
          expect(row.currency).toBe(r);
          expect(row.total).toBe(byKey(row.type, row.category));
        }
        expect(cats).toHaveLength(3);
        const trends = await dashboard.trends(user, {
          currency: r,
          from: '2026-01-01',
          to: '2026-01-31',
        });
        const summary = expectedSummary(RATES, rows, r);
        expect(trends).toEqual([
          {
            period: '2026-01',
            currency: r,
            income: summary.totalIncome,
            expenses: summary.totalExpenses,
            net: summary.netBalance,
          },
        ]);
      }
    });

    it('takes currency= on the forecast too, and names it', async () => {
      const forecast = await dashboard.forecast(user, { currency: 'JPY' });
      expect(forecast.currency).toBe('JPY');
      for (const m of forecast.months) {
        expect(m.currency).toBe('JPY');
        expect(m.income).toMatch(/^\d+$/); // no minor units
      }
    });

    it('lists the transactions of recent in their own currencies, unconverted', async () => {
      const recent = await dashboard.recent(user, { currency: 'EUR' });
      const jpy = recent.filter((t) => t.currency === 'JPY');
      expect(jpy.map((t) => t.amount).sort()).toEqual(['1000', '1500']);
    });

    it('answers the same figures inside GET /dashboard', async () => {
      const overview = await dashboard.overview(user, { currency: 'JPY' });
      expect(overview.summary).toEqual(expectedSummary(RATES, rows, 'JPY'));
      const trends = overview.trends!;
      expect(trends.length).toBeGreaterThan(0);
      expect(trends.every((p) => p.currency === 'JPY')).toBe(true);
    });
  });

  describe('missing rates', () => {
    const rows = MISSING_RATE_ROWS;
    let user: User;

    beforeAll(async () => {
      user = await userWith(rows);
    });

    it('refuses a forecast whose history lacks a rate, naming the missing rates', async () => {
      // Two complete months before the current one, in EUR, far from any EUR rate.
      const month = startOfMonth(todayIn(h.config.reportTimeZone));
      const days = [addDays(addMonths(month, -2), 4), addDays(addMonths(month, -1), 9)];
      const eur = await userWith(
        days.map((date) => ({
          type: 'income',
          amount: '10.00',
          currency: 'EUR',
          category: 'Sales',
          date,
        })),
      );
      const error = await dashboard.forecast(eur, {}).then(
        () => undefined,
        (e: unknown) => e as HttpException,
      );
      expect(error?.getStatus()).toBe(422);
      const response = error!.getResponse() as { extensions: { missingRates: unknown } };
      expect(response.extensions.missingRates).toEqual(
        days.map((date) => ({ from: 'EUR', to: 'USD', date })),
      );
    });

    it('needs no rate for rows already in the reporting currency, and a range without the gaps works', async () => {
      const kwd = await dashboard.summary(user, {
        currency: 'KWD',
        from: '2026-01-01',
        to: '2026-01-03',
      });
      expect(kwd).toMatchObject({
        currency: 'KWD',
        totalExpenses: '3.005',
        totalIncome: '0.000',
      });
      const eur = await dashboard.summary(user, { from: '2026-01-04', to: '2026-01-10' });
      expect(eur).toMatchObject({ totalIncome: '5.50', totalExpenses: '0.00' });
    });
  });

  describe('rounding', () => {
    it('rounds a tie reached through an inverse rate half to even (0.045 KWD at 1 / 3 is exactly 0.015 USD)', async () => {
      await putRates([{ base: 'USD', quote: 'KWD', date: '2026-03-01', rate: '3' }]);
      const user = await userWith([
        { type: 'income', amount: '0.045', currency: 'KWD', category: 'x', date: '2026-03-01' },
        { type: 'expense', amount: '0.075', currency: 'KWD', category: 'y', date: '2026-03-02' },
        { type: 'expense', amount: '0.001', currency: 'KWD', category: 'z', date: '2026-03-02' },
      ]);
      // 0.015 -> 0.02 (half to even); 0.025 + 0.000333… -> 0.03 (not a tie: above it).
      expect(await dashboard.summary(user, {})).toMatchObject({
        totalIncome: '0.02',
        totalExpenses: '0.03',
      });
      const cats = await dashboard.categories(user, {});
      const totals = Object.fromEntries(cats.map((c) => [c.category, c.total]));
      // 0.025 is a tie on its own: half to even gives 0.02; 0.000333… rounds to 0.00.
      expect(totals).toEqual({ x: '0.02', y: '0.02', z: '0.00' });
    });

    it('rounds half to even at exactly half a minor unit', async () => {
      // CHF -> USD at 0.5: 0.01 -> 0.005 (to 0.00), 0.03 -> 0.015 (to 0.02), 0.05 -> 0.025 (to 0.02).
      const a = await userWith([
        { type: 'income', amount: '0.01', currency: 'CHF', category: 'x', date: '2026-02-01' },
      ]);
      const b = await userWith([
        { type: 'income', amount: '0.03', currency: 'CHF', category: 'x', date: '2026-02-01' },
        { type: 'expense', amount: '0.05', currency: 'CHF', category: 'y', date: '2026-02-02' },
      ]);
      expect(await dashboard.summary(a, {})).toMatchObject({
        totalIncome: '0.00',
        netBalance: '0.00',
      });
      expect(await dashboard.summary(b, {})).toMatchObject({
        totalIncome: '0.02',
        totalExpenses: '0.02',
        netBalance: '0.00',
      });
    });
  });

  describe('whole months kept converted (rollup_converted)', () => {
    // A year no other test uses: EUR->USD at 1.5 from January 10th, 2 from February 10th.
    const jan = '2090-01-12';
    const feb = '2090-02-12';
    const janRate = { base: 'EUR', quote: 'USD', date: '2090-01-10' };
    const febRate = { base: 'EUR', quote: 'USD', date: '2090-02-10' };
    const range = { from: '2090-01-01', to: '2090-12-31' };
    let repo: DashboardRepository;
    let user: User;
    let janId: string;

    const toUsd = () => ({
      currency: 'USD',
      maxAgeDays: h.config.fxMaxAgeDays,
      base: h.config.baseCurrency,
    });
    const income = async () => (await dashboard.summary(user, range)).totalIncome;
    /** Every cached month of the user gains `by`: a read that shows it read the cache. */
    const tamper = (by: string, month?: string) =>
      h.sql.query(
        `UPDATE rollup_converted SET amount = amount + $2::numeric
         WHERE scope_id = $1 AND ($3::date IS NULL OR month = $3::date)`,
        [user.id, by, month ?? null],
      );

    /** Stores every month afresh (a refresh leaves a row of current versions as it is). */
    const storeAfresh = async () => {
      await h.sql.query(`DELETE FROM rollup_converted WHERE scope_id = $1`, [user.id]);
      await repo.refreshConverted(user.id, toUsd());
    };

    beforeAll(async () => {
      repo = h.get(DashboardRepository);
      await putRates([
        { ...janRate, rate: '1.5' },
        { ...febRate, rate: '2' },
      ]);
      user = await createUser(h, 'analyst');
      const row = { type: 'income' as const, currency: 'EUR', category: 'Sales' };
      janId = (await transactions.create(user, { ...row, amount: '100.00', date: jan })).id;
      await transactions.create(user, { ...row, amount: '100.00', date: feb });
    });

    it('answers from the stored months once they are current, with the figures the days give', async () => {
      expect(await income()).toBe('350.00');
      await repo.refreshConverted(user.id, toUsd());
      const stored = await h.sql.query<{ month: string; amount: string }>(
        `SELECT month::text, amount::text FROM rollup_converted WHERE scope_id = $1 ORDER BY 1`,
        [user.id],
      );
      expect(stored.rows.map((r) => [r.month, Number(r.amount)])).toEqual([
        ['2090-01-01', 150],
        ['2090-02-01', 200],
      ]);
      expect(await income()).toBe('350.00');
      await tamper('1000');
      expect(await income()).toBe('2350.00');
    });

    it('converts a month from its days again once a row in it changes, even to the same total', async () => {
      await storeAfresh();
      await tamper('1000');
      // Another day of the month: January's total and count stay as they were.
      await transactions.update(user, janId, { date: '2090-01-16' });
      expect(await income()).toBe('1350.00');
      // Stored again: January from its new version, February (unchanged) left as it was.
      await repo.refreshConverted(user.id, toUsd());
      await tamper('10', '2090-01-01');
      expect(await income()).toBe('1360.00');
    });

    it('converts the months a rate change can reach again, and keeps the months before it', async () => {
      await storeAfresh();
      await tamper('1000');
      const { created } = await rates.set(h.admin, febRate, '3');
      expect(created).toBe(false);
      // February: 100 EUR at 3; January keeps its stored (tampered) figure.
      expect(await income()).toBe('1450.00');
      // Stored again: February converted anew, January kept as it was stored.
      await repo.refreshConverted(user.id, toUsd());
      expect(await income()).toBe('1450.00');
      const behind = () =>
        h.sql.query(
          `SELECT 1 FROM rollup_converted WHERE scope_id = $1
             AND rates_version <> (SELECT version FROM fx_rates_version)`,
          [user.id],
        );
      expect((await behind()).rowCount).toBe(1);
      // Rate writes that reach no stored month: past 50 of them, a fill stamps January afresh.
      for (let day = 1; day <= 51; day++)
        await rates.set(
          h.admin,
          { base: 'EUR', quote: 'USD', date: `2095-01-${String((day % 28) + 1).padStart(2, '0')}` },
          String(day),
        );
      await repo.refreshConverted(user.id, toUsd());
      expect((await behind()).rowCount).toBe(0);
      expect(await income()).toBe('1450.00');
      await rates.set(h.admin, janRate, '1.25');
      expect(await income()).toBe('425.00');
      // The January change covers all the February one did: only one is kept from then on.
      const kept = await h.sql.query(`SELECT 1 FROM fx_rate_changes WHERE earliest >= $1`, [
        janRate.date,
      ]);
      expect(kept.rowCount).toBe(1);
      await repo.refreshConverted(user.id, toUsd());
      await tamper('1000', '2090-02-01');
      expect(await income()).toBe('1425.00');
    });
  });

  describe('all time kept converted (rollup_converted_totals)', () => {
    // A year of its own: EUR->USD at 1.5 from January 10th.
    const rate = { base: 'EUR', quote: 'USD', date: '2091-01-10' };
    let user: User;
    let firstId: string;

    const toUsd = () => ({
      currency: 'USD',
      maxAgeDays: h.config.fxMaxAgeDays,
      base: h.config.baseCurrency,
    });
    /** No dates: all time. */
    const income = async () => (await dashboard.summary(user, {})).totalIncome;
    const storeAfresh = async () => {
      await h.sql.query(`DELETE FROM rollup_converted_totals WHERE scope_id = $1`, [user.id]);
      await h.get(DashboardRepository).refreshConverted(user.id, toUsd());
    };
    /** Every stored all-time figure of the user gains 1000: a read that shows it read them. */
    const tamper = () =>
      h.sql.query(`UPDATE rollup_converted_totals SET amount = amount + 1000 WHERE scope_id = $1`, [
        user.id,
      ]);
    const sales = { type: 'income' as const, currency: 'EUR', category: 'Sales' };

    beforeAll(async () => {
      await putRates([{ ...rate, rate: '1.5' }]);
      user = await createUser(h, 'analyst');
      firstId = (
        await transactions.create(user, { ...sales, amount: '100.00', date: '2091-01-12' })
      ).id;
      await transactions.create(user, { ...sales, amount: '100.00', date: '2091-01-14' });
    });

    it('answers all time from the stored totals once they are current', async () => {
      expect(await income()).toBe('300.00');
      await storeAfresh();
      const stored = await h.sql.query<{ amount: string }>(
        `SELECT amount::text FROM rollup_converted_totals WHERE scope_id = $1`,
        [user.id],
      );
      expect(stored.rows.map((r) => Number(r.amount))).toEqual([300]);
      await tamper();
      expect(await income()).toBe('1300.00');
    });

    it('stops using them once a row moves to another day, even with the same total', async () => {
      await storeAfresh();
      await tamper();
      await transactions.update(user, firstId, { date: '2091-01-15' });
      expect(await income()).toBe('300.00');
    });

    it('stops using them after any rate change, and counts nothing twice meanwhile', async () => {
      await storeAfresh();
      await tamper();
      await putRates([{ base: 'EUR', quote: 'USD', date: '2091-06-01', rate: '9' }]);
      expect(await income()).toBe('300.00');
      await storeAfresh();
      await tamper();
      // A new category: one total of the scope is not stored yet, so the scope reads its months.
      await transactions.create(user, {
        ...sales,
        category: 'Fees',
        amount: '10.00',
        date: '2091-01-12',
      });
      expect(await income()).toBe('315.00');
    });

    it('answers the per-user overview from stored totals for some users and months for others', async () => {
      const repo = h.get(DashboardRepository);
      const other = await createUser(h, 'analyst');
      await transactions.create(other, { ...sales, amount: '10.00', date: '2091-01-12' });
      await h.sql.query(`DELETE FROM rollup_converted_totals WHERE scope_id = $1`, [user.id]);
      await repo.refreshConverted(EVERY_USER, toUsd());
      // The user's two stored totals (Sales, Fees) gain 1000 each.
      await tamper();
      // A category the other user's totals have not stored: that user reads months.
      await transactions.create(other, {
        ...sales,
        category: 'Fees',
        amount: '2.00',
        date: '2091-01-12',
      });
      const rows = await repo.summaryByUser({}, toUsd());
      // Exactly: the unrounded 40-decimal sums as rationals, not as floating point.
      const incomeOf = (id: string) => Rational.of(rows.find((r) => r.userId === id)!.income);
      expect(incomeOf(user.id)).toEqual(Rational.of('2315'));
      expect(incomeOf(other.id)).toEqual(Rational.of('18'));
    });
  });

  it('property: for random rows and rates, every figure equals the exact sum rounded once', async () => {
    let run = 0;
    const amount = (units: number) =>
      fc
        .tuple(fc.integer({ min: 1, max: 5_000_000 }))
        .map(([minor]) =>
          units === 0
            ? String(minor)
            : `${Math.floor(minor / 10 ** units)}.${String(minor % 10 ** units).padStart(units, '0')}`,
        );
    const currency = fc.constantFrom('USD', 'EUR', 'JPY', 'KWD');
    const tx = currency.chain((c) =>
      fc.record({
        type: fc.constantFrom('income' as const, 'expense' as const),
        amount: amount(UNITS[c]),
        currency: fc.constant(c),
        category: fc.constantFrom('Rent', 'rent', 'Food', 'Travel'),
        day: fc.integer({ min: 1, max: 20 }),
      }),
    );
    const rate = fc
      .tuple(fc.integer({ min: 1, max: 2_000_000 }), fc.integer({ min: 0, max: 4 }))
      .map(([n, scale]) => Rational.of(String(n)).div(Rational.of(String(10 ** scale))))
      .map((r) => r.toMoney(6).replace(/\.?0+$/, ''))
      .filter((r) => r !== '0' && r !== '');
    await fc.assert(
      fc.asyncProperty(
        fc.array(tx, { minLength: 1, maxLength: 10 }),
        fc.array(rate, { minLength: 9, maxLength: 9 }),
        fc.constantFrom('USD', 'EUR', 'JPY', 'KWD'),
        async (txs, rateValues, reporting) => {
          // A year of its own per run, so runs never share rates or rows.
          const year = 2101 + run++;
          const date = (day: number) => `${year}-03-${String(day).padStart(2, '0')}`;
          // EUR->USD direct, USD->JPY (JPY converts by the inverse), KWD->EUR (KWD reaches USD
          // only through... nothing: KWD->USD is missing unless the reporting currency is EUR or KWD).
          const runRates: Rate[] = [1, 8, 15].flatMap((day, i) => [
            { base: 'EUR', quote: 'USD', date: date(day), rate: rateValues[i * 3] },
            { base: 'USD', quote: 'JPY', date: date(day), rate: rateValues[i * 3 + 1] },
            { base: 'KWD', quote: 'EUR', date: date(day), rate: rateValues[i * 3 + 2] },
          ]);
          await putRates(runRates);
          const rows: Tx[] = txs.map(({ day, ...t }) => ({ ...t, date: date(day) }));
          const user = await userWith(rows);
          const missing = missingOf(runRates, rows, reporting);
          const outcome = await dashboard.summary(user, { currency: reporting }).then(
            (body) => ({ body, error: undefined }),
            (error: unknown) => ({ body: undefined, error: error as HttpException }),
          );
          if (missing.length > 0) {
            // What the e2e read as a 422 whose body carries missingRates: the service's exception.
            expect(outcome.error?.getStatus()).toBe(422);
            const response = outcome.error!.getResponse() as {
              extensions: { missingRates: unknown };
            };
            expect(response.extensions.missingRates).toEqual(missing);
            return;
          }
          if (outcome.error) throw outcome.error;
          const summary = outcome.body;
          expect(summary).toEqual(expectedSummary(runRates, rows, reporting));
          // The figures below come from the months as stored converted (rollup_converted).
          await h.get(DashboardRepository).refreshConverted(user.id, {
            currency: reporting,
            maxAgeDays: h.config.fxMaxAgeDays,
            base: h.config.baseCurrency,
          });
          expect(await dashboard.summary(user, { currency: reporting })).toEqual(summary);
          const units = UNITS[reporting];
          const cats = await dashboard.categories(user, { currency: reporting });
          for (const c of cats) {
            const these = rows.filter((t) => t.type === c.type && t.category === c.category);
            expect(c.total).toBe(convertedSum(runRates, these, reporting).toMoney(units));
          }
          const trends = await dashboard.trends(user, {
            currency: reporting,
            from: date(1),
            to: date(31),
          });
          expect(trends).toEqual([
            {
              period: `${year}-03`,
              currency: reporting,
              income: summary.totalIncome,
              expenses: summary.totalExpenses,
              net: summary.netBalance,
            },
          ]);
        },
      ),
      { numRuns: 12 },
    );
  });
  /**
   * Which statements a read sends (DashboardRepository.inReportingCurrency): a range holding only
   * the reporting currency's live rows is answered by one statement on its own rollup rows; any
   * other currency in the range adds the converting one. The figures are the reference's either
   * way (the tests above cover the converting path).
   */
  describe('one statement unless something needs converting', () => {
    let sent: string[];

    beforeEach(() => {
      sent = [];
      const routing = h.get(ReadRouting);
      const reader = routing.reader.bind(routing);
      jest.spyOn(routing, 'reader').mockImplementation(async (options) => {
        const inner = await reader(options);
        return {
          query: (sql: string, params?: unknown[]) => {
            sent.push(sql);
            return inner.query(sql, params);
          },
        };
      });
    });
    afterEach(() => jest.restoreAllMocks());

    const converting = () => sent.filter((sql) => sql.includes('day_rates'));

    it('reads only the reporting currency’s rows for a scope that holds no other', async () => {
      const rows: Tx[] = [
        {
          type: 'income',
          amount: '100.00',
          currency: 'USD',
          category: 'Sales',
          date: '2026-02-02',
        },
        { type: 'expense', amount: '12.34', currency: 'USD', category: 'Food', date: '2026-03-04' },
      ];
      const user = await userWith(rows);
      expect(await dashboard.summary(user, {})).toEqual(expectedSummary(RATES, rows, 'USD'));
      const cats = await dashboard.categories(user, {});
      const trends = await dashboard.trends(user, { from: '2026-02-01', to: '2026-03-31' });
      const forecast = await dashboard.forecast(user, {});
      expect(sent).toHaveLength(4);
      expect(converting()).toEqual([]);
      expect(cats.map((c) => [c.category, c.total])).toEqual(
        expect.arrayContaining([
          ['Sales', '100.00'],
          ['Food', '12.34'],
        ]),
      );
      expect(trends.map((t) => [t.period, t.income, t.expenses])).toEqual([
        ['2026-02', '100.00', '0.00'],
        ['2026-03', '0.00', '12.34'],
      ]);
      expect(forecast.currency).toBe('USD');
    });

    it('converts when another currency has live rows in the range, and only then', async () => {
      const usd: Tx = {
        type: 'expense',
        amount: '10.00',
        currency: 'USD',
        category: 'Food',
        date: '2026-01-05',
      };
      const eur: Tx = {
        type: 'income',
        amount: '100.00',
        currency: 'EUR',
        category: 'Sales',
        date: '2026-01-12',
      };
      const user = await userWith([usd]);
      const created = await transactions.create(user, { ...eur });

      const both = expectedSummary(RATES, [usd, eur], 'USD');
      expect(await dashboard.summary(user, {})).toEqual(both);
      expect(sent).toHaveLength(2);
      expect(converting()).toHaveLength(1);
      // Right after, the same read goes straight to the converting statement (the hint).
      sent = [];
      expect(await dashboard.summary(user, {})).toEqual(both);
      expect(sent).toHaveLength(1);
      expect(converting()).toHaveLength(1);

      // The EUR row lies outside this range: nothing to convert there.
      sent = [];
      const before = await dashboard.summary(user, { from: '2026-01-01', to: '2026-01-10' });
      expect(before).toEqual(expectedSummary(RATES, [usd], 'USD'));
      expect(sent).toHaveLength(1);
      expect(converting()).toEqual([]);

      // Deleted, it leaves zero rollup rows behind in EUR, which need no rate: once the hint has
      // lapsed (1 s), the own-currency statement answers alone again.
      await transactions.remove(user, created.id);
      await sleep(1_100);
      sent = [];
      expect(await dashboard.summary(user, {})).toEqual(expectedSummary(RATES, [usd], 'USD'));
      expect(sent).toHaveLength(1);
      expect(converting()).toEqual([]);
    });

    it('property: over random ranges, one own-currency statement exactly when no other currency is in range, and the reference figures either way', async () => {
      // USD rows from November to March; EUR rows only where RATES converts them (in January),
      // so ranges of whole months with ragged edges hold them in a month, at an edge, or not at all.
      const day = (n: number) => addDays('2025-11-01', n);
      const usd = fc.record({
        type: fc.constantFrom('income' as const, 'expense' as const),
        amount: fc.integer({ min: 1, max: 99_999 }).map((c) => (c / 100).toFixed(2)),
        currency: fc.constant('USD'),
        category: fc.constantFrom('Food', 'Rent'),
        date: fc.integer({ min: 0, max: 150 }).map(day),
      });
      const eur = fc.record({
        type: fc.constantFrom('income' as const, 'expense' as const),
        amount: fc.integer({ min: 1, max: 99_999 }).map((c) => (c / 100).toFixed(2)),
        currency: fc.constant('EUR'),
        category: fc.constantFrom('Food', 'Sales'),
        // The 9th is 8 days after the 1st's rate and before the 10th's: none converts it.
        date: fc
          .integer({ min: 1, max: 16 })
          .map((d) => `2026-01-${String(d < 9 ? d : d + 1).padStart(2, '0')}`),
      });
      const edge = fc.option(fc.integer({ min: 0, max: 150 }).map(day), { nil: undefined });
      const bounds = fc
        .tuple(edge, edge)
        .map(([a, b]) => (a && b && a > b ? { from: b, to: a } : { from: a, to: b }));
      await fc.assert(
        fc.asyncProperty(
          fc.array(usd, { minLength: 1, maxLength: 6 }),
          fc.array(eur, { maxLength: 2 }),
          fc.array(bounds, { minLength: 3, maxLength: 3 }),
          async (usdRows, eurRows, ranges) => {
            const rows = [...usdRows, ...eurRows];
            const user = await userWith(rows);
            for (const range of ranges) {
              const within = rows.filter(
                (t) => (!range.from || t.date >= range.from) && (!range.to || t.date <= range.to),
              );
              const converts = within.some((t) => t.currency === 'EUR');
              sent = [];
              expect(await dashboard.summary(user, range)).toEqual(
                expectedSummary(RATES, within, 'USD'),
              );
              // Converting: answered by the converting statement, after the own-currency one
              // unless a read of the same range just needed it too (the hint).
              if (converts) expect(converting()).toEqual([sent.at(-1)]);
              else expect([sent.length, converting().length]).toEqual([1, 0]);

              const cats = await dashboard.categories(user, range);
              const keys = new Set(within.map((t) => `${t.type} ${t.category}`));
              expect(cats).toHaveLength(keys.size);
              for (const c of cats) {
                const these = within.filter((t) => t.type === c.type && t.category === c.category);
                expect([c.total, c.count]).toEqual([
                  convertedSum(RATES, these, 'USD').toMoney(UNITS.USD),
                  these.length,
                ]);
              }

              for (const point of await dashboard.trends(user, range)) {
                const month = within.filter((t) => t.date.startsWith(point.period));
                const sum = (type: Tx['type']) =>
                  convertedSum(
                    RATES,
                    month.filter((t) => t.type === type),
                    'USD',
                  ).toMoney(UNITS.USD);
                expect([point.period, point.income, point.expenses]).toEqual([
                  point.period,
                  sum('income'),
                  sum('expense'),
                ]);
              }
            }
          },
        ),
        { numRuns: 15 },
      );
    });

    it('answers weekly trends and the categories of one type from own rows too', async () => {
      const rows: Tx[] = [
        { type: 'income', amount: '40.00', currency: 'USD', category: 'Sales', date: '2026-02-02' },
        { type: 'expense', amount: '5.50', currency: 'USD', category: 'Food', date: '2026-02-04' },
        { type: 'expense', amount: '4.50', currency: 'USD', category: 'Food', date: '2026-02-10' },
      ];
      const user = await userWith(rows);
      const weeks = await dashboard.trends(user, {
        interval: 'week',
        from: '2026-02-02',
        to: '2026-02-15',
      });
      expect(weeks.map((w) => [w.period, w.income, w.expenses])).toEqual([
        ['2026-W06', '40.00', '5.50'],
        ['2026-W07', '0.00', '4.50'],
      ]);
      const expenses = await dashboard.categories(user, { type: 'expense' });
      expect(expenses.map((c) => [c.category, c.total, c.count])).toEqual([['Food', '10.00', 2]]);
      expect(converting()).toEqual([]);
      expect(sent).toHaveLength(2);
    });

    it('sets no hint on an empty answer: the next read of the range answers from own rows', async () => {
      const food: Tx = {
        type: 'expense',
        amount: '3.00',
        currency: 'USD',
        category: 'Food',
        date: '2026-02-03',
      };
      const user = await userWith([food]);
      expect(await dashboard.categories(user, { type: 'income' })).toEqual([]);
      expect(sent).toHaveLength(2);
      sent = [];
      expect(await dashboard.summary(user, {})).toEqual(expectedSummary(RATES, [food], 'USD'));
      expect([sent.length, converting().length]).toEqual([1, 0]);
    });

    it('converts an empty answer’s scope the full way: no rows tell nothing', async () => {
      const eur: Tx = {
        type: 'income',
        amount: '50.00',
        currency: 'EUR',
        category: 'Sales',
        date: '2026-01-12',
      };
      const user = await userWith([eur]);
      const cats = await dashboard.categories(user, { currency: 'EUR' });
      expect(cats.map((c) => [c.category, c.total])).toEqual([['Sales', '50.00']]);
      // In USD the own-currency read finds no USD rows, so the converting one answers.
      const inUsd = await dashboard.categories(user, {});
      expect(inUsd.map((c) => [c.category, c.total])).toEqual([
        ['Sales', convertedSum(RATES, [eur], 'USD').toMoney(UNITS.USD)],
      ]);
      expect(converting()).toHaveLength(1);
    });
  });
});
