import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Running totals for the budget alert triggers (docs/performance.md, "Budgets"), so that the
 * part of a write that holds a budget's lock costs the same however much spending a period has.
 *
 * - `budget_spending`: per (budget, period start), the live expenses in the budget's own
 *   currency (exact, never converted) and how many live expenses in other currencies there are.
 *   Rows are created by the first write that counts towards the period (from the monthly rollup,
 *   read under the budget's lock) and then moved by each write's own delta under that lock.
 *   Spending in other currencies is still summed from the daily rollup at today's rates on each
 *   check, and only when the period has any: rates may be added or changed later, and the
 *   alert's `spent` must stay what `GET /budgets/{id}/status` shows.
 * - A per-owner advisory lock (class BUDGET_LOCK_CLASS): writers hold it shared from before they
 *   look for the owner's budgets until they commit; creating a budget, or changing what it counts
 *   (owner, category, currency, period), takes it exclusively. So no write that missed a budget
 *   can commit after that budget's running total was first read from the rollups, which would
 *   leave the total short for good. A definition change also drops the budget's totals.
 * - TRUNCATE of `transactions` or of the rollups (`rollup_rebuild()`) drops every total; they are
 *   read from the rollups again on the next write.
 * - `round_converted()`: half to even with the same tolerance as the API's `roundConverted`,
 *   so a converted total within rounding error of a half unit rounds as the status route does.
 */
const BUDGET_LOCK_CLASS = 1651860583; // 'budg'

// The expense rows a statement added (n = 1) or removed (n = -1), live ones only.
const DELTA: Record<string, string> = {
  insert: `SELECT owner_id, date, category, currency, amount, 1 AS n FROM new_rows
           WHERE type = 'expense' AND deleted_at IS NULL`,
  update: `SELECT owner_id, date, category, currency, amount, 1 AS n FROM new_rows
           WHERE type = 'expense' AND deleted_at IS NULL
           UNION ALL
           SELECT owner_id, date, category, currency, -amount, -1 FROM old_rows
           WHERE type = 'expense' AND deleted_at IS NULL`,
  delete: `SELECT owner_id, date, category, currency, -amount AS amount, -1 AS n FROM old_rows
           WHERE type = 'expense' AND deleted_at IS NULL`,
};

const matches = (budget: string, category: string) =>
  `(${budget}.category IS NULL OR lower(${budget}.category) = ${category})`;

const checkFunction = (op: string) => `
  CREATE OR REPLACE FUNCTION budgets_after_${op}() RETURNS trigger LANGUAGE plpgsql
  -- The planner cannot size the transition tables and prices the check above jit_above_cost:
  -- JIT compilation then took 150-500 ms of a 10 ms write, while the owner's budgets are locked.
  SET jit = off
  -- The check's plan does not depend on the data; planning it anew on each of a connection's
  -- first five calls (the default) took 5-30 ms each, under the lock.
  SET plan_cache_mode = force_generic_plan
  AS $$
  DECLARE
    ids uuid[];
  BEGIN
    -- Shared, held to commit: a budget of these owners cannot be created or redefined until this
    -- write commits, and one being created is waited for, so the probe below sees it.
    PERFORM budget_owners_share(array_agg(DISTINCT owner_id)) FROM (${DELTA[op]}) x;

    -- The budgets the statement's expenses count towards. The hot path: most writes match none;
    -- a probe of budgets_owner_idx per owner and category decides.
    SELECT array_agg(DISTINCT b.id) INTO ids
    FROM (SELECT DISTINCT owner_id, lower(category) AS category FROM (${DELTA[op]}) x) d
    JOIN budgets b ON b.owner_id = d.owner_id AND ${matches('b', 'd.category')};
    IF ids IS NULL THEN RETURN NULL; END IF;

    -- Concurrent writers counting towards one budget queue here, after their transaction and
    -- rollup rows (the order every writer takes them in, so this adds no deadlock), until the
    -- one before commits; that queue keeps budget_spending exact.
    PERFORM 1 FROM budgets WHERE id = ANY(ids) ORDER BY id FOR UPDATE;

    -- A later statement, so a fresh snapshot (READ COMMITTED): the spending of a writer that
    -- held the lock before us and has now committed is counted.
    WITH s AS (SELECT base_currency AS base, fx_max_age_days AS max_age FROM app_settings),
    d AS (
      SELECT owner_id, date, lower(category) AS category, currency, sum(amount) AS amount,
        sum(n) AS n
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
    -- What this statement changed in each: exactly in the budget's currency; in others, how many
    -- rows and how much at each row's date's rate.
    delta AS (
      SELECT bp.id, bp.start,
        coalesce(sum(d.amount) FILTER (WHERE d.currency = bp.currency), 0) AS own,
        coalesce(sum(d.n) FILTER (WHERE d.currency <> bp.currency), 0) AS foreign_rows,
        coalesce(sum((d.amount * x.num)::numeric(1000, 40) / x.den)
          FILTER (WHERE d.currency <> bp.currency), 0) AS converted,
        count(*) FILTER (WHERE d.currency <> bp.currency) AS terms,
        coalesce(bool_or(x.num IS NULL) FILTER (WHERE d.currency <> bp.currency), false) AS missing
      FROM bp CROSS JOIN s
      JOIN d ON d.owner_id = bp.owner_id AND ${matches('bp', 'd.category')}
        AND d.date >= bp.start AND d.date < bp.stop
      LEFT JOIN LATERAL (SELECT f.num, f.den FROM fx_rate(d.currency, bp.currency, d.date, s.max_age, s.base) f
        WHERE d.currency <> bp.currency) x ON true
      GROUP BY 1, 2
    ),
    bumped AS (
      UPDATE budget_spending t
      SET spent = t.spent + delta.own, foreign_rows = t.foreign_rows + delta.foreign_rows
      FROM delta WHERE t.budget_id = delta.id AND t.period_start = delta.start
      RETURNING t.budget_id, t.period_start, t.spent, t.foreign_rows
    ),
    -- A period's first write since the budget was defined: its total from the monthly rollup,
    -- which already holds this statement's rows.
    -- (Materialized, so the rollup is read for those pairs only, not joined first.)
    fresh AS MATERIALIZED (
      SELECT bp.* FROM bp WHERE NOT EXISTS (
        SELECT 1 FROM budget_spending t WHERE t.budget_id = bp.id AND t.period_start = bp.start)
    ),
    added AS (
      INSERT INTO budget_spending (budget_id, period_start, spent, foreign_rows)
      SELECT f.id, f.start,
        coalesce(sum(r.total) FILTER (WHERE r.currency = f.currency), 0),
        coalesce(sum(r.count) FILTER (WHERE r.currency <> f.currency), 0)
      FROM fresh f LEFT JOIN rollup_monthly r ON r.scope_id = f.owner_id AND r.type = 'expense'
        AND r.month >= f.start AND r.month < f.stop AND ${matches('f', 'lower(r.category)')}
      GROUP BY f.id, f.start
      ORDER BY 1, 2
      RETURNING budget_id, period_start, spent, foreign_rows
    ),
    total AS (SELECT * FROM bumped UNION ALL SELECT * FROM added),
    spent AS (
      SELECT bp.*,
        CASE bp.period
          WHEN 'month' THEN to_char(bp.start, 'YYYY-MM')
          WHEN 'quarter' THEN to_char(bp.start, 'YYYY-"Q"Q')
          ELSE to_char(bp.start, 'YYYY') END AS label,
        -- Amounts in the budget's currency have its minor units: only converted sums need the
        -- half-to-even rounding (a SQL function call per pair, the costliest part otherwise).
        CASE WHEN o.terms = 0 THEN round(t.spent, currency_minor_units(bp.currency))
          ELSE round_converted(t.spent + coalesce(o.amount, 0), currency_minor_units(bp.currency), o.terms)
          END AS after,
        CASE WHEN o.terms + delta.terms = 0 THEN t.spent - delta.own
          ELSE round_converted(t.spent - delta.own + coalesce(o.amount, 0) - delta.converted,
            currency_minor_units(bp.currency), o.terms + delta.terms)
          END AS before
      FROM bp CROSS JOIN s
      JOIN total t ON t.budget_id = bp.id AND t.period_start = bp.start
      JOIN delta ON delta.id = bp.id AND delta.start = bp.start
      -- Spending in other currencies: per day, at that day's rate (rollup_daily_currency_idx),
      -- read only when the period has any.
      CROSS JOIN LATERAL (
        SELECT sum((r.total * x.num)::numeric(1000, 40) / x.den) AS amount, count(*) AS terms,
          coalesce(bool_or(x.num IS NULL), false) AS missing
        FROM rollup_daily r
        CROSS JOIN LATERAL fx_rate(r.currency, bp.currency, r.day, s.max_age, s.base) x
        WHERE t.foreign_rows > 0 AND r.scope_id = bp.owner_id
          AND (r.currency < bp.currency OR r.currency > bp.currency)
          AND r.day >= bp.start AND r.day < bp.stop AND r.type = 'expense' AND r.count <> 0
          AND ${matches('bp', 'lower(r.category)')}
      ) o
      -- A missing rate: no figure, so no event for that budget and period.
      WHERE NOT o.missing AND NOT delta.missing
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

export class BudgetSpending1764000075000 implements MigrationInterface {
  name = 'BudgetSpending1764000075000';

  async up(q: QueryRunner): Promise<void> {
    // Every write that counts towards a budget updates its rows: room for HOT updates.
    await q.query(`
      CREATE TABLE budget_spending (
        budget_id uuid NOT NULL REFERENCES budgets(id) ON DELETE CASCADE,
        period_start date NOT NULL,
        spent numeric NOT NULL,
        foreign_rows bigint NOT NULL CHECK (foreign_rows >= 0),
        PRIMARY KEY (budget_id, period_start)
      ) WITH (fillfactor = 50)`);

    // Writers: every owner whose expenses a statement changes, in key order.
    await q.query(`
      CREATE FUNCTION budget_owners_share(owners uuid[]) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock_shared(${BUDGET_LOCK_CLASS}, k)
        FROM (SELECT DISTINCT hashtext(o::text) AS k FROM unnest(owners) o WHERE o IS NOT NULL) x
        ORDER BY k;
      END $$`);
    // Creating a budget or changing what it counts; the API takes it before the budget's row lock.
    await q.query(`
      CREATE FUNCTION budget_owner_lock(owner uuid) RETURNS void LANGUAGE sql AS $$
        SELECT pg_advisory_xact_lock(${BUDGET_LOCK_CLASS}, hashtext(owner::text))
      $$`);
    await q.query(`
      CREATE FUNCTION budgets_before_define() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM budget_owner_lock(NEW.owner_id);
        IF TG_OP = 'UPDATE' THEN
          PERFORM budget_owner_lock(OLD.owner_id);
          DELETE FROM budget_spending WHERE budget_id = OLD.id;
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER budgets_define_insert BEFORE INSERT ON budgets
      FOR EACH ROW EXECUTE FUNCTION budgets_before_define()`);
    await q.query(`
      CREATE TRIGGER budgets_define_update BEFORE UPDATE OF owner_id, category, currency, period
      ON budgets FOR EACH ROW
      WHEN ((OLD.owner_id, OLD.category, OLD.currency, OLD.period)
        IS DISTINCT FROM (NEW.owner_id, NEW.category, NEW.currency, NEW.period))
      EXECUTE FUNCTION budgets_before_define()`);

    await q.query(`
      CREATE FUNCTION budget_spending_reset() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM budget_spending;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER transactions_z_budgets_truncate AFTER TRUNCATE ON transactions
      FOR EACH STATEMENT EXECUTE FUNCTION budget_spending_reset()`);
    await q.query(`
      CREATE TRIGGER rollup_monthly_budgets_truncate AFTER TRUNCATE ON rollup_monthly
      FOR EACH STATEMENT EXECUTE FUNCTION budget_spending_reset()`);

    // Half to even, with a figure within terms x 1e-40 of a half unit taken as that half unit
    // first: each converted term is off by at most half of 1e-40 (common/money.ts roundConverted).
    await q.query(`
      CREATE FUNCTION round_converted(x numeric, units int, terms bigint) RETURNS numeric
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT round_half_even(
          CASE WHEN abs(abs(x) - k.tie) <= greatest(terms, 1) * 1e-40 THEN sign(x) * k.tie ELSE x END,
          units)
        FROM (SELECT trunc(abs(x) * p) / p + 0.5 / p AS tie
              FROM (SELECT power(10::numeric, units) AS p) u) k
      $$`);

    for (const op of ['insert', 'update', 'delete']) await q.query(checkFunction(op));
  }

  async down(q: QueryRunner): Promise<void> {
    for (const op of ['insert', 'update', 'delete']) await q.query(OLD_CHECK(op));
    await q.query(`DROP FUNCTION round_converted(numeric, int, bigint)`);
    await q.query(`DROP TRIGGER rollup_monthly_budgets_truncate ON rollup_monthly`);
    await q.query(`DROP TRIGGER transactions_z_budgets_truncate ON transactions`);
    await q.query(`DROP FUNCTION budget_spending_reset()`);
    await q.query(`DROP TRIGGER budgets_define_update ON budgets`);
    await q.query(`DROP TRIGGER budgets_define_insert ON budgets`);
    await q.query(`DROP FUNCTION budgets_before_define()`);
    await q.query(`DROP FUNCTION budget_owner_lock(uuid)`);
    await q.query(`DROP FUNCTION budget_owners_share(uuid[])`);
    await q.query(`DROP TABLE budget_spending`);
  }
}

// The check as the budgets migration wrote it (migrations are history: a copy, not an import).
const OLD_DELTA: Record<string, string> = {
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

const OLD_CHECK = (op: string) => `
  CREATE OR REPLACE FUNCTION budgets_after_${op}() RETURNS trigger LANGUAGE plpgsql
  SET jit = off
  AS $$
  DECLARE
    ids uuid[];
  BEGIN
    SELECT array_agg(DISTINCT b.id) INTO ids
    FROM (SELECT DISTINCT owner_id, lower(category) AS category FROM (${OLD_DELTA[op]}) x) d
    JOIN budgets b ON b.owner_id = d.owner_id AND ${matches('b', 'd.category')};
    IF ids IS NULL THEN RETURN NULL; END IF;

    PERFORM 1 FROM budgets WHERE id = ANY(ids) ORDER BY id FOR UPDATE;

    WITH s AS (SELECT base_currency AS base, fx_max_age_days AS max_age FROM app_settings),
    d AS (
      SELECT owner_id, date, lower(category) AS category, currency, sum(amount) AS amount
      FROM (${OLD_DELTA[op]}) x GROUP BY 1, 2, 3, 4
    ),
    bp AS (
      SELECT DISTINCT b.id, b.owner_id, b.amount, b.currency, b.category, b.period, b.thresholds,
        date_trunc(b.period, d.date::timestamp)::date AS start,
        (date_trunc(b.period, d.date::timestamp) + CASE b.period WHEN 'month' THEN interval '1 month'
          WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year' END)::date AS stop
      FROM d JOIN budgets b ON b.id = ANY(ids) AND b.owner_id = d.owner_id
        AND ${matches('b', 'd.category')}
    ),
    delta AS (
      SELECT bp.id, bp.start, sum((d.amount * x.num)::numeric(1000, 40) / x.den) AS amount,
        bool_or(x.num IS NULL) AS missing
      FROM bp CROSS JOIN s
      JOIN d ON d.owner_id = bp.owner_id AND ${matches('bp', 'd.category')}
        AND d.date >= bp.start AND d.date < bp.stop
      CROSS JOIN LATERAL fx_rate(d.currency, bp.currency, d.date, s.max_age, s.base) x
      GROUP BY 1, 2
    ),
    own AS (
      SELECT bp.id, bp.start, coalesce(sum(r.total), 0) AS amount
      FROM bp LEFT JOIN rollup_monthly r ON r.scope_id = bp.owner_id AND r.type = 'expense'
        AND r.month >= bp.start AND r.month < bp.stop AND r.currency = bp.currency
        AND ${matches('bp', 'lower(r.category)')}
      GROUP BY 1, 2
    ),
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
      WHERE NOT coalesce(other.missing, false) AND NOT coalesce(delta.missing, false)
    ),
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
