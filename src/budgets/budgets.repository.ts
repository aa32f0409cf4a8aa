import { Injectable } from '@nestjs/common';
import { ReadRouting } from '../database/replicas/read-routing';
import { convertedRollups, type Conversion } from '../database/rollups';
import { Params, type Queryable, query } from '../database/sql';
import type { BudgetPeriod } from './entities/budget.entity';

/** All SQL of the budgets feature. Request values only ever travel as parameters. */

export interface BudgetRow {
  id: string;
  ownerId: string;
  name: string;
  /** As stored: exactly the currency's minor units. */
  amount: string;
  currency: string;
  category: string | null;
  period: BudgetPeriod;
  thresholds: number[];
  createdAt: Date;
  updatedAt: Date;
}

export type NewBudget = Omit<BudgetRow, 'id' | 'createdAt' | 'updatedAt'>;
export type BudgetChanges = Partial<
  Pick<BudgetRow, 'name' | 'amount' | 'currency' | 'category' | 'period' | 'thresholds'>
>;

/** Where a page of `GET /budgets` stopped: created_at as PostgreSQL prints it (µs), and the id. */
export interface BudgetKeyset {
  c: string;
  id: string;
}

/** The spending of a budget in a period, exact (not yet rounded), and whether a rate is missing. */
export interface Spending {
  /** Exact sum in the budget's currency (converted terms carry 40 decimals). */
  spent: string;
  /** How many rollup rows were summed (for `roundConverted`). */
  terms: number;
  incomplete: boolean;
}

export interface MissingRate {
  from: string;
  to: string;
  date: string;
}

/** A budget row (`b`), as `presentBudget` takes it. */
export const BUDGET_COLUMNS = `b.id, b.owner_id AS "ownerId", b.name, b.amount::text AS amount, b.currency,
  b.category, b.period, b.thresholds, b.created_at AS "createdAt", b.updated_at AS "updatedAt"`;

const COLUMN_OF: Record<keyof BudgetChanges, string> = {
  name: 'name',
  amount: 'amount',
  currency: 'currency',
  category: 'category',
  period: 'period',
  thresholds: 'thresholds',
};

/** The budget's rows of a conversion (`conv`): expenses, in its category when it has one. */
const expensesOf = (params: Params, category: string | null) =>
  `c.type = 'expense'${category === null ? '' : ` AND lower(c.category) = lower(${params.p(category)})`}`;

@Injectable()
export class BudgetsRepository {
  constructor(private readonly reads: ReadRouting) {}

  /** Inserts only when the owner is an active user; no row back means it is not. */
  async insert(db: Queryable, b: NewBudget): Promise<BudgetRow | undefined> {
    const params = new Params();
    const owner = params.p(b.ownerId);
    const values = [b.name, b.amount, b.currency, b.category, b.period].map((v) => params.p(v));
    const [row] = await query<BudgetRow>(
      db,
      `INSERT INTO budgets AS b (owner_id, name, amount, currency, category, period, thresholds)
       SELECT ${owner}, ${values.join(', ')}, ${params.p(b.thresholds)}::int[]
       WHERE EXISTS (SELECT 1 FROM users WHERE id = ${owner} AND is_active)
       RETURNING ${BUDGET_COLUMNS}`,
      params.values,
    );
    return row;
  }

  /** One budget; `ownerId` confines it to that owner. `db`: a write's transaction, else a reader. */
  async find(id: string, ownerId?: string, db?: Queryable): Promise<BudgetRow | undefined> {
    const params = new Params();
    const owner = ownerId ? ` AND b.owner_id = ${params.p(ownerId)}` : '';
    const [row] = await query<BudgetRow>(
      db ?? (await this.reads.reader()),
      `SELECT ${BUDGET_COLUMNS} FROM budgets b WHERE b.id = ${params.p(id)}${owner}`,
      params.values,
    );
    return row;
  }

  /**
   * The budget, locked until the transaction ends (after any write checking it). First its
   * owner's budget lock, exclusively: the alert triggers take that one before the budget's row
   * (budget-spending migration), so taking it second could deadlock with them.
   */
  async lock(db: Queryable, id: string, ownerId?: string): Promise<BudgetRow | undefined> {
    const params = new Params();
    const owner = ownerId ? ` AND b.owner_id = ${params.p(ownerId)}` : '';
    const where = `b.id = ${params.p(id)}${owner}`;
    await db.query(
      `SELECT budget_owner_lock(b.owner_id) FROM budgets b WHERE ${where}`,
      params.values,
    );
    const [row] = await query<BudgetRow>(
      db,
      `SELECT ${BUDGET_COLUMNS} FROM budgets b WHERE ${where} FOR UPDATE`,
      params.values,
    );
    return row;
  }

  /** Oldest first (budgets_owner_idx / budgets_created_idx), `limit + 1` rows. */
  async list(
    ownerId: string | undefined,
    limit: number,
    after?: BudgetKeyset,
  ): Promise<(BudgetRow & { createdKey: string })[]> {
    const params = new Params();
    const where: string[] = [];
    if (ownerId) where.push(`b.owner_id = ${params.p(ownerId)}`);
    if (after) {
      where.push(
        `(b.created_at, b.id) > (${params.p(after.c)}::timestamptz, ${params.p(after.id)}::uuid)`,
      );
    }
    return query(
      await this.reads.reader(),
      `SELECT ${BUDGET_COLUMNS}, b.created_at::text AS "createdKey" FROM budgets b
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY b.created_at, b.id LIMIT ${params.p(limit + 1)}`,
      params.values,
    );
  }

  async update(db: Queryable, id: string, changes: BudgetChanges): Promise<BudgetRow> {
    const params = new Params();
    const sets = Object.entries(changes)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => {
        const column = COLUMN_OF[key as keyof BudgetChanges];
        return key === 'thresholds'
          ? `${column} = ${params.p(value)}::int[]`
          : `${column} = ${params.p(value)}`;
      });
    const [row] = await query<BudgetRow>(
      db,
      `UPDATE budgets b SET ${[...sets, 'updated_at = now()'].join(', ')}
       WHERE b.id = ${params.p(id)} RETURNING ${BUDGET_COLUMNS}`,
      params.values,
    );
    return row;
  }

  async delete(db: Queryable, id: string): Promise<void> {
    await db.query(`DELETE FROM budgets WHERE id = $1`, [id]);
  }

  /**
   * The owner's live expenses (in `category`, case-insensitive, when given) dated from..to, in
   * `to.currency`, from the rollups: whole months from the monthly table, other currencies per day
   * at that day's rate (`convertedRollups`, as the dashboards do).
   */
  async spending(
    ownerId: string,
    category: string | null,
    from: string,
    until: string,
    to: Conversion,
  ): Promise<Spending> {
    const params = new Params();
    const ctes = convertedRollups(params, `= ${params.p(ownerId)}`, { from, to: until }, to);
    const [row] = await query<Spending>(
      await this.reads.reader(),
      `WITH ${ctes}
       SELECT coalesce(sum(c.amount), 0)::text AS spent, count(*)::int AS terms,
         coalesce(bool_or(c.missing), false) AS incomplete
       FROM conv c WHERE ${expensesOf(params, category)}`,
      params.values,
    );
    return row;
  }

  /** The rates that spending lacks: one per currency and day, oldest first, the first 100. */
  async missingRates(
    ownerId: string,
    category: string | null,
    from: string,
    until: string,
    to: Conversion,
  ): Promise<MissingRate[]> {
    const params = new Params();
    const ctes = convertedRollups(params, `= ${params.p(ownerId)}`, { from, to: until }, to);
    return query<MissingRate>(
      await this.reads.reader(),
      `WITH ${ctes}
       SELECT DISTINCT c.currency::text AS "from", ${params.p(to.currency)}::text AS "to", c.d::text AS date
       FROM conv c WHERE c.missing AND ${expensesOf(params, category)}
       ORDER BY date, "from" LIMIT 100`,
      params.values,
    );
  }

  /**
   * The settings the alert triggers convert with (see the budgets migration): upserted at start,
   * so they follow this instance's configuration.
   */
  async saveSettings(db: Queryable, base: string, maxAgeDays: number): Promise<void> {
    await db.query(
      `INSERT INTO app_settings (id, base_currency, fx_max_age_days) VALUES (true, $1, $2)
       ON CONFLICT (id) DO UPDATE SET base_currency = EXCLUDED.base_currency,
         fx_max_age_days = EXCLUDED.fx_max_age_days
       WHERE (app_settings.base_currency, app_settings.fx_max_age_days) IS DISTINCT FROM ($1, $2)`,
      [base, maxAgeDays],
    );
  }
}
