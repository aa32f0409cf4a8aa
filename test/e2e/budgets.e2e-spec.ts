import Big from 'big.js';
import fc from 'fast-check';
import { startApp, type TestApp } from '../app';
import { bearer, createApiKey, createUser, loginAdmin, type TestUser } from '../factories';
import { expectProblem } from '../problems';
import { createTx, TX } from '../transactions';

/**
 * Budgets (docs/api.md section 16): the resource, who sees and changes which, the bad input the
 * contract names, and the status route against an independent recount.
 */
const BUDGETS = '/api/v1/budgets';

interface BudgetBody {
  id: string;
  ownerId: string;
  name: string;
  amount: string;
  currency: string;
  category: string | null;
  period: 'month' | 'quarter' | 'year';
  thresholds: number[];
}

interface StatusBody {
  budgetId: string;
  period: string;
  from: string;
  to: string;
  amount: string;
  currency: string;
  spent: string;
  remaining: string;
  percent: string;
  crossed: number[];
}

describe('budgets', () => {
  let app: TestApp;
  let admin: TestUser;
  let analyst: TestUser;
  let other: TestUser;
  let viewer: TestUser;
  let auditor: TestUser;

  const create = async (user: TestUser, body: Record<string, unknown>) => {
    const res = await app.http().post(BUDGETS).set(bearer(user)).send(body);
    if (res.status !== 201) throw new Error(`create budget: ${res.status} ${res.text}`);
    return res.body as BudgetBody;
  };
  const status = async (user: TestUser, id: string, period?: string) => {
    const q = period === undefined ? '' : `?period=${encodeURIComponent(period)}`;
    const res = await app.http().get(`${BUDGETS}/${id}/status${q}`).set(bearer(user));
    if (res.status !== 200) throw new Error(`status: ${res.status} ${res.text}`);
    return res.body as StatusBody;
  };

  beforeAll(async () => {
    app = await startApp();
    admin = await loginAdmin(app);
    analyst = await createUser(app, admin, 'analyst');
    other = await createUser(app, admin, 'analyst');
    viewer = await createUser(app, admin, 'viewer');
    auditor = await createUser(app, admin, 'auditor');
  });
  afterAll(() => app.stop());

  describe('the resource', () => {
    it('creates a budget with defaults (base currency, all expenses, thresholds 80 and 100)', async () => {
      const res = await app
        .http()
        .post(BUDGETS)
        .set(bearer(analyst))
        .send({ name: ' Everything ', amount: '1500', period: 'month' })
        .expect(201);
      expect(res.headers.location).toBe(`${BUDGETS}/${res.body.id}`);
      expect(res.body).toMatchObject({
        ownerId: analyst.id,
        name: 'Everything',
        amount: '1500.00',
        currency: 'USD',
        category: null,
        period: 'month',
        thresholds: [80, 100],
      });
      const again = await app.http().get(`${BUDGETS}/${res.body.id}`).set(bearer(analyst));
      expect(again.status).toBe(200);
      expect(again.body).toEqual(res.body);
    });

    it('keeps thresholds ascending and amounts at the currency’s minor units', async () => {
      const jpy = await create(analyst, {
        name: 'Yen',
        amount: 5000,
        currency: 'JPY',
        category: 'Travel',
        period: 'quarter',
        thresholds: [100, 50, 1000, 1],
      });
      expect(jpy).toMatchObject({
        amount: '5000',
        currency: 'JPY',
        thresholds: [1, 50, 100, 1000],
      });
      const kwd = await create(analyst, {
        name: 'Dinar',
        amount: '1.005',
        currency: 'KWD',
        period: 'year',
      });
      expect(kwd.amount).toBe('1.005');
    });

    it('lets an admin create a budget for another user, and refuses that to an analyst', async () => {
      const b = await create(admin, {
        name: 'For',
        amount: '10',
        period: 'year',
        ownerId: other.id,
      });
      expect(b.ownerId).toBe(other.id);
      const res = await app
        .http()
        .post(BUDGETS)
        .set(bearer(analyst))
        .send({ name: 'For', amount: '10', period: 'year', ownerId: other.id });
      expectProblem(res, 403);
    });

    it('updates name, amount, currency, category, period and thresholds; DELETE is a 204, then 404', async () => {
      const b = await create(analyst, { name: 'Old', amount: '10.50', period: 'month' });
      const res = await app
        .http()
        .patch(`${BUDGETS}/${b.id}`)
        .set(bearer(analyst))
        .send({ name: 'New', category: 'Food', period: 'year', thresholds: [90] })
        .expect(200);
      expect(res.body).toMatchObject({
        name: 'New',
        category: 'Food',
        period: 'year',
        thresholds: [90],
      });
      // 10.50 cannot be yen: the currency change is refused, naming it.
      expectProblem(
        await app.http().patch(`${BUDGETS}/${b.id}`).set(bearer(analyst)).send({ currency: 'JPY' }),
        400,
        ['currency'],
      );
      const yen = await app
        .http()
        .patch(`${BUDGETS}/${b.id}`)
        .set(bearer(analyst))
        .send({ currency: 'JPY', amount: '11', category: null })
        .expect(200);
      expect(yen.body).toMatchObject({ currency: 'JPY', amount: '11', category: null });
      await app.http().delete(`${BUDGETS}/${b.id}`).set(bearer(analyst)).expect(204);
      expectProblem(await app.http().get(`${BUDGETS}/${b.id}`).set(bearer(analyst)), 404);
      expectProblem(await app.http().delete(`${BUDGETS}/${b.id}`).set(bearer(analyst)), 404);
    });

    it('honours If-Match on PATCH', async () => {
      const b = await create(analyst, { name: 'Etag', amount: '1', period: 'month' });
      const got = await app.http().get(`${BUDGETS}/${b.id}`).set(bearer(analyst)).expect(200);
      await app
        .http()
        .patch(`${BUDGETS}/${b.id}`)
        .set(bearer(analyst))
        .set('If-Match', got.headers.etag)
        .send({ name: 'Etag 2' })
        .expect(200);
      expectProblem(
        await app
          .http()
          .patch(`${BUDGETS}/${b.id}`)
          .set(bearer(analyst))
          .set('If-Match', got.headers.etag)
          .send({ name: 'Etag 3' }),
        412,
      );
    });

    it('writes budget.create, budget.update and budget.delete audit entries', async () => {
      const b = await create(analyst, { name: 'Audited', amount: '1', period: 'month' });
      await app
        .http()
        .patch(`${BUDGETS}/${b.id}`)
        .set(bearer(analyst))
        .send({ amount: '2' })
        .expect(200);
      await app.http().delete(`${BUDGETS}/${b.id}`).set(bearer(analyst)).expect(204);
      const res = await app
        .http()
        .get(`/api/v1/audit-logs?entityType=budget&entityId=${b.id}`)
        .set(bearer(admin))
        .expect(200);
      const entries = res.body.data as { action: string; changes: Record<string, unknown> }[];
      expect(entries.map((e) => e.action).sort()).toEqual([
        'budget.create',
        'budget.delete',
        'budget.update',
      ]);
      const update = entries.find((e) => e.action === 'budget.update')!;
      expect(update.changes).toEqual({ amount: { before: '1.00', after: '2.00' } });
    });
  });

  describe('bad input', () => {
    const base = { name: 'Bad', amount: '100.00', period: 'month' };
    it.each([
      ['a threshold of 0', { thresholds: [0] }, ['thresholds']],
      ['a threshold above 1000', { thresholds: [1001] }, ['thresholds']],
      ['a duplicated threshold', { thresholds: [80, 80] }, ['thresholds']],
      [
        'more than 10 thresholds',
        { thresholds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
        ['thresholds'],
      ],
      ['no threshold', { thresholds: [] }, ['thresholds']],
      ['a fractional threshold', { thresholds: [80.5] }, ['thresholds']],
      ['a threshold as a string', { thresholds: ['80'] }, ['thresholds']],
      ['too many decimals for USD', { amount: '1.005' }, ['amount']],
      ['a decimal point for JPY', { amount: '100.0', currency: 'JPY' }, ['amount']],
      ['a zero amount', { amount: '0' }, ['amount']],
      ['a negative amount', { amount: '-5.00' }, ['amount']],
      ['an unknown period kind', { period: 'week' }, ['period']],
      ['a lower-case currency', { currency: 'usd' }, ['currency']],
      ['an empty name', { name: '  ' }, ['name']],
      ['an unknown field', { catgory: 'x' }, ['catgory']],
    ])('refuses %s with a 400 naming the field', async (_label, change, fields) => {
      const res = await app
        .http()
        .post(BUDGETS)
        .set(bearer(analyst))
        .send({ ...base, ...change });
      expectProblem(res, 400, fields);
    });

    it('refuses bad thresholds and amounts on PATCH too', async () => {
      const b = await create(analyst, base);
      for (const [body, field] of [
        [{ thresholds: [5, 5] }, 'thresholds'],
        [{ amount: '1.001' }, 'amount'],
        [{ amount: '1.5', currency: 'JPY' }, 'amount'],
      ] as const) {
        expectProblem(
          await app.http().patch(`${BUDGETS}/${b.id}`).set(bearer(analyst)).send(body),
          400,
          [field],
        );
      }
    });

    it.each([
      ['month', ['2026-13', '2026-00', '2026-Q4', '2026', '2026-1', '26-12', '3000-01']],
      ['quarter', ['2026-Q5', '2026-Q0', '2026-12', '2026', '2026-q4']],
      ['year', ['2026-12', '2026-Q1', '26', '1899', 'abcd']],
    ])(
      'refuses a period not of a %sly budget’s form with a 400 naming period',
      async (period, bad) => {
        const b = await create(analyst, { ...base, period });
        for (const label of bad) {
          const res = await app
            .http()
            .get(`${BUDGETS}/${b.id}/status?period=${encodeURIComponent(label)}`)
            .set(bearer(analyst));
          expectProblem(res, 400, ['period']);
        }
      },
    );

    it('answers an unknown ownerId with a 422', async () => {
      const res = await app
        .http()
        .post(BUDGETS)
        .set(bearer(admin))
        .send({ ...base, ownerId: '00000000-0000-4000-8000-000000000001' });
      expectProblem(res, 422);
    });
  });

  describe('access', () => {
    let mine: BudgetBody;
    let theirs: BudgetBody;
    beforeAll(async () => {
      mine = await create(analyst, { name: 'Mine', amount: '5', period: 'month' });
      theirs = await create(other, { name: 'Theirs', amount: '5', period: 'month' });
    });

    it('answers another user’s budget with a 404 on every route', async () => {
      const path = `${BUDGETS}/${theirs.id}`;
      expectProblem(await app.http().get(path).set(bearer(analyst)), 404);
      expectProblem(await app.http().get(`${path}/status`).set(bearer(analyst)), 404);
      expectProblem(await app.http().patch(path).set(bearer(analyst)).send({ name: 'x' }), 404);
      expectProblem(await app.http().delete(path).set(bearer(analyst)), 404);
      await app.http().get(path).set(bearer(other)).expect(200);
    });

    it('lists only one’s own budgets; a non-admin sending ownerId gets a 403', async () => {
      const res = await app.http().get(`${BUDGETS}?limit=100`).set(bearer(analyst)).expect(200);
      const owners = new Set((res.body.data as BudgetBody[]).map((b) => b.ownerId));
      expect([...owners]).toEqual([analyst.id]);
      expectProblem(
        await app.http().get(`${BUDGETS}?ownerId=${other.id}`).set(bearer(analyst)),
        403,
      );
    });

    it('lets the auditor read everyone’s budgets and their status, and change none', async () => {
      const res = await app.http().get(`${BUDGETS}?limit=100`).set(bearer(auditor)).expect(200);
      const ids = (res.body.data as BudgetBody[]).map((b) => b.id);
      expect(ids).toEqual(expect.arrayContaining([mine.id, theirs.id]));
      const narrowed = await app
        .http()
        .get(`${BUDGETS}?ownerId=${other.id}`)
        .set(bearer(auditor))
        .expect(200);
      expect((narrowed.body.data as BudgetBody[]).every((b) => b.ownerId === other.id)).toBe(true);
      await app.http().get(`${BUDGETS}/${theirs.id}`).set(bearer(auditor)).expect(200);
      await app.http().get(`${BUDGETS}/${theirs.id}/status`).set(bearer(auditor)).expect(200);
      expectProblem(
        await app.http().patch(`${BUDGETS}/${theirs.id}`).set(bearer(auditor)).send({ name: 'x' }),
        403,
      );
      expectProblem(await app.http().delete(`${BUDGETS}/${theirs.id}`).set(bearer(auditor)), 403);
      expectProblem(
        await app
          .http()
          .post(BUDGETS)
          .set(bearer(auditor))
          .send({ name: 'x', amount: '1', period: 'month' }),
        403,
      );
    });

    it('lets an admin read, change and delete anyone’s budget', async () => {
      const b = await create(other, { name: 'Admin', amount: '5', period: 'month' });
      await app
        .http()
        .patch(`${BUDGETS}/${b.id}`)
        .set(bearer(admin))
        .send({ name: 'y' })
        .expect(200);
      await app.http().delete(`${BUDGETS}/${b.id}`).set(bearer(admin)).expect(204);
    });

    it('refuses a viewer’s create, and reads a viewer’s own budget', async () => {
      expectProblem(
        await app
          .http()
          .post(BUDGETS)
          .set(bearer(viewer))
          .send({ name: 'v', amount: '1', period: 'month' }),
        403,
      );
      const b = await create(admin, {
        name: 'v',
        amount: '1',
        period: 'month',
        ownerId: viewer.id,
      });
      await app.http().get(`${BUDGETS}/${b.id}/status`).set(bearer(viewer)).expect(200);
    });

    it('pages with an opaque cursor, oldest first, and refuses a forged one', async () => {
      const owner = await createUser(app, admin, 'analyst');
      const made: string[] = [];
      for (let i = 0; i < 5; i++)
        made.push((await create(owner, { name: `p${i}`, amount: '1', period: 'month' })).id);
      const seen: string[] = [];
      let cursor = '';
      for (;;) {
        const res = await app
          .http()
          .get(`${BUDGETS}?limit=2&cursor=${encodeURIComponent(cursor)}`)
          .set(bearer(owner))
          .expect(200);
        seen.push(...(res.body.data as BudgetBody[]).map((b) => b.id));
        if (!res.body.meta.nextCursor) break;
        cursor = res.body.meta.nextCursor as string;
      }
      expect(seen).toEqual(made);
      expectProblem(
        await app.http().get(`${BUDGETS}?cursor=forged.cursor`).set(bearer(owner)),
        400,
      );
    });

    it('reads status with a key holding dashboard:read, and refuses budget writes to it', async () => {
      const key = await createApiKey(app, analyst, ['dashboard:read']);
      await app.http().get(`${BUDGETS}/${mine.id}/status`).set(bearer(key)).expect(200);
      expectProblem(await app.http().get(`${BUDGETS}/${mine.id}`).set(bearer(key)), 403);
    });
  });

  describe('status', () => {
    it('follows a permanent delete of a live expense the budget counts (the budget check of a DELETE)', async () => {
      const owner = await createUser(app, admin, 'analyst');
      const budget = await create(owner, { name: 'm', amount: '100', period: 'month' });
      const kept = await createTx(app, owner, {
        date: '2026-05-02',
        amount: '7.00',
        category: 'x',
      });
      const purged = await createTx(app, owner, {
        date: '2026-05-03',
        amount: '30.00',
        category: 'x',
      });
      expect((await status(owner, budget.id, '2026-05')).spent).toBe('37.00');
      await app.http().delete(`${TX}/${purged.id}?permanent=true`).set(bearer(admin)).expect(204);
      expect((await status(owner, budget.id, '2026-05')).spent).toBe('7.00');
      await app.http().get(`${TX}/${kept.id}`).set(bearer(owner)).expect(200);
    });

    it('counts the period’s first and last day and nothing outside, for month, quarter and year', async () => {
      const owner = await createUser(app, admin, 'analyst');
      const days = [
        ['2025-12-31', '1.00'],
        ['2026-01-01', '2.00'],
        ['2026-01-31', '4.00'],
        ['2026-02-01', '8.00'],
        ['2026-03-31', '16.00'],
        ['2026-04-01', '32.00'],
        ['2026-12-31', '64.00'],
        ['2027-01-01', '128.00'],
      ];
      for (const [date, amount] of days)
        await createTx(app, owner, { date, amount, category: 'x' });
      const month = await create(owner, { name: 'm', amount: '100', period: 'month' });
      const quarter = await create(owner, { name: 'q', amount: '100', period: 'quarter' });
      const year = await create(owner, { name: 'y', amount: '100', period: 'year' });
      const cases: [BudgetBody, string, string, string, string][] = [
        [month, '2026-01', '2026-01-01', '2026-01-31', '6.00'],
        [month, '2026-02', '2026-02-01', '2026-02-28', '8.00'],
        [month, '2025-12', '2025-12-01', '2025-12-31', '1.00'],
        [quarter, '2026-Q1', '2026-01-01', '2026-03-31', '30.00'],
        [quarter, '2026-Q2', '2026-04-01', '2026-06-30', '32.00'],
        [quarter, '2026-Q4', '2026-10-01', '2026-12-31', '64.00'],
        [quarter, '2025-Q4', '2025-10-01', '2025-12-31', '1.00'],
        [year, '2026', '2026-01-01', '2026-12-31', '126.00'],
        [year, '2027', '2027-01-01', '2027-12-31', '128.00'],
      ];
      for (const [b, period, from, to, spent] of cases) {
        expect(await status(owner, b.id, period)).toMatchObject({ period, from, to, spent });
      }
      const y = await status(owner, year.id, '2026');
      expect(y).toEqual({
        budgetId: year.id,
        period: '2026',
        from: '2026-01-01',
        to: '2026-12-31',
        amount: '100.00',
        currency: 'USD',
        spent: '126.00',
        remaining: '-26.00',
        percent: '126.00',
        crossed: [80, 100],
      });
    });

    it('defaults to the current period', async () => {
      const b = await create(analyst, { name: 'now', amount: '3', period: 'quarter' });
      const today = new Date().toISOString().slice(0, 10);
      const q = Math.floor((Number(today.slice(5, 7)) - 1) / 3) + 1;
      expect((await status(analyst, b.id)).period).toBe(`${today.slice(0, 4)}-Q${q}`);
    });

    it('rounds percent half to even', async () => {
      const owner = await createUser(app, admin, 'analyst');
      // 0.01 of 200.00 is 0.005 %: 0.00 (half to even; half up would say 0.01); 0.05 is
      // 0.025 %: 0.02 (half up: 0.03).
      const b = await create(owner, { name: 'r', amount: '200', period: 'month', thresholds: [1] });
      await createTx(app, owner, { date: '2026-05-10', amount: '0.01' });
      expect((await status(owner, b.id, '2026-05')).percent).toBe('0.00');
      await createTx(app, owner, { date: '2026-05-11', amount: '0.04' });
      expect((await status(owner, b.id, '2026-05')).percent).toBe('0.02');
    });

    it('converts other currencies at each day’s rate, and answers 422 missingRates without one', async () => {
      const owner = await createUser(app, admin, 'analyst');
      await app
        .http()
        .put('/api/v1/exchange-rates/EUR/USD/2026-06-01')
        .set(bearer(admin))
        .send({ rate: '1.0845' })
        .expect((r) => expect([200, 201]).toContain(r.status));
      const b = await create(owner, {
        name: 'fx',
        amount: '100',
        period: 'month',
        category: 'trip',
      });
      await createTx(app, owner, {
        date: '2026-06-03',
        amount: '10.00',
        currency: 'EUR',
        category: 'Trip',
      });
      await createTx(app, owner, { date: '2026-06-04', amount: '1.00', category: 'TRIP' });
      // 10.00 EUR × 1.0845 = 10.845 USD, plus 1.00: 11.845 → 11.84 (half to even).
      expect(await status(owner, b.id, '2026-06')).toMatchObject({
        spent: '11.84',
        percent: '11.84',
      });
      // 2026-06-20 is 19 days past the last rate: FX_MAX_AGE_DAYS (7) has run out.
      await createTx(app, owner, {
        date: '2026-06-20',
        amount: '5.00',
        currency: 'EUR',
        category: 'trip',
      });
      const res = await app
        .http()
        .get(`${BUDGETS}/${b.id}/status?period=2026-06`)
        .set(bearer(owner));
      expectProblem(res, 422);
      expect(res.body.missingRates).toEqual([{ from: 'EUR', to: 'USD', date: '2026-06-20' }]);
      // Another category's missing rate is none of this budget's business.
      const food = await create(owner, {
        name: 'food',
        amount: '100',
        period: 'month',
        category: 'food',
      });
      expect((await status(owner, food.id, '2026-06')).spent).toBe('0.00');
    });

    it('equals an independent recount for random data (property-based)', async () => {
      const DATES = [
        '2025-12-31',
        '2026-01-01',
        '2026-01-31',
        '2026-02-01',
        '2026-02-28',
        '2026-03-01',
        '2026-03-31',
        '2026-04-01',
        '2026-06-30',
        '2026-07-01',
        '2026-12-31',
        '2027-01-01',
      ];
      const RATE = '1.2345';
      for (const date of DATES) {
        const r = await app
          .http()
          .put(`/api/v1/exchange-rates/GBP/USD/${date}`)
          .set(bearer(admin))
          .send({ rate: RATE });
        expect([200, 201]).toContain(r.status);
      }
      const CATEGORIES = ['Travel', 'travel', 'TRAVEL', 'TrAvEl', 'Food', 'food'];
      const row = fc.record({
        date: fc.constantFrom(...DATES),
        cents: fc.integer({ min: 1, max: 500_00 }),
        currency: fc.constantFrom('USD', 'USD', 'GBP'),
        category: fc.constantFrom(...CATEGORIES),
        type: fc.constantFrom('expense', 'expense', 'expense', 'income'),
        deleted: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
        mine: fc.integer({ min: 0, max: 4 }).map((n) => n !== 0),
      });
      const periodsOf = (kind: string, date: string) =>
        kind === 'month'
          ? date.slice(0, 7)
          : kind === 'quarter'
            ? `${date.slice(0, 4)}-Q${Math.floor((Number(date.slice(5, 7)) - 1) / 3) + 1}`
            : date.slice(0, 4);
      await fc.assert(
        fc.asyncProperty(
          fc.array(row, { minLength: 1, maxLength: 40 }),
          fc.constantFrom('travel', 'TRAVEL', null),
          async (rows, budgetCategory) => {
            const owner = await createUser(app, admin, 'analyst');
            const stranger = await createUser(app, admin, 'analyst');
            const ops = rows.map((r) => ({
              op: 'create',
              data: {
                type: r.type,
                amount: new Big(r.cents).div(100).toFixed(2),
                currency: r.currency,
                category: r.category,
                date: r.date,
                ownerId: r.mine ? owner.id : stranger.id,
              },
            }));
            const made = await app
              .http()
              .post(`${TX}/batch`)
              .set(bearer(admin))
              .send({ operations: ops })
              .expect(200);
            const ids = (made.body.results as { id: string }[]).map((r) => r.id);
            const deletes = rows.flatMap((r, i) =>
              r.deleted ? [{ op: 'delete', id: ids[i] }] : [],
            );
            if (deletes.length > 0) {
              await app
                .http()
                .post(`${TX}/batch`)
                .set(bearer(admin))
                .send({ operations: deletes })
                .expect(200);
            }
            const budgets = await Promise.all(
              (['month', 'quarter', 'year'] as const).map((period) =>
                create(owner, { name: period, amount: '1000', period, category: budgetCategory }),
              ),
            );
            for (const b of budgets) {
              for (const label of new Set(DATES.map((d) => periodsOf(b.period, d)))) {
                let exact = new Big(0);
                for (const r of rows) {
                  if (!r.mine || r.deleted || r.type !== 'expense') continue;
                  if (periodsOf(b.period, r.date) !== label) continue;
                  if (
                    budgetCategory !== null &&
                    r.category.toLowerCase() !== budgetCategory.toLowerCase()
                  )
                    continue;
                  const amount = new Big(r.cents).div(100);
                  exact = exact.plus(r.currency === 'GBP' ? amount.times(RATE) : amount);
                }
                const spent = exact.round(2, Big.roundHalfEven).toFixed(2);
                const s = await status(owner, b.id, label);
                expect({ label, spent: s.spent, remaining: s.remaining }).toEqual({
                  label,
                  spent,
                  remaining: new Big('1000').minus(spent).toFixed(2),
                });
              }
            }
          },
        ),
        { numRuns: 12 },
      );
    });
  });
});
