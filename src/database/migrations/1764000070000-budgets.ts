import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Budgets and their threshold alerts (docs/api.md, "Budgets and alerts").
 *
 * - `budgets`: an owner's spending limit for one category (NULL: all expenses) per month,
 *   quarter or year, in one currency, with 1-10 thresholds (percent of the amount).
 * - `budget_alerts`: one row per (budget, period, threshold) whose `budget.threshold_crossed`
 *   event was written. Its primary key is what makes the event exactly-once: the event is
 *   inserted only for the alert rows an `INSERT ... ON CONFLICT DO NOTHING` actually added.
 * - `app_settings`: one row with BASE_CURRENCY and FX_MAX_AGE_DAYS, which the app upserts at
 *   start, so the triggers convert with `fx_rate()` by the same rule as the dashboards without
 *   session settings (which PgBouncer in transaction mode would not keep).
 * - Statement-level AFTER triggers on `transactions` that detect a crossing in the writing
 *   transaction itself, whatever the write path (single routes, batch, CSV COPY, import jobs).
 *   Triggers of one event fire in name order: `transactions_z_budgets_*` sorts after
 *   `transactions_rollup_*`, so the rollups they read already hold the statement's rows.
 */
// The expense rows a statement added (+) or removed (-), live ones only, per owner, day,
// category (lower case) and currency.
const DELTA: Record<string, string> = {
  insert: `SELECT owner_id, date, category, currency, amount FROM new_rows
           WHERE type = 'expense' AND deleted_at IS NULL`,
  update: `SELECT owner_id, date, category, currency, amount FROM new_rows
           WHERE type = 'expense' AND deleted_at IS NULL
           UNION ALL
           SELECT owner_id, date, category, currency, -amount FROM old_rows
           WHERE type = 'expense' AND deleted_at IS NULL`,
  delete: `SELECT owner_id, date, category, currency, -amount FROM old_rows
           WHERE type = 'expense' AND deleted_at IS NULL`,
};
const REFERENCING: Record<string, string> = {
  insert: 'NEW TABLE AS new_rows',
  update: 'OLD TABLE AS old_rows NEW TABLE AS new_rows',
  delete: 'OLD TABLE AS old_rows',
};

/** A category matches a budget's: the budget has none (all expenses), or equal ignoring case. */
const matches = (budget: string, category: string) =>
  `(${budget}.category IS NULL OR lower(${budget}.category) = ${category})`;

const checkFunction = (op: string) => `
  CREATE FUNCTION budgets_after_${op}() RETURNS trigger LANGUAGE plpgsql
  -- The planner cannot size the transition tables and prices the check above jit_above_cost:
  -- JIT compilation then took 150-500 ms of a 10 ms write, while the owner's budgets are locked.
  SET jit = off
  AS $$
  DECLARE
    ids uuid[];
  BEGIN
    -- The budgets the statement's expenses count towards. The hot path: most writes match none;
    -- a probe of budgets_owner_idx per owner and category decides.
    SELECT array_agg(DISTINCT b.id) INTO ids
    FROM (SELECT DISTINCT owner_id, lower(category) AS category FROM (${DELTA[op]}) x) d
    JOIN budgets b ON b.owner_id = d.owner_id AND ${matches('b', 'd.category')};
    IF ids IS NULL THEN RETURN NULL; END IF;

    -- Concurrent writers counting towards one budget queue here, after their transaction and
    -- rollup rows (the order every writer takes them in, so this adds no deadlock), until the
    -- one before commits. A budget created meanwhile is not counted: creating one emits nothing.
    PERFORM 1 FROM budgets WHERE id = ANY(ids) ORDER BY id FOR UPDATE;

    -- A later statement, so a fresh snapshot (READ COMMITTED): the spending of a writer that
    -- held the lock before us and has now committed is counted.
    WITH s AS (SELECT base_currency AS base, fx_max_age_days AS max_age FROM app_settings),
    d AS (
      SELECT owner_id, date, lower(category) AS category, currency, sum(amount) AS amount
      FROM (${DELTA[op]}) x GROUP BY 1, 2, 3, 4
    ),
    -- The (budget, period) pairs the statement touched.
    bp AS (
      SELECT DISTINCT b.id, b.owner_id, b.amount, b.currency, b.category, b.period, b.thresholds,
        date_trunc(b.period, d.date::timestamp)::date AS start,
        (date_trunc(b.period, d.date::timestamp) + CASE b.period WHEN 'month' THEN interval '1 month'
          WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year' END)::date AS stop
      FROM d JOIN budgets b ON b.id = ANY(ids) AND b.owner_id = d.owner_id
        AND ${matches('b', 'd.category')}
    ),
    -- What this statement changed in each, converted at each row's date's rate.
    delta AS (
      SELECT bp.id, bp.start, sum((d.amount * x.num)::numeric(1000, 40) / x.den) AS amount,
        bool_or(x.num IS NULL) AS missing
      FROM bp CROSS JOIN s
      JOIN d ON d.owner_id = bp.owner_id AND ${matches('bp', 'd.category')}
        AND d.date >= bp.start AND d.date < bp.stop
      CROSS JOIN LATERAL fx_rate(d.currency, bp.currency, d.date, s.max_age, s.base) x
      GROUP BY 1, 2
    ),
    -- Spending in the budget's currency: whole months of the monthly rollup.
    own AS (
      SELECT bp.id, bp.start, coalesce(sum(r.total), 0) AS amount
      FROM bp LEFT JOIN rollup_monthly r ON r.scope_id = bp.owner_id AND r.type = 'expense'
        AND r.month >= bp.start AND r.month < bp.stop AND r.currency = bp.currency
        AND ${matches('bp', 'lower(r.category)')}
      GROUP BY 1, 2
    ),
    -- Spending in other currencies: per day, at that day's rate (rollup_daily_currency_idx).
    other AS (
      SELECT bp.id, bp.start, sum((r.total * x.num)::numeric(1000, 40) / x.den) AS amount,
        bool_or(x.num IS NULL) AS missing
      FROM bp CROSS JOIN s
      JOIN rollup_daily r ON r.scope_id = bp.owner_id
        AND (r.currency < bp.currency OR r.currency > bp.currency)
        AND r.day >= bp.start AND r.day < bp.stop AND r.type = 'expense' AND r.count <> 0
        AND ${matches('bp', 'lower(r.category)')}
      CROSS JOIN LATERAL fx_rate(r.currency, bp.currency, r.day, s.max_age, s.base) x
      GROUP BY 1, 2
    ),
    spent AS (
      SELECT bp.*,
        CASE bp.period
          WHEN 'month' THEN to_char(bp.start, 'YYYY-MM')
          WHEN 'quarter' THEN to_char(bp.start, 'YYYY-"Q"Q')
          ELSE to_char(bp.start, 'YYYY') END AS label,
        round_half_even(own.amount + coalesce(other.amount, 0), currency_minor_units(bp.currency)) AS after,
        round_half_even(own.amount + coalesce(other.amount, 0) - coalesce(delta.amount, 0),
          currency_minor_units(bp.currency)) AS before
      FROM bp
      JOIN own ON own.id = bp.id AND own.start = bp.start
      LEFT JOIN other ON other.id = bp.id AND other.start = bp.start
      LEFT JOIN delta ON delta.id = bp.id AND delta.start = bp.start
      -- A missing rate: no figure, so no event for that budget and period.
      WHERE NOT coalesce(other.missing, false) AND NOT coalesce(delta.missing, false)
    ),
    -- Thresholds this statement made spending reach (it was below before the statement).
    crossed AS (
      SELECT s.id, s.owner_id, s.label, t.threshold, s.after, s.amount, s.currency
      FROM spent s CROSS JOIN LATERAL unnest(s.thresholds) t (threshold)
      WHERE s.after * 100 >= s.amount * t.threshold AND s.before * 100 < s.amount * t.threshold
    ),
    recorded AS (
      INSERT INTO budget_alerts (budget_id, period, threshold)
      SELECT id, label, threshold FROM crossed ORDER BY 1, 2, 3
      ON CONFLICT DO NOTHING
      RETURNING budget_id, period, threshold
    )
    INSERT INTO events (type, actor_id, owner_id, data)
    SELECT 'budget.threshold_crossed', NULL, c.owner_id, jsonb_build_object(
      'budgetId', c.id, 'ownerId', c.owner_id, 'period', c.label, 'threshold', c.threshold,
      'spent', c.after::text, 'amount', c.amount::text, 'currency', c.currency)
    FROM recorded r
    JOIN crossed c ON c.id = r.budget_id AND c.label = r.period AND c.threshold = r.threshold
    ORDER BY c.id, c.label, c.threshold;
    RETURN NULL;
  END $$`;

export class Budgets1764000070000 implements MigrationInterface {
  name = 'Budgets1764000070000';

  async up(q: QueryRunner): Promise<void> {
    const base = (process.env.BASE_CURRENCY ?? 'USD').trim() || 'USD';
    const maxAge = Number(process.env.FX_MAX_AGE_DAYS ?? 7) || 7;
    await q.query(`
      CREATE TABLE app_settings (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        base_currency char(3) NOT NULL,
        fx_max_age_days int NOT NULL
      )`);
    await q.query(`INSERT INTO app_settings (base_currency, fx_max_age_days) VALUES ($1, $2)`, [
      base,
      maxAge,
    ]);

    await q.query(`
      CREATE TABLE budgets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id uuid NOT NULL REFERENCES users(id),
        name varchar(100) NOT NULL,
        amount numeric NOT NULL,
        currency char(3) NOT NULL,
        category varchar(64),
        period text NOT NULL CHECK (period IN ('month', 'quarter', 'year')),
        thresholds int[] NOT NULL CHECK (cardinality(thresholds) BETWEEN 1 AND 10
          AND 1 <= ALL (thresholds) AND 1000 >= ALL (thresholds)),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (amount > 0 AND amount < 1000000000000 AND scale(amount) = currency_minor_units(currency))
      )`);
    // The triggers' "has this owner budgets" probe and lock, and a user's list (oldest first).
    await q.query(`CREATE INDEX budgets_owner_idx ON budgets (owner_id, created_at, id)`);
    // The list of everyone's budgets (admins, auditors), oldest first.
    await q.query(`CREATE INDEX budgets_created_idx ON budgets (created_at, id)`);

    await q.query(`
      CREATE TABLE budget_alerts (
        budget_id uuid NOT NULL REFERENCES budgets(id) ON DELETE CASCADE,
        period text NOT NULL,
        threshold int NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (budget_id, period, threshold)
      )`);

    // Half to even at `units` decimals, as money leaves the API (common/money.ts).
    await q.query(`
      CREATE FUNCTION round_half_even(x numeric, units int) RETURNS numeric
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT round(CASE WHEN abs(x * p - trunc(x * p)) = 0.5 AND mod(abs(round(x * p)), 2) = 1
                       THEN round(x, units) - sign(x) / p ELSE x END, units)
        FROM (SELECT power(10::numeric, units) AS p) k
      $$`);

    for (const op of ['insert', 'update', 'delete']) {
      await q.query(checkFunction(op));
      await q.query(`
        CREATE TRIGGER transactions_z_budgets_${op} AFTER ${op.toUpperCase()} ON transactions
        REFERENCING ${REFERENCING[op]} FOR EACH STATEMENT EXECUTE FUNCTION budgets_after_${op}()`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const op of ['insert', 'update', 'delete']) {
      await q.query(`DROP TRIGGER transactions_z_budgets_${op} ON transactions`);
      await q.query(`DROP FUNCTION budgets_after_${op}()`);
    }
    await q.query(`DROP FUNCTION round_half_even(numeric, int)`);
    await q.query(`DROP TABLE budget_alerts`);
    await q.query(`DROP TABLE budgets`);
    await q.query(`DROP TABLE app_settings`);
  }
}
