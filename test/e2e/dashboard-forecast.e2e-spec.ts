import { startApp, type TestApp } from '../app';
import { addDays, createAll, dash, monthStart, point, todayIn } from '../dashboard-helpers';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { createTx, type NewTx } from '../transactions';

// jest.config.js sets testTimeout per project, which jest ignores; starting an app can take >5 s.
jest.setTimeout(60_000);

/**
 * The forecast fits a line to the complete calendar months before the current one (UTC here),
 * so every date below is placed relative to today's month: M(-1) is last month, M(0) this one.
 * Each projection was worked out by hand for its series.
 */
describe('dashboard forecast', () => {
  let app: TestApp;
  let admin: TestUser;
  const today = todayIn('UTC');
  /** The first day of the month k months from the current one. */
  const M = (k: number) => monthStart(today, k);
  /** The last day of that month. */
  const end = (k: number) => addDays(M(k + 1), -1);
  const label = (k: number) => M(k).slice(0, 7);
  const inc = (amount: string, date: string): NewTx => ({
    type: 'income',
    amount,
    category: 'Pay',
    date,
  });
  const exp = (amount: string, date: string): NewTx => ({
    type: 'expense',
    amount,
    category: 'Costs',
    date,
  });
  const user = async (rows: NewTx[]) => {
    const u = await createUser(app, admin, 'analyst');
    await createAll(app, u, rows);
    return u;
  };

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
  });
  afterAll(() => app?.stop());

  it('gives no months and a note to a user without transactions', async () => {
    const gus = await user([]);
    const res = await dash(app, gus, '/forecast').expect(200);
    expect(res.body).toEqual({
      method: expect.stringMatching(/least squares/i),
      currency: 'USD',
      basedOnMonths: 0,
      historyFrom: null,
      historyTo: null,
      months: [],
      note: expect.any(String),
    });
  });

  it('gives no months and a note with a single complete month of history', async () => {
    const fay = await user([inc('100.00', M(-1)), exp('40.00', end(-1)), inc('900.00', today)]);
    const res = await dash(app, fay, '/forecast').expect(200);
    expect(res.body).toEqual({
      method: expect.stringMatching(/least squares/i),
      currency: 'USD',
      basedOnMonths: 1,
      historyFrom: label(-1),
      historyTo: label(-1),
      months: [],
      note: expect.any(String),
    });
    expect(res.body.note.length).toBeGreaterThan(0);
  });

  describe('with income 100, 200, 300 and expenses 50 over the last 3 complete months', () => {
    let hal: TestUser;

    beforeAll(async () => {
      hal = await user([
        inc('100.00', M(-3)),
        exp('50.00', end(-3)),
        inc('200.00', addDays(M(-2), 14)),
        exp('20.00', M(-2)),
        exp('30.00', end(-2)),
        inc('120.50', M(-1)),
        inc('179.50', end(-1)),
        exp('50.00', addDays(M(-1), 9)),
        // The current month and later months are not history.
        inc('5000.00', today),
        exp('5000.00', M(1)),
      ]);
      // A deleted row never counts.
      const gone = await createTx(app, hal, exp('1000.00', addDays(M(-2), 3)));
      await app.http().delete(`/api/v1/transactions/${gone.id}`).set(bearer(admin)).expect(204);
    });

    it('projects the line from the current month on, 3 months by default', async () => {
      const res = await dash(app, hal, '/forecast').expect(200);
      expect(res.body).toEqual({
        method: expect.stringMatching(/least squares/i),
        currency: 'USD',
        basedOnMonths: 3,
        historyFrom: label(-3),
        historyTo: label(-1),
        months: [
          point(label(0), '400.00', '50.00', '350.00'),
          point(label(1), '500.00', '50.00', '450.00'),
          point(label(2), '600.00', '50.00', '550.00'),
        ],
        note: null,
      });
    });

    it('projects as many months as asked, 1 to 12', async () => {
      const one = await dash(app, hal, '/forecast', { months: 1 }).expect(200);
      expect(one.body.months).toEqual([point(label(0), '400.00', '50.00', '350.00')]);
      const twelve = await dash(app, hal, '/forecast', { months: 12 }).expect(200);
      expect(twelve.body.months).toHaveLength(12);
      expect(twelve.body.months[11]).toEqual(point(label(11), '1500.00', '50.00', '1450.00'));
    });

    it('gives an admin with userId the same forecast the user sees', async () => {
      const own = await dash(app, hal, '/forecast', { months: 4 }).expect(200);
      const viaAdmin = await dash(app, admin, '/forecast', { months: 4, userId: hal.id });
      expect(viaAdmin.status).toBe(200);
      expect(viaAdmin.body).toEqual(own.body);
    });
  });

  it('uses only the last 12 complete months when there is more history', async () => {
    // Income 10, 20, ..., 120 over M(-12)..M(-1), expenses 7.77 a month; older rows are ignored.
    const rows: NewTx[] = [inc('9999.99', end(-13)), exp('9999.99', M(-24))];
    for (let x = 0; x < 12; x++) {
      rows.push(inc(`${10 * (x + 1)}.00`, addDays(M(x - 12), x)), exp('7.77', end(x - 12)));
    }
    const ike = await user(rows);
    const res = await dash(app, ike, '/forecast', { months: 2 }).expect(200);
    expect(res.body).toEqual({
      method: expect.stringMatching(/least squares/i),
      currency: 'USD',
      basedOnMonths: 12,
      historyFrom: label(-12),
      historyTo: label(-1),
      note: null,
      months: [
        point(label(0), '130.00', '7.77', '122.23'),
        point(label(1), '140.00', '7.77', '132.23'),
      ],
    });
  });

  it('counts a month without transactions inside the history as zero', async () => {
    // Income 300, 0, 300: slope 0, mean 200.
    const kim = await user([inc('300.00', M(-3)), inc('300.00', end(-1))]);
    const res = await dash(app, kim, '/forecast', { months: 2 }).expect(200);
    expect(res.body).toEqual({
      method: expect.stringMatching(/least squares/i),
      currency: 'USD',
      basedOnMonths: 3,
      historyFrom: label(-3),
      historyTo: label(-1),
      note: null,
      months: [
        point(label(0), '200.00', '0.00', '200.00'),
        point(label(1), '200.00', '0.00', '200.00'),
      ],
    });
  });

  it('rounds projections to cents and floors a falling line at zero, as its method says', async () => {
    // Income 100, 100, 200: slope 50, intercept 83.333... -> 233.33, 283.33, 333.33.
    // Expenses 300, 200, 100: slope -100, intercept 300 -> 0, -100, -200, shown as 0.00.
    const jo = await user([
      inc('100.00', M(-3)),
      inc('100.00', M(-2)),
      inc('200.00', M(-1)),
      exp('300.00', M(-3)),
      exp('200.00', M(-2)),
      exp('100.00', M(-1)),
    ]);
    const res = await dash(app, jo, '/forecast').expect(200);
    expect(res.body.method).toMatch(/floored at zero/);
    expect(res.body.method).toMatch(/rounded half to even to the reporting currency/);
    expect(res.body.months).toEqual([
      point(label(0), '233.33', '0.00', '233.33'),
      point(label(1), '283.33', '0.00', '283.33'),
      point(label(2), '333.33', '0.00', '333.33'),
    ]);
  });
});
