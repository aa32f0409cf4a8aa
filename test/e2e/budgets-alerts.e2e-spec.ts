import { startApp, type TestApp } from '../app';
import { bearer, createUser, loginAdmin, type TestUser } from '../factories';
import { TX, createTx } from '../transactions';
import { until } from '../waits';
import { WebhookReceiver } from '../webhook-receiver';

/**
 * `budget.threshold_crossed` (docs/api.md section 16): written by the database in the
 * transaction of the write that makes spending reach a threshold, on every write path, exactly
 * once per (budget, period, threshold), never again in the period.
 */
const BUDGETS = '/api/v1/budgets';

interface Alert {
  budgetId: string;
  ownerId: string;
  period: string;
  threshold: number;
  spent: string;
  amount: string;
  currency: string;
}

describe('budget threshold alerts', () => {
  let app: TestApp;
  let admin: TestUser;
  const receiver = new WebhookReceiver();

  const budget = async (user: TestUser, body: Record<string, unknown>) => {
    const res = await app
      .http()
      .post(BUDGETS)
      .set(bearer(user))
      .send({ name: 'b', period: 'month', ...body });
    if (res.status !== 201) throw new Error(`create budget: ${res.status} ${res.text}`);
    return res.body as { id: string };
  };
  /** The alerts of a budget, as stored in the outbox, in the order they were written. */
  const alerts = async (budgetId: string): Promise<Alert[]> => {
    const res = await app.sql.query<{ data: Alert }>(
      `SELECT data FROM events WHERE type = 'budget.threshold_crossed' AND data->>'budgetId' = $1
       ORDER BY tx, seq`,
      [budgetId],
    );
    return res.rows.map((r) => r.data);
  };
  const brief = (a: Alert[]) => a.map((x) => `${x.period} ${x.threshold} ${x.spent}`);

  beforeAll(async () => {
    await receiver.start();
    app = await startApp({
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      DB_POOL_MAX: '20',
      // The 50 concurrent writers of one owner queue on its budget: on a slow machine the last
      // may wait past the default 5 s for a connection, which would make it a 503, not a test
      // of exactly-once.
      DB_POOL_TIMEOUT_MS: '30000',
    });
    admin = await loginAdmin(app);
  });
  afterAll(async () => {
    await app.stop();
    await receiver.stop();
  });

  it('emits one event per threshold a single create reaches, with the spending right after it', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const b = await budget(owner, { amount: '100', category: 'travel', thresholds: [50, 80, 100] });
    await createTx(app, owner, { amount: '40.00', category: 'Travel', date: '2026-03-02' });
    expect(await alerts(b.id)).toEqual([]);
    // Income, another category and another user's expense count for nothing.
    await createTx(app, owner, {
      type: 'income',
      amount: '500',
      category: 'travel',
      date: '2026-03-02',
    });
    await createTx(app, owner, { amount: '500', category: 'food', date: '2026-03-02' });
    const stranger = await createUser(app, admin, 'analyst');
    await createTx(app, stranger, { amount: '500', category: 'travel', date: '2026-03-02' });
    expect(await alerts(b.id)).toEqual([]);
    await createTx(app, owner, { amount: '45.00', category: 'TRAVEL', date: '2026-03-31' });
    // 40 → 85 passes 50 % and 80 % at once.
    const got = await alerts(b.id);
    expect(got.map((a) => a.threshold)).toEqual([50, 80]);
    expect(got[1]).toEqual({
      budgetId: b.id,
      ownerId: owner.id,
      period: '2026-03',
      threshold: 80,
      spent: '85.00',
      amount: '100.00',
      currency: 'USD',
    });
  });

  it('emits every threshold one write passes at once, each once', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const b = await budget(owner, { amount: '100', thresholds: [25, 50, 75, 100] });
    await createTx(app, owner, { amount: '60.00', date: '2026-04-10' });
    expect(brief(await alerts(b.id)).sort()).toEqual(['2026-04 25 60.00', '2026-04 50 60.00']);
    await createTx(app, owner, { amount: '60.00', date: '2026-04-11' });
    expect(brief(await alerts(b.id)).sort()).toEqual([
      '2026-04 100 120.00',
      '2026-04 25 60.00',
      '2026-04 50 60.00',
      '2026-04 75 120.00',
    ]);
  });

  it('emits nothing when a budget is created or changed, and counts only what a write adds', async () => {
    const owner = await createUser(app, admin, 'analyst');
    await createTx(app, owner, { amount: '90.00', date: '2026-05-05' });
    const b = await budget(owner, { amount: '100', thresholds: [80, 100] });
    await app
      .http()
      .patch(`${BUDGETS}/${b.id}`)
      .set(bearer(owner))
      .send({ amount: '50' })
      .expect(200);
    await app
      .http()
      .patch(`${BUDGETS}/${b.id}`)
      .set(bearer(owner))
      .send({ thresholds: [10, 150] })
      .expect(200);
    expect(await alerts(b.id)).toEqual([]);
    // 90 → 91 of 50.00: 150 % is 75.00, already passed before this write, 10 % too.
    await createTx(app, owner, { amount: '1.00', date: '2026-05-06' });
    expect(await alerts(b.id)).toEqual([]);
    // Another month starts from zero.
    await createTx(app, owner, { amount: '80.00', date: '2026-06-06' });
    expect(brief(await alerts(b.id)).sort()).toEqual(['2026-06 10 80.00', '2026-06 150 80.00']);
  });

  it('never emits again in a period after a dip (delete, update) and a re-cross (create, restore, update)', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const b = await budget(owner, { amount: '100', thresholds: [50] });
    const first = await createTx(app, owner, { amount: '60.00', date: '2026-07-01' });
    expect(brief(await alerts(b.id))).toEqual(['2026-07 50 60.00']);
    await app.http().delete(`${TX}/${first.id}`).set(bearer(admin)).expect(204);
    await createTx(app, owner, { amount: '70.00', date: '2026-07-02' });
    await app.http().post(`${TX}/${first.id}/restore`).set(bearer(admin)).expect(200);
    const again = await createTx(app, owner, { amount: '1.00', date: '2026-07-03' });
    await app
      .http()
      .patch(`${TX}/${again.id}`)
      .set(bearer(admin))
      .send({ amount: '0.50' })
      .expect(200);
    await app
      .http()
      .patch(`${TX}/${again.id}`)
      .set(bearer(admin))
      .send({ amount: '300' })
      .expect(200);
    expect(brief(await alerts(b.id))).toEqual(['2026-07 50 60.00']);
  });

  it('emits on update, restore and a date moved into another period, for past periods too', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const b = await budget(owner, { amount: '10', thresholds: [100], period: 'quarter' });
    const row = await createTx(app, owner, { amount: '5.00', date: '2019-02-01' });
    await app
      .http()
      .patch(`${TX}/${row.id}`)
      .set(bearer(admin))
      .send({ amount: '10.00' })
      .expect(200);
    expect(brief(await alerts(b.id))).toEqual(['2019-Q1 100 10.00']);
    await app
      .http()
      .patch(`${TX}/${row.id}`)
      .set(bearer(admin))
      .send({ date: '2019-04-01' })
      .expect(200);
    expect(brief(await alerts(b.id))).toEqual(['2019-Q1 100 10.00', '2019-Q2 100 10.00']);
    const gone = await createTx(app, owner, { amount: '12.00', date: '2019-07-01' });
    await app.http().delete(`${TX}/${gone.id}`).set(bearer(admin)).expect(204);
    // The create crossed Q3 already; a restore after the delete is a re-cross: nothing new.
    await app.http().post(`${TX}/${gone.id}/restore`).set(bearer(admin)).expect(200);
    const income = await createTx(app, owner, {
      type: 'income',
      amount: '12.00',
      date: '2019-10-01',
    });
    await app
      .http()
      .patch(`${TX}/${income.id}`)
      .set(bearer(admin))
      .send({ type: 'expense' })
      .expect(200);
    expect(brief(await alerts(b.id))).toEqual([
      '2019-Q1 100 10.00',
      '2019-Q2 100 10.00',
      '2019-Q3 100 12.00',
      '2019-Q4 100 12.00',
    ]);
  });

  it('emits exactly one event per threshold under 50 concurrent creates that cross together', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const thresholds = [10, 50, 100, 150, 200, 250, 300, 400, 450, 500];
    const b = await budget(owner, { amount: '100', thresholds });
    // Different categories and days, so the rollup rows do not serialise the writers: only the
    // budget lock does.
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        app
          .http()
          .post(TX)
          .set(bearer(owner))
          .send({
            type: 'expense',
            amount: '10.00',
            category: `c${i % 7}`,
            date: `2026-08-${String((i % 28) + 1).padStart(2, '0')}`,
          }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    const got = await alerts(b.id);
    expect(got.map((a) => a.threshold).sort((x, y) => x - y)).toEqual(thresholds);
    // Serialised on the budget, each crossing write saw exactly the spending before it.
    for (const a of got) expect(a.spent).toBe(`${a.threshold}.00`);
    const status = await app
      .http()
      .get(`${BUDGETS}/${b.id}/status?period=2026-08`)
      .set(bearer(owner))
      .expect(200);
    expect(status.body).toMatchObject({ spent: '500.00', crossed: thresholds });
  });

  it('makes only the writes that count towards a budget wait for it', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const food = await budget(owner, { amount: '100', category: 'food' });
    const held = await app.sql.connect();
    try {
      await held.query('BEGIN');
      await held.query('SELECT 1 FROM budgets WHERE id = $1 FOR UPDATE', [food.id]);
      const post = (category: string) =>
        app
          .http()
          .post(TX)
          .set(bearer(owner))
          .send({ type: 'expense', amount: '90.00', category, date: '2026-02-02' });
      // Another category, an income: nothing to wait for.
      expect((await post('rent')).status).toBe(201);
      const income = await app
        .http()
        .post(TX)
        .set(bearer(owner))
        .send({ type: 'income', amount: '90.00', category: 'Food', date: '2026-02-02' });
      expect(income.status).toBe(201);
      // An expense in the budget's category waits for the budget.
      let answered = false;
      const waiting = post('FOOD').then((res) => {
        answered = true;
        return res;
      });
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(answered).toBe(false);
      await held.query('COMMIT');
      expect((await waiting).status).toBe(201);
    } finally {
      held.release();
    }
    expect(brief(await alerts(food.id))).toEqual(['2026-02 80 90.00']);
  });

  it('emits each threshold once for an import that crosses several at once, and nothing for a second', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const b = await budget(owner, {
      amount: '100',
      thresholds: [25, 50, 75, 100],
      category: 'rent',
    });
    const csv = (rows: string[]) => `date,type,amount,category\n${rows.join('\n')}\n`;
    await app
      .http()
      .post(`${TX}/import`)
      .set(bearer(owner))
      .set('Content-Type', 'text/csv')
      .send(
        csv([
          '2026-09-01,expense,30.00,Rent',
          '2026-09-02,expense,30.00,RENT',
          '2026-09-03,expense,45.00,rent',
        ]),
      )
      .expect(201);
    expect(brief(await alerts(b.id)).sort()).toEqual([
      '2026-09 100 105.00',
      '2026-09 25 105.00',
      '2026-09 50 105.00',
      '2026-09 75 105.00',
    ]);
    await app
      .http()
      .post(`${TX}/import`)
      .set(bearer(owner))
      .set('Content-Type', 'text/csv')
      .send(csv(['2026-09-04,expense,300.00,rent']))
      .expect(201);
    expect(await alerts(b.id)).toHaveLength(4);
  });

  it('emits from an async import job', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const b = await budget(owner, { amount: '10', thresholds: [100] });
    const res = await app
      .http()
      .post(`${TX}/import?async=true`)
      .set(bearer(owner))
      .set('Content-Type', 'text/csv')
      .send('date,type,amount,category\n2026-10-01,expense,6.00,x\n2026-10-02,expense,6.00,y\n')
      .expect(202);
    await until('the import to succeed', async () => {
      const job = await app
        .http()
        .get(`/api/v1/imports/${res.body.id}`)
        .set(bearer(owner))
        .expect(200);
      return job.body.status === 'succeeded' ? true : undefined;
    });
    expect(brief(await alerts(b.id))).toEqual(['2026-10 100 12.00']);
  });

  it('emits from a batch, once per threshold, and nothing from an atomic batch that fails', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const b = await budget(owner, { amount: '100', thresholds: [50, 100] });
    const create = (amount: string, date: string) => ({
      op: 'create',
      data: { type: 'expense', amount, category: 'x', date, ownerId: owner.id },
    });
    const failed = await app
      .http()
      .post(`${TX}/batch`)
      .set(bearer(admin))
      .send({
        operations: [
          create('80.00', '2026-11-01'),
          { op: 'delete', id: '00000000-0000-4000-8000-000000000000' },
        ],
      });
    expect(failed.status).toBe(422);
    expect(await alerts(b.id)).toEqual([]);
    await app
      .http()
      .post(`${TX}/batch`)
      .set(bearer(admin))
      .send({
        operations: [
          create('30.00', '2026-11-01'),
          create('30.00', '2026-11-02'),
          create('50.00', '2026-11-30'),
        ],
      })
      .expect(200);
    expect(brief(await alerts(b.id)).sort()).toEqual(['2026-11 100 110.00', '2026-11 50 110.00']);
  });

  it('counts spending in other currencies at the rates of the moment, added or changed after it was written', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const b = await budget(owner, { amount: '100', thresholds: [50, 100] });
    const rate = (value: string) =>
      app
        .http()
        .put('/api/v1/exchange-rates/GBP/USD/1997-05-10')
        .set(bearer(admin))
        .send({ rate: value })
        .expect((r) => expect([200, 201]).toContain(r.status));
    await createTx(app, owner, { amount: '20.00', currency: 'GBP', date: '1997-05-10' });
    expect(await alerts(b.id)).toEqual([]);
    await rate('2');
    await createTx(app, owner, { amount: '15.00', date: '1997-05-11' });
    expect(brief(await alerts(b.id))).toEqual(['1997-05 50 55.00']);
    await rate('3');
    await createTx(app, owner, { amount: '30.00', date: '1997-05-12' });
    expect(brief(await alerts(b.id))).toEqual(['1997-05 50 55.00', '1997-05 100 105.00']);
    const status = await app
      .http()
      .get(`${BUDGETS}/${b.id}/status?period=1997-05`)
      .set(bearer(owner))
      .expect(200);
    expect(status.body).toMatchObject({ spent: '105.00' });
  });

  it('makes a budget being created wait for a write in flight, and counts that write', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const held = await app.sql.connect();
    let created: Promise<{ id: string }>;
    try {
      await held.query('BEGIN');
      await held.query(
        `INSERT INTO transactions (owner_id, type, amount, currency, category, date)
         VALUES ($1, 'expense', 60.00, 'USD', 'x', '2027-01-05')`,
        [owner.id],
      );
      let answered = false;
      created = budget(owner, { amount: '100', thresholds: [50, 100] }).then((b) => {
        answered = true;
        return b;
      });
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(answered).toBe(false);
      await held.query('COMMIT');
    } finally {
      held.release();
    }
    const b = await created;
    await createTx(app, owner, { amount: '10.00', date: '2027-01-06' });
    await createTx(app, owner, { amount: '45.00', date: '2027-01-07' });
    // 50 % was passed before the budget existed; the write in flight counts towards 100 %.
    expect(brief(await alerts(b.id))).toEqual(['2027-01 100 115.00']);
  });

  it('counts what a budget counts after its category changes', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const b = await budget(owner, { amount: '100', thresholds: [80], category: 'food' });
    await createTx(app, owner, { amount: '30.00', category: 'food', date: '2027-02-01' });
    await createTx(app, owner, { amount: '40.00', category: 'rent', date: '2027-02-01' });
    await app
      .http()
      .patch(`${BUDGETS}/${b.id}`)
      .set(bearer(owner))
      .send({ category: 'rent' })
      .expect(200);
    await createTx(app, owner, { amount: '30.00', category: 'food', date: '2027-02-02' });
    expect(await alerts(b.id)).toEqual([]);
    await createTx(app, owner, { amount: '40.00', category: 'rent', date: '2027-02-02' });
    expect(brief(await alerts(b.id))).toEqual(['2027-02 80 80.00']);
  });

  it('emits nothing for a budget whose conversion lacks a rate, and the write succeeds', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const eur = await budget(owner, { amount: '10', currency: 'EUR', thresholds: [100] });
    const usd = await budget(owner, { amount: '10', thresholds: [100] });
    await createTx(app, owner, { amount: '20.00', date: '1990-01-01' });
    expect(await alerts(eur.id)).toEqual([]);
    expect(brief(await alerts(usd.id))).toEqual(['1990-01 100 20.00']);
  });

  it('shows the event in the owner’s feed and the auditor’s, not another user’s, and delivers it by webhook with a valid signature', async () => {
    const owner = await createUser(app, admin, 'analyst');
    const stranger = await createUser(app, admin, 'analyst');
    const auditor = await createUser(app, admin, 'auditor');
    const path = '/budgets';
    const hook = await app
      .http()
      .post('/api/v1/webhooks')
      .set(bearer(admin))
      .send({ url: `${receiver.url}${path}`, events: ['budget.threshold_crossed'] })
      .expect(201);
    receiver.secrets.set(path, hook.body.secret as string);
    const b = await budget(owner, { amount: '10', thresholds: [100] });
    await createTx(app, owner, { amount: '10.00', date: '2026-12-31' });
    await receiver.waitFor(() => receiver.at(path).some((r) => r.body.data.budgetId === b.id));
    const delivered = receiver.at(path).find((r) => r.body.data.budgetId === b.id)!;
    expect(delivered.verified).toBe(true);
    expect(delivered.body).toMatchObject({
      type: 'budget.threshold_crossed',
      actorId: null,
      data: {
        budgetId: b.id,
        ownerId: owner.id,
        period: '2026-12',
        threshold: 100,
        spent: '10.00',
        amount: '10.00',
        currency: 'USD',
      },
    });
    const feed = async (user: TestUser) => {
      const res = await app
        .http()
        .get('/api/v1/events?types=budget.threshold_crossed&limit=100')
        .set(bearer(user))
        .expect(200);
      return (res.body.data as { data: Alert }[]).filter((e) => e.data.budgetId === b.id);
    };
    expect(await feed(owner)).toHaveLength(1);
    expect(await feed(auditor)).toHaveLength(1);
    expect(await feed(stranger)).toHaveLength(0);
  });

  // Last, so it covers every write above: dips, moves, restores, imports, batches, races.
  it('keeps each running total equal to the rollups it stands for', async () => {
    const { rows } = await app.sql.query<{ pairs: number; drift: number }>(
      `SELECT count(*)::int AS pairs,
         count(*) FILTER (WHERE t.spent <> x.own OR t.foreign_rows <> x.n)::int AS drift
       FROM budget_spending t JOIN budgets b ON b.id = t.budget_id
       CROSS JOIN LATERAL (
         SELECT coalesce(sum(r.total) FILTER (WHERE r.currency = b.currency), 0) AS own,
           coalesce(sum(r.count) FILTER (WHERE r.currency <> b.currency), 0) AS n
         FROM rollup_monthly r
         WHERE r.scope_id = b.owner_id AND r.type = 'expense' AND r.month >= t.period_start
           AND r.month < t.period_start + CASE b.period WHEN 'month' THEN interval '1 month'
             WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year' END
           AND (b.category IS NULL OR lower(b.category) = lower(r.category))) x`,
    );
    expect(rows[0].pairs).toBeGreaterThan(10);
    expect(rows[0].drift).toBe(0);
  });
});
