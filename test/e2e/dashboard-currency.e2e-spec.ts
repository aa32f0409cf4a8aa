import { startApp, type TestApp } from '../app';
import { dash } from '../dashboard-helpers';
import { Rational } from '../exact-rational';
import { createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem, fieldsOf } from '../problems';

/**
 * Dashboards in a reporting currency over HTTP (docs/api.md, "Reporting currency"): the 200 and
 * 422 answers as the contract describes them, and the 400s. The conversion arithmetic itself is
 * checked in process (test/integration/dashboard-currency.int-spec.ts). Expected missing rates are
 * computed here, independently of the server, with the lookup rule written out again: latest rate on or before the date within FX_MAX_AGE_DAYS (7), else the
 * inverse of the opposite rate, else through the base currency (USD); one half-even rounding.
 */

const BASE = 'USD';
const MAX_AGE_DAYS = 7;

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

function missingOf(rates: Rate[], rows: Tx[], r: string) {
  const seen = new Map<string, { from: string; to: string; date: string }>();
  for (const t of rows) {
    if (!rateOf(rates, t.currency, r, t.date))
      seen.set(`${t.date} ${t.currency}`, { from: t.currency, to: r, date: t.date });
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
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

  // The figures themselves are checked in process (test/integration/dashboard-currency.int-spec.ts);
  // this one checks that a converted answer leaves over HTTP as openapi.json describes it.
  it('answers a converted summary with 200 and figures in the reporting currency', async () => {
    const user = await userWith([
      { type: 'expense', amount: '10.00', currency: 'EUR', category: 'Food', date: '2026-01-12' },
      { type: 'income', amount: '1000', currency: 'JPY', category: 'Sales', date: '2026-01-12' },
    ]);
    const res = await dash(app, user, '/summary', { currency: 'USD' }).expect(200);
    // 10 EUR × 1.2 = 12.00 USD; 1000 JPY ÷ 160 = 6.25 USD.
    expect(res.body).toMatchObject({
      currency: 'USD',
      totalIncome: '6.25',
      totalExpenses: '12.00',
      netBalance: '-5.75',
      transactionCount: 2,
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
});
