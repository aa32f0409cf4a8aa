import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A budget's thresholds are distinct in the database too, not only at the API (docs/api.md,
 * "Budgets"): with a threshold listed twice, the general alert check would write its event twice
 * in one statement while the one-row shortcut writes it once. Validated on adding: the API never
 * wrote duplicates, so a row that has them came from outside it and should fail the migration
 * loudly rather than be rewritten.
 */
export class BudgetThresholdsDistinct1764000120000 implements MigrationInterface {
  name = 'BudgetThresholdsDistinct1764000120000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION distinct_ints(xs int[]) RETURNS boolean LANGUAGE sql IMMUTABLE STRICT
      PARALLEL SAFE AS $$ SELECT count(DISTINCT x) = count(*) FROM unnest(xs) x $$`);
    await q.query(`
      ALTER TABLE budgets ADD CONSTRAINT budgets_thresholds_distinct
      CHECK (distinct_ints(thresholds))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE budgets DROP CONSTRAINT budgets_thresholds_distinct`);
    await q.query(`DROP FUNCTION distinct_ints(int[])`);
  }
}
