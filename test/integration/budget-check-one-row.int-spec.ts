import type { User } from '../../src/users/entities/user.entity';
import { createUser } from './factories';
import { type Harness, startHarness } from './harness';
import { pick, seeded } from '../seeded';

/**
 * The budget check's one-row shortcut (migration budget-check-one-row) against the general
 * check, differentially: two owners get the same budgets and the same seeded run of expenses.
 * Each of one owner's rows is inserted alone (a one-row statement: the shortcut, whenever it
 * applies); each of the other's with an income row beside it (two rows: always the general
 * statement; the income counts towards nothing). Both must end with the same running totals and
 * the same `budget.threshold_crossed` events, in the same order. Straight SQL: the triggers are
 * the subject, whatever route wrote the rows.
 */
const BUDGETS = [
  {
    name: 'month, all',
    amount: '900.00',
    currency: 'USD',
    category: null,
    period: 'month',
    thresholds: [50, 80, 100, 120],
  },
  {
    name: 'quarter, rent',
    amount: '800.00',
    currency: 'USD',
    category: 'Rent',
    period: 'quarter',
    thresholds: [100, 25, 50, 75, 30, 35],
  },
  {
    name: 'year, groceries',
    amount: '4000.00',
    currency: 'USD',
    category: 'groceries',
    period: 'year',
    thresholds: [10, 90, 1000],
  },
  {
    name: 'month, travel',
    amount: '300.00',
    currency: 'USD',
    category: 'TRAVEL',
    period: 'month',
    thresholds: [100],
  },
  // Another currency: the shortcut declines the writes it counts (category Other); with no
  // USD→JPY rate there is no figure, so no event on either side.
  {
    name: 'month, other, JPY',
    amount: '100000',
    currency: 'JPY',
    category: 'other',
    period: 'month',
    thresholds: [50],
  },
];
const CATEGORIES = ['Rent', 'rent', 'Groceries', 'GROCERIES', 'Travel', 'Other'];
const WRITES = 400;

interface Row {
  type: 'income' | 'expense';
  amount: string;
  category: string;
  date: string;
  deleted: boolean;
}

describe('the budget check of a one-row insert', () => {
  let h: Harness;
  let alone: User;
  let paired: User;

  beforeAll(async () => {
    h = await startHarness();
    alone = await createUser(h, 'analyst');
    paired = await createUser(h, 'analyst');
    // Ids in the same order for both owners: a statement's events come in budget id order.
    for (const [o, owner] of [alone, paired].entries()) {
      for (const [i, b] of BUDGETS.entries()) {
        await h.sql.query(
          `INSERT INTO budgets (id, owner_id, name, amount, currency, category, period, thresholds)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            `${String(i + 1).padStart(8, '0')}-0000-4000-8000-00000000000${o}`,
            owner.id,
            b.name,
            b.amount,
            b.currency,
            b.category,
            b.period,
            b.thresholds,
          ],
        );
      }
    }
    const rand = seeded(20261205);
    const insert = `INSERT INTO transactions (owner_id, type, amount, currency, category, date, deleted_at)
      VALUES ($1, $2, $3, 'USD', $4, $5, CASE WHEN $6 THEN now() END)`;
    for (let i = 0; i < WRITES; i++) {
      const cents = 1 + Math.floor(rand() * 30_000);
      const row: Row = {
        type: rand() < 0.1 ? 'income' : 'expense',
        amount: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
        category: pick(rand, CATEGORIES),
        // 2025-03-20 .. 2025-07-18: months, quarters and their boundaries.
        date: new Date(Date.UTC(2025, 2, 20 + Math.floor(rand() * 120))).toISOString().slice(0, 10),
        deleted: rand() < 0.05,
      };
      const values = [row.type, row.amount, row.category, row.date, row.deleted];
      await h.sql.query(insert, [alone.id, ...values]);
      await h.sql.query(`${insert}, ($1, 'income', '1.00', 'USD', 'Salary', $5, NULL)`, [
        paired.id,
        ...values,
      ]);
    }
  }, 120_000);
  afterAll(() => h?.close());

  const events = async (owner: User) =>
    (
      await h.sql.query<{ name: string; data: Record<string, unknown> }>(
        `SELECT b.name, e.data FROM events e JOIN budgets b ON b.id = (e.data->>'budgetId')::uuid
         WHERE e.type = 'budget.threshold_crossed' AND e.owner_id = $1 ORDER BY e.seq`,
        [owner.id],
      )
    ).rows.map(({ name, data }) => {
      const { budgetId, ownerId, ...rest } = data;
      expect(ownerId).toBe(owner.id);
      expect(typeof budgetId).toBe('string');
      return { name, ...rest };
    });

  const totals = async (owner: User) =>
    (
      await h.sql.query<{ name: string; start: string; spent: string; foreign: string }>(
        `SELECT b.name, s.period_start::text AS start, s.spent::text AS spent,
           s.foreign_rows::text AS foreign
         FROM budget_spending s JOIN budgets b ON b.id = s.budget_id
         WHERE b.owner_id = $1 ORDER BY 1, 2`,
        [owner.id],
      )
    ).rows;

  it('crossed thresholds of every period kind (the run is not vacuous)', async () => {
    const got = await events(alone);
    const names = new Set(got.map((e) => e.name));
    for (const b of BUDGETS.slice(0, 4)) expect(names).toContain(b.name);
    expect(got.length).toBeGreaterThan(20);
  });

  it('ends with the same events as the general check, in the same order', async () => {
    expect(await events(alone)).toEqual(await events(paired));
  });

  it('ends with the same running totals as the general check', async () => {
    const got = await totals(alone);
    expect(got.length).toBeGreaterThan(10);
    expect(got).toEqual(await totals(paired));
  });
});

describe('the budgets table', () => {
  let h: Harness;
  let owner: User;

  beforeAll(async () => {
    h = await startHarness();
    owner = await createUser(h, 'analyst');
  });
  afterAll(() => h?.close());

  const insertWith = (thresholds: number[]) =>
    h.sql.query(
      `INSERT INTO budgets (owner_id, name, amount, currency, period, thresholds)
       VALUES ($1, 'b', '100.00', 'USD', 'month', $2)`,
      [owner.id, thresholds],
    );

  // The general check would write a threshold listed twice twice; the shortcut once.
  it('refuses a threshold listed twice, as the API does', async () => {
    await expect(insertWith([50, 80, 50])).rejects.toMatchObject({
      code: '23514',
      constraint: 'budgets_thresholds_distinct',
    });
    await expect(insertWith([50, 80, 100])).resolves.toBeDefined();
  });
});
