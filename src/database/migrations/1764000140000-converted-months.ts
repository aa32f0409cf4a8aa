import type { MigrationInterface, QueryRunner } from 'typeorm';

const ORG_SCOPE = '00000000-0000-0000-0000-000000000000';
const UPSERT = `DO UPDATE SET total = r.total + EXCLUDED.total, count = r.count + EXCLUDED.count`;
const CHANGED = `HAVING sum(n) <> 0 OR sum(total) <> 0`;

/** What a stored conversion was computed from, and its figure (NULL when a rate is missing). */
const STORED = `source xid NOT NULL, total numeric NOT NULL, count bigint NOT NULL,
  rule text NOT NULL, rates_version bigint NOT NULL, amount numeric, missing boolean NOT NULL,`;

/**
 * The update trigger of the rollup-hierarchy migration, but a month and an all-time row are
 * written whenever a day in them changes (`touched`), even when the changes cancel out there: a
 * row moved to another day leaves its month's (or all time's) total and count alone, yet the
 * converted sum changes with the day's rate, so the row must get a new version. The statement keeps its
 * shape (daily and all-time totals as CTEs in that order, monthly as the main INSERT), so it
 * still locks in `lockRollups`' order.
 */
const updateTrigger = (touched: boolean) => `
  CREATE OR REPLACE FUNCTION rollup_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    WITH d AS (
      SELECT owner_id, date, type, category, currency, amount AS total, 1 AS n FROM new_rows WHERE deleted_at IS NULL
      UNION ALL
      SELECT owner_id, date, type, category, currency, -amount AS total, -1 AS n FROM old_rows WHERE deleted_at IS NULL
    ),
    scoped AS (
      SELECT owner_id AS scope_id, date, type, category, currency, total, n FROM d
      UNION ALL
      SELECT '${ORG_SCOPE}'::uuid, date, type, category, currency, total, n FROM d
    ),
    changed_days AS (
      SELECT scope_id, date, type, category, currency, sum(total) AS total, sum(n) AS n FROM scoped
      GROUP BY 1, 2, 3, 4, 5 ${CHANGED}
    ),
    daily AS (
      INSERT INTO rollup_daily AS r (scope_id, day, type, category, currency, total, count)
      SELECT scope_id, date, type, category, currency, total, n FROM changed_days ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (scope_id, day, type, category, currency) ${UPSERT}
    ),
    totals AS (
      INSERT INTO rollup_totals AS r (scope_id, type, category, currency, total, count)
      SELECT scope_id, type, category, currency, sum(total), sum(n)
      FROM ${touched ? 'changed_days' : 'scoped'}
      GROUP BY 1, 2, 3, 4 ${touched ? '' : CHANGED} ORDER BY 1, 2, 3, 4
      ON CONFLICT (scope_id, type, category, currency) ${UPSERT}
    )
    INSERT INTO rollup_monthly AS r (scope_id, month, type, category, currency, total, count)
    SELECT scope_id, date_trunc('month', date)::date, type, category, currency, sum(total), sum(n)
    FROM ${touched ? 'changed_days' : 'scoped'}
    GROUP BY 1, 2, 3, 4, 5 ${touched ? '' : CHANGED} ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (scope_id, month, type, category, currency) ${UPSERT};
    RETURN NULL;
  END $$`;

/**
 * A cache of whole months converted into a reporting currency (docs/performance.md, "Dashboards in
 * a reporting currency"): without it a converted dashboard reads every day of every other
 * currency and looks up each day's rate, ten times the work of the same dashboard unconverted.
 *
 * - `rollup_converted`: one row per monthly rollup row (scope, month, type, category, currency)
 *   and reporting currency, holding that month's days converted at each day's rate and summed
 *   (`convertedMonthsFill` in src/database/rollups.ts writes it). A row says what it was computed
 *   from: the monthly row's version (its `xmin`, which every UPDATE renews; its total and count
 *   too, so a transaction id reused after wraparound would also need the same total and count), the
 *   lookup rule (base currency and maximum rate age) and the rates' version. A read uses a row
 *   only when all of them still hold, and converts that month from its days otherwise, so the
 *   cache can be behind but never wrong. Not UNLOGGED: replicas read it too.
 * - `fx_rates_version`: one counter that every statement changing `exchange_rates` raises, with
 *   `fx_rate_changes` recording from which date on the change can matter: a rate of day D serves
 *   days D to D + max age (or, once removed, its fallback does), so months ending before D keep
 *   their converted rows. The counter is one row: writers of rates queue on it until they commit,
 *   so versions become visible in order and a reader that sees version v has seen every change
 *   up to v. A change makes every older one from the same date on redundant, so those are
 *   deleted: the list stays short, and so does each stale row's look at it.
 * - `rollup_converted_totals`: the same for all time, per all-time rollup row (`rollup_totals`),
 *   the sum of its converted months, current only at the rates' current version.
 * - The update trigger writes a month and an all-time row whenever a day in them changes
 *   (`updateTrigger`).
 */
export class ConvertedMonths1764000140000 implements MigrationInterface {
  name = 'ConvertedMonths1764000140000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rollup_converted (
        scope_id      uuid NOT NULL,
        into_currency char(3) NOT NULL,
        month         date NOT NULL,
        type          transaction_type NOT NULL,
        category      varchar(64) NOT NULL,
        currency      char(3) NOT NULL,
        ${STORED}
        PRIMARY KEY (scope_id, into_currency, month, type, category, currency)
      )`);
    await q.query(`
      CREATE TABLE rollup_converted_totals (
        scope_id      uuid NOT NULL,
        into_currency char(3) NOT NULL,
        type          transaction_type NOT NULL,
        category      varchar(64) NOT NULL,
        currency      char(3) NOT NULL,
        ${STORED}
        PRIMARY KEY (scope_id, into_currency, type, category, currency)
      )`);
    // The months of other currencies than the reporting one, as rollup_daily_currency_idx for
    // days: a dashboard over one currency then reads no monthly row to find there is nothing
    // to convert.
    await q.query(
      `CREATE INDEX rollup_monthly_currency_idx ON rollup_monthly (scope_id, currency, month)`,
    );
    await q.query(`CREATE TABLE fx_rates_version (version bigint NOT NULL)`);
    await q.query(`INSERT INTO fx_rates_version VALUES (0)`);
    await q.query(`
      CREATE TABLE fx_rate_changes (
        version  bigint PRIMARY KEY,
        earliest date NOT NULL
      )`);
    // TRUNCATE has no transition tables: it may change any day.
    await q.query(`
      CREATE FUNCTION fx_rates_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        since date;
        bumped bigint;
      BEGIN
        IF TG_OP = 'INSERT' THEN
          SELECT min(date) INTO since FROM new_rows;
        ELSIF TG_OP = 'UPDATE' THEN
          SELECT min(date) INTO since FROM (SELECT date FROM new_rows UNION ALL SELECT date FROM old_rows) d;
        ELSIF TG_OP = 'DELETE' THEN
          SELECT min(date) INTO since FROM old_rows;
        ELSE
          since := '-infinity';
        END IF;
        IF since IS NULL THEN
          RETURN NULL;
        END IF;
        -- The counter first: from here on this transaction has the changes to itself.
        UPDATE fx_rates_version SET version = version + 1 RETURNING version INTO bumped;
        -- An older change from the same date on says nothing the new one does not: whatever it
        -- made out of date, the new one does too.
        DELETE FROM fx_rate_changes WHERE earliest >= since;
        INSERT INTO fx_rate_changes (version, earliest) VALUES (bumped, since);
        RETURN NULL;
      END $$`);
    for (const [op, refs] of [
      ['INSERT', 'NEW TABLE AS new_rows'],
      ['UPDATE', 'NEW TABLE AS new_rows OLD TABLE AS old_rows'],
      ['DELETE', 'OLD TABLE AS old_rows'],
    ] as const) {
      await q.query(`
        CREATE TRIGGER exchange_rates_changed_${op.toLowerCase()} AFTER ${op} ON exchange_rates
        REFERENCING ${refs} FOR EACH STATEMENT EXECUTE FUNCTION fx_rates_changed()`);
    }
    await q.query(`
      CREATE TRIGGER exchange_rates_changed_truncate AFTER TRUNCATE ON exchange_rates
      FOR EACH STATEMENT EXECUTE FUNCTION fx_rates_changed()`);
    // As in the rollup-hierarchy migration: no writer may be inside the old trigger body.
    await q.query(`LOCK TABLE transactions IN SHARE ROW EXCLUSIVE MODE`);
    await q.query(updateTrigger(true));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(updateTrigger(false));
    for (const op of ['insert', 'update', 'delete', 'truncate'])
      await q.query(`DROP TRIGGER exchange_rates_changed_${op} ON exchange_rates`);
    await q.query(`DROP FUNCTION fx_rates_changed()`);
    await q.query(
      `DROP TABLE fx_rate_changes, fx_rates_version, rollup_converted_totals, rollup_converted`,
    );
    await q.query(`DROP INDEX rollup_monthly_currency_idx`);
  }
}
