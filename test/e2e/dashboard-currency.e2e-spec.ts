import { startApp, type TestApp } from '../app';
import { dash } from '../dashboard-helpers';
import { createUser, loginAdmin, type TestUser } from '../factories';
import { missingOf, type Rate, type Tx, MISSING_RATE_ROWS, RATES } from '../fx-reference';
import { expectProblem, fieldsOf } from '../problems';

/**
 * Dashboards in a reporting currency over HTTP (docs/api.md, "Reporting currency"): the 200 and
 * 422 answers as the contract describes them, and the 400s. The conversion arithmetic itself is
 * checked in process (test/integration/dashboard-currency.int-spec.ts). Expected missing rates come
 * from test/fx-reference.ts, the lookup rule written out again independently of the server.
 */

describe('dashboards in a reporting currency', () => {
  let app: TestApp;
  let admin: TestUser;

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
    const rows = MISSING_RATE_ROWS;
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
