import type { CreateTransactionDto } from '../../src/transactions/dto/create-transaction.dto';
import type { UpdateTransactionDto } from '../../src/transactions/dto/update-transaction.dto';
import { TransactionsService } from '../../src/transactions/transactions.service';
import { DashboardService } from '../../src/dashboard/dashboard.service';
import type { User } from '../../src/users/entities/user.entity';
import { addDays, todayIn } from '../../src/common/dates';
import { BASE } from '../dashboard-helpers';
import { createUser } from './factories';
import { type Harness, startHarness } from './harness';
import { pick, seeded } from '../seeded';

/**
 * The dashboard reads only the rollup tables, kept by statement triggers. After a seeded
 * pseudo-random run of ~300 writes through the services (creates, PATCHes of amount/date/category/type,
 * soft deletes and restores, 10 at a time), every dashboard figure must equal the same figure
 * computed straight from the transactions table, and every rollup row must equal a GROUP BY.
 * In process: the writes and the dashboards go through the services, as the routes call them
 * (the routes' HTTP behaviour is covered by the dashboard and transactions e2e files).
 * Every row is created in the base currency, the dashboards' default reporting currency, so the
 * converted figures are the plain sums; byCurrency is recounted per currency from the table.
 */
const ORG = '00000000-0000-0000-0000-000000000000';
const CATEGORIES = ['Groceries', 'groceries', 'RENT', 'Salary', 'eating Out'];
const OPERATIONS = 300;
const BATCH = 10;

interface Row {
  id: string;
  deleted: boolean;
}

interface Summary {
  currency: string;
  totalIncome: string;
  totalExpenses: string;
  netBalance: string;
  transactionCount: number;
}
interface Category {
  category: string;
  currency: string;
  type: string;
  total: string;
  count: number;
}
interface Point {
  period: string;
  currency: string;
  income: string;
  expenses: string;
  net: string;
}

const cents = (money: string) => BigInt(money.replace('.', ''));
const byKey = (a: Category, b: Category) =>
  `${a.type}|${a.category}` < `${b.type}|${b.category}` ? -1 : 1;

describe('dashboard rollups after a random run of writes', () => {
  let h: Harness;
  let admin: User;
  let users: User[];
  let transactions: TransactionsService;
  let dashboard: DashboardService;
  const tally = { create: 0, patch: 0, delete: 0, restore: 0 };

  beforeAll(async () => {
    h = await startHarness();
    admin = h.admin;
    transactions = h.get(TransactionsService);
    dashboard = h.get(DashboardService);
    users = [
      await createUser(h, 'analyst'),
      await createUser(h, 'analyst'),
      await createUser(h, 'viewer'), // its rows are recorded by the admin
    ];
    const rand = seeded(20261125);
    const amount = () => {
      const c = 1 + Math.floor(rand() * 500_000);
      return `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;
    };
    const date = () =>
      new Date(Date.UTC(2023, 0, 1 + Math.floor(rand() * 1096))).toISOString().slice(0, 10);
    const rows: Row[] = [];

    const create = async () => {
      const owner = pick(rand, users);
      const body: CreateTransactionDto = {
        type: rand() < 0.35 ? 'income' : 'expense',
        amount: amount(),
        category: pick(rand, CATEGORIES),
        date: date(),
      };
      const actor = owner.role === 'viewer' ? admin : owner;
      if (owner.role === 'viewer') body.ownerId = owner.id;
      const created = await transactions.create(actor, body);
      rows.push({ id: created.id, deleted: false });
      tally.create++;
    };
    const patch = async (row: Row) => {
      const body: UpdateTransactionDto = {};
      while (Object.keys(body).length === 0) {
        if (rand() < 0.5) body.amount = amount();
        if (rand() < 0.4) body.date = date();
        if (rand() < 0.4) body.category = pick(rand, CATEGORIES);
        if (rand() < 0.3) body.type = rand() < 0.5 ? 'income' : 'expense';
      }
      const updated = await transactions.update(admin, row.id, body);
      expect(updated.id).toBe(row.id);
      tally.patch++;
    };
    const remove = async (row: Row) => {
      row.deleted = true;
      await transactions.remove(admin, row.id);
      tally.delete++;
    };
    const restore = async (row: Row) => {
      row.deleted = false;
      await transactions.restore(admin, row.id);
      tally.restore++;
    };

    for (let done = 0; done < OPERATIONS; done += BATCH) {
      // Plan a batch first: each existing row is touched at most once per batch.
      const touched = new Set<string>();
      const free = (deleted: boolean) =>
        rows.filter((r) => r.deleted === deleted && !touched.has(r.id));
      const batch: (() => Promise<void>)[] = [];
      for (let k = 0; k < BATCH; k++) {
        const roll = done < 80 ? 0 : rand();
        const live = free(false);
        const gone = free(true);
        let op: (() => Promise<void>) | undefined;
        if (roll >= 0.35 && roll < 0.7 && live.length > 0) {
          const row = pick(rand, live);
          op = () => patch(row);
          touched.add(row.id);
        } else if (roll >= 0.7 && roll < 0.85 && live.length > 0) {
          const row = pick(rand, live);
          op = () => remove(row);
          touched.add(row.id);
        } else if (roll >= 0.85 && gone.length > 0) {
          const row = pick(rand, gone);
          op = () => restore(row);
          touched.add(row.id);
        }
        batch.push(op ?? create);
      }
      await Promise.all(batch.map((op) => op()));
    }
  }, 240_000); // ~300 writes; generous for a loaded machine, not a performance bound
  afterAll(() => h?.close());

  /** The admin's view of one user (by index) or of the organisation. */
  const scopes = ['user 1', 'user 2', 'user 3', 'organisation'];
  const scopeOf = (name: string) => {
    const user = users[scopes.indexOf(name)];
    return { query: user ? { userId: user.id } : {}, owner: user?.id };
  };

  /** WHERE clause over the base table for an owner and an inclusive date range. */
  function where(owner: string | undefined, from?: string, to?: string) {
    const clauses = ['deleted_at IS NULL'];
    const values: string[] = [];
    for (const [sql, value] of [
      ['owner_id = $', owner],
      ['date >= $', from],
      ['date <= $', to],
    ] as const) {
      if (value === undefined) continue;
      values.push(value);
      clauses.push(`${sql}${values.length}`);
    }
    return { text: clauses.join(' AND '), values };
  }

  const money = (expr: string) => `coalesce(${expr}, 0)::numeric(20,2)::text`;
  const inc = `sum(amount) FILTER (WHERE type = 'income')`;
  const exp = `sum(amount) FILTER (WHERE type = 'expense')`;

  /** The summary columns of one group of rows; `currency` is the SELECT's currency column. */
  const summaryColumns = (currency: string) =>
    `${currency} AS currency, ${money(inc)} AS "totalIncome", ${money(exp)} AS "totalExpenses",
     ${money(`coalesce(${inc}, 0) - coalesce(${exp}, 0)`)} AS "netBalance",
     count(*)::int AS "transactionCount"`;

  async function summarySql(
    owner?: string,
    from?: string,
    to?: string,
  ): Promise<Summary & { byCurrency: Summary[] }> {
    const w = where(owner, from, to);
    // Every row is in the reporting currency (BASE), so the totals are the plain sums.
    const { rows } = await h.sql.query<Summary>(
      `SELECT ${summaryColumns(`'${BASE}'`)} FROM transactions WHERE ${w.text}`,
      w.values,
    );
    const { rows: byCurrency } = await h.sql.query<Summary>(
      `SELECT ${summaryColumns('currency::text')} FROM transactions WHERE ${w.text}
       GROUP BY currency ORDER BY currency`,
      w.values,
    );
    return { ...rows[0], byCurrency };
  }

  async function categoriesSql(owner?: string, from?: string, to?: string) {
    const w = where(owner, from, to);
    const { rows } = await h.sql.query<Category>(
      `SELECT category, '${BASE}' AS currency, type::text AS type, sum(amount)::text AS total,
         count(*)::int AS count
       FROM transactions WHERE ${w.text} GROUP BY category, type`,
      w.values,
    );
    return rows.sort(byKey);
  }

  async function trendsSql(label: string, owner: string | undefined, from: string, to: string) {
    const w = where(owner, from, to);
    const { rows } = await h.sql.query<Point>(
      `SELECT to_char(date, '${label}') AS period, '${BASE}' AS currency,
         ${money(inc)} AS income, ${money(exp)} AS expenses,
         ${money(`coalesce(${inc}, 0) - coalesce(${exp}, 0)`)} AS net
       FROM transactions WHERE ${w.text} GROUP BY 1 ORDER BY 1`,
      w.values,
    );
    return rows;
  }

  it('ran every kind of write', () => {
    expect(tally.create + tally.patch + tally.delete + tally.restore).toBe(OPERATIONS);
    expect(tally.patch).toBeGreaterThan(30);
    expect(tally.delete).toBeGreaterThan(10);
    expect(tally.restore).toBeGreaterThan(5);
  });

  const RANGES: [string, { from?: string; to?: string }][] = [
    ['all time', {}],
    ['partial months at both ends', { from: '2023-03-17', to: '2025-08-09' }],
    ['a span inside one month', { from: '2024-02-03', to: '2024-02-27' }],
    ['whole months only', { from: '2024-01-01', to: '2024-06-30' }],
  ];

  describe.each(scopes)('for %s', (scope) => {
    it.each(RANGES)('matches the base table on /summary over %s', async (_name, range) => {
      const { query, owner } = scopeOf(scope);
      const got = await dashboard.summary(admin, { ...query, ...range });
      expect(got).toEqual(await summarySql(owner, range.from, range.to));
    });

    it.each(RANGES)('matches the base table on /categories over %s', async (_name, range) => {
      const { query, owner } = scopeOf(scope);
      const body = await dashboard.categories(admin, { ...query, ...range });
      const got = (body as Category[]).map(({ category, currency, type, total, count }) => ({
        category,
        currency,
        type,
        total,
        count,
      }));
      expect([...got].sort(byKey)).toEqual(await categoriesSql(owner, range.from, range.to));
      for (let k = 1; k < got.length; k++)
        expect(cents(got[k - 1].total) >= cents(got[k].total)).toBe(true);
    });

    it.each([
      { interval: 'month', label: 'YYYY-MM', from: '2023-01-01', to: '2025-12-31', periods: 36 },
      { interval: 'month', label: 'YYYY-MM', from: '2023-03-17', to: '2025-08-09', periods: 30 },
      { interval: 'year', label: 'YYYY', from: '2023-03-17', to: '2025-08-09', periods: 3 },
      { interval: 'week', label: 'IYYY-"W"IW', from: '2024-02-03', to: '2024-05-27', periods: 18 },
    ] as const)(
      'matches the base table on /trends?interval=$interval from $from to $to',
      async ({ interval, label, from, to, periods }) => {
        const { query, owner } = scopeOf(scope);
        const body = await dashboard.trends(admin, { ...query, interval, from, to });
        expect(body).toHaveLength(periods);
        const nonEmpty = (body as Point[]).filter(
          (p: Point) => p.income !== '0.00' || p.expenses !== '0.00',
        );
        expect(nonEmpty).toEqual(await trendsSql(label, owner, from, to));
      },
    );

    it.each([
      { interval: 'month', label: 'YYYY-MM', from: undefined, to: undefined },
      { interval: 'year', label: 'YYYY', from: undefined, to: undefined },
      { interval: 'week', label: 'IYYY-"W"IW', from: undefined, to: undefined },
      { interval: 'month', label: 'YYYY-MM', from: '2024-05-20', to: undefined },
      { interval: 'month', label: 'YYYY-MM', from: undefined, to: '2024-05-20' },
      { interval: 'week', label: 'IYYY-"W"IW', from: '2024-05-20', to: undefined },
      { interval: 'week', label: 'IYYY-"W"IW', from: undefined, to: '2024-05-20' },
    ] as const)(
      'matches the base table on /trends?interval=$interval with open bounds (from $from to $to)',
      async ({ interval, label, from, to }) => {
        const { query, owner } = scopeOf(scope);
        const body = (await dashboard.trends(admin, { ...query, interval, from, to })) as Point[];
        // Open bounds: from the first period with live rows to the later of the last and today.
        const w = where(owner);
        const today = todayIn(h.config.reportTimeZone);
        const { rows } = await h.sql.query<{ first: string; last: string }>(
          `SELECT to_char(coalesce($${w.values.length + 1}::date, min(date)), '${label}') AS first,
             to_char(coalesce($${w.values.length + 2}::date, greatest(max(date), $${w.values.length + 3}::date)), '${label}') AS last
           FROM transactions WHERE ${w.text}`,
          [...w.values, from ?? null, to ?? null, today],
        );
        expect([body[0].period, body[body.length - 1].period]).toEqual([
          rows[0].first,
          rows[0].last,
        ]);
        const nonEmpty = body.filter((p) => p.income !== '0.00' || p.expenses !== '0.00');
        expect(nonEmpty).toEqual(
          await trendsSql(label, owner, from ?? '1900-01-01', to ?? '2999-12-31'),
        );
      },
    );

    it.each(['month', 'year', 'week'] as const)(
      'answers no %s points from a future day without `to` when no row lies after it',
      async (interval) => {
        const { query } = scopeOf(scope);
        const tomorrow = addDays(todayIn(h.config.reportTimeZone), 1);
        expect(await dashboard.trends(admin, { ...query, interval, from: tomorrow })).toEqual([]);
      },
    );
  });

  // [table, its date column, that date from a transaction, its category column, fewest rows]
  it.each([
    ['rollup_daily', 'day', 'date', 'category', 100],
    ['rollup_monthly', 'month', `date_trunc('month', date)::date`, 'category', 100],
    ['rollup_totals', 'NULL', 'NULL', 'category', 20],
  ])(
    'keeps every %s row equal to a GROUP BY over live transactions',
    async (table, col, key, cat, fewest) => {
      const { rows: kept } = await h.sql.query(
        `SELECT scope_id::text AS scope, ${col}::text AS d, type::text AS type, ${cat} AS category,
         total::text AS total, count::int AS count
       FROM ${table} WHERE NOT (count = 0 AND total = 0) ORDER BY 1, 2, 3, 4`,
      );
      const { rows: truth } = await h.sql.query(
        `SELECT s.scope::text AS scope, ${key}::text AS d, type::text AS type, ${cat} AS category,
         sum(amount)::text AS total, count(*)::int AS count
       FROM transactions t CROSS JOIN LATERAL (VALUES (t.owner_id), ('${ORG}'::uuid)) s(scope)
       WHERE deleted_at IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
      );
      expect(truth.length).toBeGreaterThan(fewest);
      expect(kept).toEqual(truth);
    },
  );

  it('answers trends from a future day without `to` up to the period of the last row after it', async () => {
    const user = await createUser(h, 'analyst');
    const tomorrow = addDays(todayIn(h.config.reportTimeZone), 1);
    const later = addDays(tomorrow, 70);
    await transactions.create(user, {
      type: 'expense',
      amount: '12.34',
      currency: BASE,
      category: 'Future',
      date: later,
    });
    const body = (await dashboard.trends(admin, {
      userId: user.id,
      interval: 'month',
      from: tomorrow,
    })) as Point[];
    expect(body[0].period).toBe(tomorrow.slice(0, 7));
    expect(body[body.length - 1]).toMatchObject({ period: later.slice(0, 7), expenses: '12.34' });
    expect(body.filter((p) => p.expenses !== '0.00')).toHaveLength(1);

    const weeks = (await dashboard.trends(admin, {
      userId: user.id,
      interval: 'week',
      from: tomorrow,
    })) as Point[];
    const { rows } = await h.sql.query<{ first: string; last: string }>(
      `SELECT to_char($1::date, 'IYYY-"W"IW') AS first, to_char($2::date, 'IYYY-"W"IW') AS last`,
      [tomorrow, later],
    );
    expect(weeks[0].period).toBe(rows[0].first);
    expect(weeks[weeks.length - 1]).toMatchObject({ period: rows[0].last, expenses: '12.34' });
    expect(weeks.filter((p) => p.expenses !== '0.00')).toHaveLength(1);
  });
});
