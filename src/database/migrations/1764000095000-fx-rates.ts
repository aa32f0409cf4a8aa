import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `fx_rates()`: the rates of many (currency, day) pairs in one call, for the dashboards' conversion
 * (`convertedRollups`). `fx_rate()` stays the one home of the lookup rule; this only batches it.
 *
 * Why: inlined into a dashboard query, `fx_rate()` and its two `fx_leg()` lookups were planned on
 * every request, even when the scope has no row in another currency: about half of a 1.3 ms
 * summary at 1M rows was planning them. A PL/pgSQL function is planned once per connection (its
 * statement's plan is cached), and the generic plan is forced, since the arrays' contents never
 * change the best plan (one index probe per pair). It is called once per query, with every pair,
 * so the per-call cost that made a per-row PL/pgSQL rate 3.5 times slower is paid once.
 */
export class FxRates1764000095000 implements MigrationInterface {
  name = 'FxRates1764000095000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION fx_rates(currencies char(3)[], days date[], r char(3), max_age int, base char(3))
      RETURNS TABLE (currency char(3), day date, num numeric, den numeric)
      LANGUAGE plpgsql STABLE PARALLEL SAFE
      SET plan_cache_mode = force_generic_plan
      AS $$
      BEGIN
        RETURN QUERY
          SELECT p.c, p.d, x.num, x.den
          FROM unnest(currencies, days) AS p (c, d)
          CROSS JOIN LATERAL fx_rate(p.c, r, p.d, max_age, base) x;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION fx_rates(char(3)[], date[], char(3), int, char(3))`);
  }
}
