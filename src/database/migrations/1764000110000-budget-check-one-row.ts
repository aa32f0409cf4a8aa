import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A shortcut in the budget alert check for a statement that inserted one row (a create through
 * the API), in the common case: the row is in the currency of every budget it counts towards,
 * and each of those budgets already keeps its period's total with no spending in other
 * currencies. Then the check is one UPDATE of those totals and a comparison per threshold, in
 * place of the general statement, which sets up a plan of some 25 nodes for one row: 0.41 ms of
 * a 1.18 ms single-row insert with 10 budgets on the owner (docs/performance.md, "Budgets").
 *
 * Same locks, in the same order, as the general check; same figures and event. Any other case
 * (several rows, another currency, a period's first write, spending in other currencies) returns
 * false and the insert trigger goes on with the general check, which takes the same locks again
 * (they are the transaction's already).
 *
 * The insert trigger's function is the budget-spending migration's, with the call spliced in
 * after its BEGIN (migrations are history: that text is not repeated here).
 */
const CALL = `
    -- One row: budget_check_one() settles the common case alone (the migration that added it).
    -- (Two IFs: SQL does not promise to evaluate AND from left to right.)
    IF (SELECT count(*) FROM (SELECT FROM new_rows LIMIT 2) x) = 1 THEN
      IF (SELECT budget_check_one(n.owner_id, n.type = 'expense' AND n.deleted_at IS NULL,
            n.category, n.currency, n.amount, n.date) FROM new_rows n) THEN
        RETURN NULL;
      END IF;
    END IF;
`;
const BEGIN = '\n  BEGIN\n';

export class BudgetCheckOneRow1764000110000 implements MigrationInterface {
  name = 'BudgetCheckOneRow1764000110000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION budget_check_one(
        row_owner uuid, counts boolean, row_category text, row_currency text, row_amount numeric,
        row_date date
      ) RETURNS boolean LANGUAGE plpgsql
      SET jit = off
      SET plan_cache_mode = force_generic_plan
      AS $$
      DECLARE
        ids uuid[];
        b record;
        th int;
        before numeric;
        after numeric;
        label text;
      BEGIN
        -- Only a live expense counts towards budgets.
        IF NOT counts THEN RETURN true; END IF;
        PERFORM budget_owners_share(ARRAY[row_owner]);
        SELECT array_agg(x.id ORDER BY x.id) INTO ids FROM budgets x
        WHERE x.owner_id = row_owner
          AND (x.category IS NULL OR lower(x.category) = lower(row_category));
        IF ids IS NULL THEN RETURN true; END IF;
        PERFORM 1 FROM budgets WHERE id = ANY(ids) ORDER BY id FOR UPDATE;

        -- Later statements: fresh snapshots, so a writer that held these locks before us counts.
        IF EXISTS (
          SELECT 1 FROM budgets x
          LEFT JOIN budget_spending s ON s.budget_id = x.id
            AND s.period_start = date_trunc(x.period, row_date::timestamp)::date
          WHERE x.id = ANY(ids)
            AND (x.currency <> row_currency OR s.budget_id IS NULL OR s.foreign_rows <> 0)
        ) THEN
          RETURN false;
        END IF;

        FOR b IN
          WITH bumped AS (
            UPDATE budget_spending s SET spent = s.spent + row_amount
            FROM budgets x
            WHERE x.id = ANY(ids) AND s.budget_id = x.id
              AND s.period_start = date_trunc(x.period, row_date::timestamp)::date
            RETURNING x.id, x.owner_id, x.amount, x.currency, x.period, x.thresholds,
              s.period_start, s.spent
          )
          SELECT * FROM bumped ORDER BY id
        LOOP
          -- As the general check: amounts in the budget's currency need no conversion.
          after := round(b.spent, currency_minor_units(b.currency));
          before := b.spent - row_amount;
          FOR th IN SELECT u FROM unnest(b.thresholds) u ORDER BY u LOOP
            CONTINUE WHEN NOT (after * 100 >= b.amount * th AND before * 100 < b.amount * th);
            label := CASE b.period
              WHEN 'month' THEN to_char(b.period_start, 'YYYY-MM')
              WHEN 'quarter' THEN to_char(b.period_start, 'YYYY-"Q"Q')
              ELSE to_char(b.period_start, 'YYYY') END;
            INSERT INTO budget_alerts (budget_id, period, threshold) VALUES (b.id, label, th)
            ON CONFLICT DO NOTHING;
            CONTINUE WHEN NOT FOUND;
            INSERT INTO events (type, actor_id, owner_id, data)
            VALUES ('budget.threshold_crossed', NULL, b.owner_id, jsonb_build_object(
              'budgetId', b.id, 'ownerId', b.owner_id, 'period', label, 'threshold', th,
              'spent', after::text, 'amount', b.amount::text, 'currency', b.currency));
          END LOOP;
        END LOOP;
        RETURN true;
      END $$`);
    await q.query(splice(await functionDef(q), BEGIN, `${BEGIN}${CALL}`));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(splice(await functionDef(q), CALL, ''));
    await q.query(`DROP FUNCTION budget_check_one(uuid, boolean, text, text, numeric, date)`);
  }
}

/** `text` with its one `part` replaced (split and join: no `$` patterns), or a clear error. */
function splice(text: string, part: string, by: string): string {
  const pieces = text.split(part);
  if (pieces.length !== 2)
    throw new Error('budgets_after_insert() is not the function this migration expects');
  return pieces.join(by);
}

async function functionDef(q: QueryRunner): Promise<string> {
  const [row] = (await q.query(
    `SELECT pg_get_functiondef('budgets_after_insert()'::regprocedure) AS def`,
  )) as { def: string }[];
  return row.def;
}
