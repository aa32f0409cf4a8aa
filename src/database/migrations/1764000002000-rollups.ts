import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Dashboard rollups. Every live (not soft-deleted) transaction is counted in a daily and a
 * monthly table, once under its owner and once under the organisation scope (the nil UUID), so a
 * dashboard read for one user or for everyone touches a few hundred rollup rows, never the
 * transactions table.
 *
 * Statement-level triggers with transition tables keep them exact: they run inside the very
 * statement that writes transactions (insert, update, soft delete, restore, COPY import), so the
 * rollups commit or roll back with it and cannot drift. One multi-row INSERT or COPY aggregates
 * its rows once per statement rather than once per row.
 */
export const ORG_SCOPE = '00000000-0000-0000-0000-000000000000';

const delta = (parts: ('new' | 'old')[]) =>
  parts
    .map((p) =>
      p === 'new'
        ? `SELECT owner_id, date, type, category, amount AS total, 1 AS n FROM new_rows WHERE deleted_at IS NULL`
        : `SELECT owner_id, date, type, category, -amount AS total, -1 AS n FROM old_rows WHERE deleted_at IS NULL`,
    )
    .join(' UNION ALL ');

const apply = (parts: ('new' | 'old')[]) => `
    WITH d AS (${delta(parts)}),
    scoped AS (
      SELECT owner_id AS scope_id, date, type, category, total, n FROM d
      UNION ALL
      SELECT '${ORG_SCOPE}'::uuid, date, type, category, total, n FROM d
    ),
    daily AS (
      INSERT INTO rollup_daily AS r (scope_id, day, type, category, total, count)
      SELECT scope_id, date, type, category, sum(total), sum(n) FROM scoped
      GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 OR sum(total) <> 0 ORDER BY 1, 2, 3, 4
      ON CONFLICT (scope_id, day, type, category)
      DO UPDATE SET total = r.total + EXCLUDED.total, count = r.count + EXCLUDED.count
    )
    INSERT INTO rollup_monthly AS r (scope_id, month, type, category, total, count)
    SELECT scope_id, date_trunc('month', date)::date, type, category, sum(total), sum(n) FROM scoped
    GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0 OR sum(total) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (scope_id, month, type, category)
    DO UPDATE SET total = r.total + EXCLUDED.total, count = r.count + EXCLUDED.count;`;

export const ROLLUP_TRIGGERS = [
  { op: 'insert', parts: ['new'], referencing: 'NEW TABLE AS new_rows' },
  {
    op: 'update',
    parts: ['new', 'old'],
    referencing: 'OLD TABLE AS old_rows NEW TABLE AS new_rows',
  },
  { op: 'delete', parts: ['old'], referencing: 'OLD TABLE AS old_rows' },
] as const;

// Only classes and strings are exported here: TypeORM treats every exported function of a
// migration file as a migration class.
export const ROLLUP_FUNCTION_SQL = Object.fromEntries(
  ROLLUP_TRIGGERS.map(({ op, parts }) => [
    op,
    `CREATE OR REPLACE FUNCTION rollup_after_${op}() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       ${apply([...parts])}
       RETURN NULL;
     END $$`,
  ]),
) as Record<(typeof ROLLUP_TRIGGERS)[number]['op'], string>;

// Rows are written in key order, so each scope's rollup rows sit together on disk.
export const ROLLUP_REBUILD_SQL = `
  CREATE OR REPLACE FUNCTION rollup_rebuild() RETURNS void LANGUAGE sql AS $$
    TRUNCATE rollup_daily, rollup_monthly;
    INSERT INTO rollup_daily (scope_id, day, type, category, total, count)
    SELECT scope_id, date, type, category, sum(amount), count(*)
    FROM transactions t
    CROSS JOIN LATERAL (VALUES (t.owner_id), ('${ORG_SCOPE}'::uuid)) s(scope_id)
    WHERE deleted_at IS NULL
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
    INSERT INTO rollup_monthly (scope_id, month, type, category, total, count)
    SELECT scope_id, date_trunc('month', day)::date, type, category, sum(total), sum(count)
    FROM rollup_daily GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
  $$`;

export class Rollups1764000002000 implements MigrationInterface {
  name = 'Rollups1764000002000';

  async up(q: QueryRunner): Promise<void> {
    for (const [table, column] of [
      ['rollup_daily', 'day'],
      ['rollup_monthly', 'month'],
    ]) {
      await q.query(`
        CREATE TABLE ${table} (
          scope_id  uuid NOT NULL,
          ${column} date NOT NULL,
          type      transaction_type NOT NULL,
          category  varchar(64) NOT NULL,
          total     numeric(20,2) NOT NULL,
          count     bigint NOT NULL,
          PRIMARY KEY (scope_id, ${column}, type, category)
        )`);
    }

    for (const { op, referencing } of ROLLUP_TRIGGERS) {
      await q.query(ROLLUP_FUNCTION_SQL[op]);
      await q.query(`
        CREATE TRIGGER transactions_rollup_${op} AFTER ${op.toUpperCase()} ON transactions
        REFERENCING ${referencing} FOR EACH STATEMENT EXECUTE FUNCTION rollup_after_${op}()`);
    }

    // Rebuilds both rollups from the base table: the backfill below, and a repair tool.
    await q.query(ROLLUP_REBUILD_SQL);
    await q.query(`SELECT rollup_rebuild()`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const op of ['insert', 'update', 'delete']) {
      await q.query(`DROP TRIGGER transactions_rollup_${op} ON transactions`);
      await q.query(`DROP FUNCTION rollup_after_${op}()`);
    }
    await q.query(`DROP FUNCTION rollup_rebuild()`);
    await q.query(`DROP TABLE rollup_daily`);
    await q.query(`DROP TABLE rollup_monthly`);
  }
}
