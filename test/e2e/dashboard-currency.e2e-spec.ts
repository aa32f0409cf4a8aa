import fc from 'fast-check';
import { startApp, type TestApp } from '../app';
import { dash } from '../dashboard-helpers';
import { Rational } from '../exact-rational';
import { createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';

/**
 * Dashboards in a reporting currency (docs/api.md, "Reporting currency"). Every expected figure is
 * computed here, independently of the server, with exact rational arithmetic and the lookup rule
 * written out again: latest rate on or before the date within FX_MAX_AGE_DAYS (7), else the
 * inverse of the opposite rate, else through the base currency (USD); one half-even rounding.
 */

const BASE = 'USD';
const MAX_AGE_DAYS = 7;
const UNITS: Record<string, number> = { USD: 2, EUR: 2, CHF: 2, GBP: 2, JPY: 0, KWD: 3 };

interface Rate {
  base: string;
  quote: string;
  date: string;
  rate: string;
}
interface Tx {
  type: 'income' | 'expense';
  amount: string;
  currency: string;
  category: string;
  date: string;
}

const dayNumber = (date: string) => Date.parse(`${date}T00:00:00Z`) / 86_400_000;

function direct(rates: Rate[], c: string, r: string, date: string): Rational | undefined {
  const usable = rates
    .filter((x) => x.base === c && x.quote === r && x.date <= date)
    .filter((x) => dayNumber(date) - dayNumber(x.date) <= MAX_AGE_DAYS)
    .sort((a, b) => (a.date < b.date ? 1 : -1));
  return usable[0] && Rational.of(usable[0].rate);
}

function leg(rates: Rate[], c: string, r: string, date: string): Rational | undefined {
  if (c === r) return Rational.of('1');
  const d = direct(rates, c, r, date);
  if (d) return d;
  const inverse = direct(rates, r, c, date);
  return inverse && Rational.of('1').div(inverse);
}

function rateOf(rates: Rate[], c: string, r: string, date: string): Rational | undefined {
  const straight = leg(rates, c, r, date);
  if (straight) return straight;
  const toBase = leg(rates, c, BASE, date);
  const fromBase = leg(rates, BASE, r, date);
  return toBase && fromBase ? toBase.times(fromBase) : undefined;
}

/** The exact sum of the rows in `r`; throws when a rate is missing (the test then expects a 422). */
function convertedSum(rates: Rate[], rows: Tx[], r: string): Rational {
  return rows.reduce((sum, t) => {
    const rate = rateOf(rates, t.currency, r, t.date);
    if (!rate) throw new Error(`no rate ${t.currency}->${r} on ${t.date}`);
    return sum.plus(Rational.of(t.amount).times(rate));
  }, Rational.ZERO);
}

function missingOf(rates: Rate[], rows: Tx[], r: string) {
  const seen = new Map<string, { from: string; to: string; date: string }>();
  for (const t of rows) {
    if (!rateOf(rates, t.currency, r, t.date))
      seen.set(`${t.date} ${t.currency}`, { from: t.currency, to: r, date: t.date });
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
}

function expectedSummary(rates: Rate[], rows: Tx[], r: string) {
  const units = UNITS[r];
  const income = convertedSum(
    rates,
    rows.filter((t) => t.type === 'income'),
    r,
  ).toMoney(units);
  const expenses = convertedSum(
    rates,
    rows.filter((t) => t.type === 'expense'),
    r,
  ).toMoney(units);
  const currencies = [...new Set(rows.map((t) => t.currency))].sort();
  const own = (c: string, type: Tx['type']) =>
    rows
      .filter((t) => t.currency === c && t.type === type)
      .reduce((s, t) => s.plus(Rational.of(t.amount)), Rational.ZERO);
  return {
    currency: r,
    totalIncome: income,
    totalExpenses: expenses,
    netBalance: Rational.of(income).minus(Rational.of(expenses)).toMoney(units),
    transactionCount: rows.length,
    byCurrency: currencies.map((c) => ({
      currency: c,
      totalIncome: own(c, 'income').toMoney(UNITS[c]),
      totalExpenses: own(c, 'expense').toMoney(UNITS[c]),
      netBalance: own(c, 'income').minus(own(c, 'expense')).toMoney(UNITS[c]),
      transactionCount: rows.filter((t) => t.currency === c).length,
    })),
  };
}

describe('dashboards in a reporting currency', () => {
  let app: TestApp;
  let admin: TestUser;

  const RATES: Rate[] = [
    { base: 'EUR', quote: 'USD', date: '2026-01-01', rate: '1.1' },
    { base: 'EUR', quote: 'USD', date: '2026-01-10', rate: '1.2' },
    { base: 'USD', quote: 'JPY', date: '2026-01-01', rate: '150' },
    { base: 'USD', quote: 'JPY', date: '2026-01-10', rate: '160' },
    { base: 'GBP', quote: 'USD', date: '2026-01-05', rate: '1.25' },
    { base: 'CHF', quote: 'USD', date: '2026-02-01', rate: '0.5' },
  ];

  async function putRates(rates: Rate[]): Promise<void> {
    for (const r of rates) {
      await app
        .http()
        .put(`/api/v1/exchange-rates/${r.base}/${r.quote}/${r.date}`)
        .set({ Authorization: `Bearer ${admin.token}` })
        .send({ rate: r.rate })
        .expect(201);
    }
  }

  async function userWith(rows: Tx[]): Promise<TestUser> {
    const user = await createUser(app, admin, 'analyst');
    for (const row of rows) {
      await app
        .http()
        .post('/api/v1/transactions')
        .set({ Authorization: `Bearer ${user.token}` })
        .send(row)
        .expect(201);
    }
    return user;
  }

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    await putRates(RATES);
  });

  afterAll(async () => {
    await app?.stop();
  });

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
    let user: TestUser;

    beforeAll(async () => {
      user = await userWith(rows);
    });

    it.each(['USD', 'EUR', 'JPY'])('sums every row at its own date’s rate into %s', async (r) => {
      const res = await dash(app, user, '/summary', { currency: r }).expect(200);
      expect(res.body).toEqual(expectedSummary(RATES, rows, r));
    });

    it('spot-checks the rule by hand: 100 EUR at 1.1 and at 1.2, 1500 JPY at 1/150, 1000 JPY at 1/160, 80 GBP at 1.25', async () => {
      const res = await dash(app, user, '/summary').expect(200);
      // 110 + 120 + 100 income; 10 + 6.25 + 10 + 7.77 * 1.2 (= 9.324) expenses.
      expect(res.body).toMatchObject({
        currency: 'USD',
        totalIncome: '330.00',
        totalExpenses: '35.57',
        netBalance: '294.43',
      });
    });

    it('converts each category total and each trend point, rounding each once', async () => {
      for (const r of ['EUR', 'JPY']) {
        const cats = await dash(app, user, '/categories', { currency: r }).expect(200);
        const byKey = (type: string, category: string) =>
          convertedSum(
            RATES,
            rows.filter((t) => t.type === type && t.category === category),
            r,
          ).toMoney(UNITS[r]);
        for (const row of cats.body as {
          type: string;
          category: string;
          total: string;
          currency: string;
        }[]) {
          expect(row.currency).toBe(r);
          expect(row.total).toBe(byKey(row.type, row.category));
        }
        expect(cats.body).toHaveLength(3);
        const trends = await dash(app, user, '/trends', {
          currency: r,
          from: '2026-01-01',
          to: '2026-01-31',
        }).expect(200);
        const summary = expectedSummary(RATES, rows, r);
        expect(trends.body).toEqual([
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
      const res = await dash(app, user, '/forecast', { currency: 'JPY' }).expect(200);
      expect(res.body.currency).toBe('JPY');
      for (const m of res.body.months as { currency: string; income: string }[]) {
        expect(m.currency).toBe('JPY');
        expect(m.income).toMatch(/^\d+$/); // no minor units
      }
    });

    it('lists the transactions of recent in their own currencies, unconverted', async () => {
      const res = await dash(app, user, '/recent', { currency: 'EUR' }).expect(200);
      const jpy = (res.body as { currency: string; amount: string }[]).filter(
        (t) => t.currency === 'JPY',
      );
      expect(jpy.map((t) => t.amount).sort()).toEqual(['1000', '1500']);
    });

    it('answers the same figures inside GET /dashboard', async () => {
      const res = await dash(app, user, '', { currency: 'JPY' }).expect(200);
      expect(res.body.summary).toEqual(expectedSummary(RATES, rows, 'JPY'));
      const trends = res.body.trends as { currency: string }[];
      expect(trends.length).toBeGreaterThan(0);
      expect(trends.every((p) => p.currency === 'JPY')).toBe(true);
    });
  });

  describe('missing rates', () => {
    const rows: Tx[] = [
      { type: 'income', amount: '5.00', currency: 'EUR', category: 'Sales', date: '2026-01-05' },
      // 10 days after the last EUR rate: too old.
      { type: 'income', amount: '5.00', currency: 'EUR', category: 'Sales', date: '2026-01-20' },
      { type: 'expense', amount: '1.005', currency: 'KWD', category: 'Fees', date: '2026-01-02' },
      { type: 'expense', amount: '2.000', currency: 'KWD', category: 'Fees', date: '2026-01-02' },
    ];
    let user: TestUser;

    beforeAll(async () => {
      user = await userWith(rows);
    });

    it.each(['/summary', '/categories', '/trends', ''])(
      'answers %s with 422 listing each missing (from, to, date) once, oldest first, and no figure',
      async (path) => {
        const res = await dash(app, user, path, { currency: 'USD' }).expect(422);
        expectProblem(res, 422);
        expect(res.body.missingRates).toEqual(missingOf(RATES, rows, 'USD'));
        expect(res.body.missingRates).toEqual([
          { from: 'KWD', to: 'USD', date: '2026-01-02' },
          { from: 'EUR', to: 'USD', date: '2026-01-20' },
        ]);
        expect(res.body).not.toHaveProperty('totalIncome');
      },
    );

    it('needs no rate for rows already in the reporting currency, and a range without the gaps works', async () => {
      const kwd = await dash(app, user, '/summary', {
        currency: 'KWD',
        from: '2026-01-01',
        to: '2026-01-03',
      }).expect(200);
      expect(kwd.body).toMatchObject({
        currency: 'KWD',
        totalExpenses: '3.005',
        totalIncome: '0.000',
      });
      const eur = await dash(app, user, '/summary', {
        from: '2026-01-04',
        to: '2026-01-10',
      }).expect(200);
      expect(eur.body).toMatchObject({ totalIncome: '5.50', totalExpenses: '0.00' });
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
      const res = await dash(app, user, '/summary').expect(200);
      // 0.015 -> 0.02 (half to even); 0.025 + 0.000333… -> 0.03 (not a tie: above it).
      expect(res.body).toMatchObject({ totalIncome: '0.02', totalExpenses: '0.03' });
      const cats = await dash(app, user, '/categories').expect(200);
      const totals = Object.fromEntries(
        (cats.body as { category: string; total: string }[]).map((c) => [c.category, c.total]),
      );
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
      expect((await dash(app, a, '/summary').expect(200)).body).toMatchObject({
        totalIncome: '0.00',
        netBalance: '0.00',
      });
      expect((await dash(app, b, '/summary').expect(200)).body).toMatchObject({
        totalIncome: '0.02',
        totalExpenses: '0.02',
        netBalance: '0.00',
      });
    });
  });

  it('keeps the database’s minor units (the amount CHECK) in step with GET /currencies', async () => {
    const res = await app
      .http()
      .get('/api/v1/currencies')
      .set({ Authorization: `Bearer ${admin.token}` })
      .expect(200);
    const listed = res.body.data as { code: string; minorUnits: number }[];
    expect(listed.length).toBeGreaterThan(150);
    const { rows } = await app.sql.query<{ code: string; units: number }>(
      `SELECT c AS code, currency_minor_units(c) AS units FROM unnest($1::text[]) c`,
      [listed.map((c) => c.code)],
    );
    expect(rows.map((r) => [r.code, r.units])).toEqual(listed.map((c) => [c.code, c.minorUnits]));
  });

  it('refuses an unknown or lower-case reporting currency with 400 naming currency', async () => {
    for (const currency of ['usd', 'ABC', 'US']) {
      const res = await dash(app, admin, '/summary', { currency }).expect(400);
      expect(fieldsOf(res)).toContain('currency');
    }
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
          const rates: Rate[] = [1, 8, 15].flatMap((day, i) => [
            { base: 'EUR', quote: 'USD', date: date(day), rate: rateValues[i * 3] },
            { base: 'USD', quote: 'JPY', date: date(day), rate: rateValues[i * 3 + 1] },
            { base: 'KWD', quote: 'EUR', date: date(day), rate: rateValues[i * 3 + 2] },
          ]);
          await putRates(rates);
          const rows: Tx[] = txs.map(({ day, ...t }) => ({ ...t, date: date(day) }));
          const user = await userWith(rows);
          const missing = missingOf(rates, rows, reporting);
          const summary = await dash(app, user, '/summary', { currency: reporting });
          if (missing.length > 0) {
            expect(summary.status).toBe(422);
            expect(summary.body.missingRates).toEqual(missing);
            return;
          }
          expect(summary.status).toBe(200);
          expect(summary.body).toEqual(expectedSummary(rates, rows, reporting));
          const units = UNITS[reporting];
          const cats = await dash(app, user, '/categories', { currency: reporting }).expect(200);
          for (const c of cats.body as { type: string; category: string; total: string }[]) {
            const these = rows.filter((t) => t.type === c.type && t.category === c.category);
            expect(c.total).toBe(convertedSum(rates, these, reporting).toMoney(units));
          }
          const trends = await dash(app, user, '/trends', {
            currency: reporting,
            from: date(1),
            to: date(31),
          }).expect(200);
          expect(trends.body).toEqual([
            {
              period: `${year}-03`,
              currency: reporting,
              income: summary.body.totalIncome,
              expenses: summary.body.totalExpenses,
              net: summary.body.netBalance,
            },
          ]);
        },
      ),
      { numRuns: 12 },
    );
  });
});
