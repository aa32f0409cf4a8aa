import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';
import { ORG_SCOPE } from '../src/database/migrations/1764000002000-rollups';

/**
 * Removes the rows a POST scenario created, so every pass (and every run) sees the same data.
 * A plain DELETE: the rollups' delete trigger subtracts the rows in the same statement.
 */
export async function removeCreatedRows(
  sql: Client,
  params: [string, Date, string],
  settle = false,
): Promise<void> {
  const where = `owner_id = $1 AND created_at >= $2 AND notes = $3`;
  // autocannon closes its sockets at the deadline, but the app still finishes the requests it
  // had read: wait until the count of created rows stops moving (at most 30 s).
  for (let last = -1, i = 0; settle && i < 120; i++) {
    const { rows } = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM transactions WHERE ${where}`,
      params,
    );
    if (rows[0].n === last) break;
    last = rows[0].n;
    await sleep(500);
  }
  await sql.query(`DELETE FROM transactions WHERE ${where}`, params);
}

/** The organisation rollup must still equal the base table after the POST scenario's cleanup. */
export async function checkRollups(sql: Client): Promise<void> {
  const { rows } = await sql.query<{ ok: boolean }>(
    `WITH base AS (
       SELECT coalesce(sum(amount), 0) AS total, count(*) AS count FROM transactions
       WHERE deleted_at IS NULL
     )
     SELECT bool_and(r.total = base.total AND r.count = base.count) AS ok
     FROM base, (
       SELECT coalesce(sum(total), 0), coalesce(sum(count), 0) FROM rollup_monthly WHERE scope_id = $1
       UNION ALL
       SELECT coalesce(sum(total), 0), coalesce(sum(count), 0) FROM rollup_totals WHERE scope_id = $1
     ) r (total, count)`,
    [ORG_SCOPE],
  );
  if (!rows[0].ok) {
    console.error(
      'warning: the dashboard rollups no longer match the transactions table; run SELECT rollup_rebuild()',
    );
    process.exitCode = 1;
  }
}
