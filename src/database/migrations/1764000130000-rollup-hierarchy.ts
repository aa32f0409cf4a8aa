import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An all-time rollup level above the daily and monthly ones (docs/performance.md, "Rollup
 * hierarchy"): `rollup_totals`, per (scope, type, category, currency), a few dozen rows per
 * scope, answers summary and categories without dates (`range=all`, the default) instead of
 * summing every month.
 *
 * The statement-level triggers write it in the same statement as the daily and monthly rows (one
 * more CTE), so the levels commit together and stay exact under concurrent writes;
 * `lockRollups` (src/database/rollups.ts) takes the rows in the same statement shape, so a batch
 * still locks in the triggers' order. Its key keeps the category, so writers of different
 * categories still share no rollup row. Not built, on purpose:
 * - a monthly level without the category (for trends): every writer of one type in a month would
 *   queue on the organisation's row until it commits;
 * - a yearly level: every named range but `all` spans at most 13 months, and a custom range reads
 *   at most 12 monthly rows per category and year.
 */
const ORG_SCOPE = '00000000-0000-0000-0000-000000000000';

const delta = (parts: readonly ('new' | 'old')[]) =>
  parts
    .map((p) =>
      p === 'new'
        ? `SELECT owner_id, date, type, category, currency, amount AS total, 1 AS n FROM new_rows WHERE deleted_at IS NULL`
        : `SELECT owner_id, date, type, category, currency, -amount AS total, -1 AS n FROM old_rows WHERE deleted_at IS NULL`,
    )
    .join(' UNION ALL ');

const UPSERT = `DO UPDATE SET total = r.total + EXCLUDED.total, count = r.count + EXCLUDED.count`;
const CHANGED = `HAVING sum(n) <> 0 OR sum(total) <> 0`;

/** Each level's rows are written sorted by key, the levels in the same order in every writer. */
const apply = (parts: readonly ('new' | 'old')[], withTotals: boolean) => `
    WITH d AS (${delta(parts)}),
    scoped AS (
      SELECT owner_id AS scope_id, date, type, category, currency, total, n FROM d
      UNION ALL
      SELECT '${ORG_SCOPE}'::uuid, date, type, category, currency, total, n FROM d
    ),
    daily AS (
      INSERT INTO rollup_daily AS r (scope_id, day, type, category, currency, total, count)
      SELECT scope_id, date, type, category, currency, sum(total), sum(n) FROM scoped
      GROUP BY 1, 2, 3, 4, 5 ${CHANGED} ORDER BY 1, 2, 3, 4, 5
      ON CONFLICT (scope_id, day, type, category, currency) ${UPSERT}
    )${
      withTotals
        ? `,
    totals AS (
      INSERT INTO rollup_totals AS r (scope_id, type, category, currency, total, count)
      SELECT scope_id, type, category, currency, sum(total), sum(n) FROM scoped
      GROUP BY 1, 2, 3, 4 ${CHANGED} ORDER BY 1, 2, 3, 4
      ON CONFLICT (scope_id, type, category, currency) ${UPSERT}
    )`
        : ''
    }
    INSERT INTO rollup_monthly AS r (scope_id, month, type, category, currency, total, count)
    SELECT scope_id, date_trunc('month', date)::date, type, category, currency, sum(total), sum(n) FROM scoped
    GROUP BY 1, 2, 3, 4, 5 ${CHANGED} ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (scope_id, month, type, category, currency) ${UPSERT};`;

const OPS = [
  ['insert', ['new']],
  ['update', ['new', 'old']],
  ['delete', ['old']],
] as const;

const triggerFunction = (op: string, parts: readonly ('new' | 'old')[], withTotals: boolean) => `
  CREATE OR REPLACE FUNCTION rollup_after_${op}() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    ${apply(parts, withTotals)}
    RETURN NULL;
  END $$`;

const FILL_TOTALS = `
    INSERT INTO rollup_totals (scope_id, type, category, currency, total, count)
    SELECT scope_id, type, category, currency, sum(total), sum(count)
    FROM rollup_monthly GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;`;

const rebuild = (withTotals: boolean) => `
  CREATE OR REPLACE FUNCTION rollup_rebuild() RETURNS void LANGUAGE sql AS $$
    TRUNCATE rollup_daily, rollup_monthly${withTotals ? ', rollup_totals' : ''};
    INSERT INTO rollup_daily (scope_id, day, type, category, currency, total, count)
    SELECT scope_id, date, type, category, currency, sum(amount), count(*)
    FROM transactions t
    CROSS JOIN LATERAL (VALUES (t.owner_id), ('${ORG_SCOPE}'::uuid)) s(scope_id)
    WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;
    INSERT INTO rollup_monthly (scope_id, month, type, category, currency, total, count)
    SELECT scope_id, date_trunc('month', day)::date, type, category, currency, sum(total), sum(count)
    FROM rollup_daily GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;
    ${withTotals ? FILL_TOTALS : ''}
  $$`;

export class RollupHierarchy1764000130000 implements MigrationInterface {
  name = 'RollupHierarchy1764000130000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rollup_totals (
        scope_id uuid NOT NULL,
        type     transaction_type NOT NULL,
        category varchar(64) NOT NULL,
        currency char(3) NOT NULL,
        total    numeric NOT NULL,
        count    bigint NOT NULL,
        PRIMARY KEY (scope_id, type, category, currency)
      )`);
    // No write may run between the backfill and the new trigger functions: a writer whose old
    // trigger body had started would add to the monthly rollup after the backfill and never to
    // the totals. Writers queue on the table itself, before their triggers fire, until commit.
    await q.query(`LOCK TABLE transactions IN SHARE ROW EXCLUSIVE MODE`);
    await q.query(FILL_TOTALS);
    for (const [op, parts] of OPS) await q.query(triggerFunction(op, parts, true));
    await q.query(rebuild(true));
    await q.query(`ANALYZE rollup_totals`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [op, parts] of OPS) await q.query(triggerFunction(op, parts, false));
    await q.query(rebuild(false));
    await q.query(`DROP TABLE rollup_totals`);
  }
}
