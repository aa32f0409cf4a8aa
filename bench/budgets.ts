/**
 * What budgets cost (docs/api.md section 16): the throughput of `POST /transactions` (16 at a
 * time, expenses of one owner) with 0, 10 and 100 budgets on that owner, as a ratio to 0, and the
 * single-request latency of `GET /budgets/{id}/status` over an owner with BUDGET_BENCH_ROWS rows
 * (default 1,000,000). Needs DATABASE_URL naming an empty database it may fill (it is left filled):
 * `DATABASE_URL=postgres://… npm run bench:budgets`.
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../src/database/embedded-database';
import { call, freshAnalyst } from './api';
import { startApp } from './app-process';
import { EXPENSE_CATEGORIES } from './shared';

const ROWS = Number(process.env.BUDGET_BENCH_ROWS ?? 1_000_000);
const SECONDS = Number(process.env.BUDGET_BENCH_SECONDS ?? 10);
const ADMIN = { email: 'budget-bench-admin@example.com', password: 'budget-bench-password-1' };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

/** What the app's database sessions were doing, sampled every 100 ms: mean sessions per state. */
interface Waits {
  rowLocks: number;
  walFlush: number;
  other: number;
}

/**
 * Samples `pg_stat_activity` for the app's active sessions until `done` settles: waiting on a row
 * lock (the queue that keeps budget totals exact), in the commit's WAL flush, or anything else
 * (on the CPU, or another wait). Shows whether the queue or the CPU limits the writes.
 */
async function sampleWaits(sql: Client, done: Promise<unknown>): Promise<Waits> {
  let finished = false;
  const stop = () => (finished = true);
  // Both outcomes handled here: the caller awaits `done` itself and sees its failure.
  done.then(stop, stop);
  const sums: Waits = { rowLocks: 0, walFlush: 0, other: 0 };
  let samples = 0;
  while (!finished) {
    const { rows } = await sql.query<Waits>(
      `SELECT count(*) FILTER (WHERE wait_event IN ('tuple', 'transactionid'))::int AS "rowLocks",
              count(*) FILTER (WHERE wait_event IN ('WALSync', 'WALWrite'))::int AS "walFlush",
              count(*) FILTER (WHERE wait_event IS NULL
                OR wait_event NOT IN ('tuple', 'transactionid', 'WALSync', 'WALWrite'))::int AS other
       FROM pg_stat_activity
       WHERE datname = current_database() AND state = 'active'
         AND backend_type = 'client backend' AND application_name = 'finance-api'`,
    );
    for (const k of ['rowLocks', 'walFlush', 'other'] as const) sums[k] += rows[0][k];
    samples++;
    await new Promise((r) => setTimeout(r, 100));
  }
  const mean = (n: number) => (samples ? n / samples : 0);
  return { rowLocks: mean(sums.rowLocks), walFlush: mean(sums.walFlush), other: mean(sums.other) };
}

/** Requests per second of 16 workers posting expenses of the caller for SECONDS seconds. */
async function postThroughput(api: string, token: string): Promise<number> {
  const until = performance.now() + SECONDS * 1000;
  let done = 0;
  const worker = async (w: number) => {
    for (let i = 0; performance.now() < until; i++) {
      await call(`${api}/transactions`, 'POST', token, {
        type: 'expense',
        amount: `${1 + ((i * 7 + w) % 90)}.25`,
        category: EXPENSE_CATEGORIES[(i + w) % EXPENSE_CATEGORIES.length],
        date: `2025-${String(1 + ((i + w) % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
      });
      done++;
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
  return done / SECONDS;
}

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL?.trim();
  if (!url) throw new Error('DATABASE_URL must name an empty database for this bench');
  const app = await startApp({
    root: resolve(__dirname, '..', '..'),
    port: await freePort(),
    databaseUrl: url,
    logFile: join(tmpdir(), 'finance-bench-budgets.log'),
    env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, BCRYPT_ROUNDS: '4' },
  });
  const sql = new Client({ connectionString: url });
  await sql.connect();
  const api = `${app.baseUrl}/api/v1`;
  try {
    const { userId: ownerId, token } = await freshAnalyst(api, ADMIN, 'budget-bench');

    const seeded = performance.now();
    await sql.query(
      `INSERT INTO transactions (owner_id, type, amount, currency, category, date)
       SELECT $1, CASE WHEN i % 5 = 0 THEN 'income' ELSE 'expense' END::transaction_type,
         (1 + i % 500)::numeric + 0.25, 'USD', ($2::text[])[(i % $3) + 1],
         DATE '2020-01-01' + (i % 2190)
       FROM generate_series(1, $4) i`,
      [ownerId, EXPENSE_CATEGORIES, EXPENSE_CATEGORIES.length, ROWS],
    );
    await sql.query('ANALYZE');
    console.log(`seeded ${ROWS} rows in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);

    // Warm-up: connections, JIT and plans.
    await postThroughput(api, token);
    const rates: Record<number, number> = {};
    const waits: Record<number, Waits> = {};
    let made = 0;
    for (const count of [0, 10, 100]) {
      for (; made < count; made++) {
        await call(`${api}/budgets`, 'POST', token, {
          name: `b${made}`,
          amount: '5000',
          period: (['month', 'quarter', 'year'] as const)[made % 3],
          category: made % 4 === 0 ? null : EXPENSE_CATEGORIES[made % EXPENSE_CATEGORIES.length],
          thresholds: [50, 80, 100, 120],
        });
      }
      const posting = postThroughput(api, token);
      [rates[count], waits[count]] = await Promise.all([posting, sampleWaits(sql, posting)]);
    }

    const year = await call(`${api}/budgets`, 'POST', token, {
      name: 'status',
      amount: '100000',
      period: 'year',
    });
    const month = await call(`${api}/budgets`, 'POST', token, {
      name: 'status month',
      amount: '1000',
      period: 'month',
      category: 'groceries',
    });
    const latency = async (path: string) => {
      const samples: number[] = [];
      for (let i = 0; i < 200; i++) {
        const start = performance.now();
        await call(`${api}${path}`, 'GET', token);
        samples.push(performance.now() - start);
      }
      return { p50: median(samples.slice(20)), p95: percentile(samples.slice(20), 0.95) };
    };
    const yearly = await latency(`/budgets/${year.json.id as string}/status?period=2024`);
    const monthly = await latency(`/budgets/${month.json.id as string}/status?period=2024-06`);

    const ratio = (n: number) => (rates[n] / rates[0]).toFixed(2);
    console.log(
      [
        '',
        `#### Budgets (${ROWS.toLocaleString('en')} rows on the owner, ${SECONDS} s per figure)`,
        '',
        '| budgets on the owner | `POST /transactions`, 16 at a time | ratio to none | sessions waiting on row locks / in the WAL flush / other (mean) |',
        '|---:|---:|---:|---:|',
        ...[0, 10, 100].map(
          (n) =>
            `| ${n} | ${rates[n].toFixed(0)} req/s | ${ratio(n)} | ${[waits[n].rowLocks, waits[n].walFlush, waits[n].other].map((x) => x.toFixed(1)).join(' / ')} |`,
        ),
        '',
        '| `GET /budgets/{id}/status` | p50 | p95 |',
        '|---|---:|---:|',
        `| year, all expenses | ${yearly.p50.toFixed(1)} ms | ${yearly.p95.toFixed(1)} ms |`,
        `| month, one category | ${monthly.p50.toFixed(1)} ms | ${monthly.p95.toFixed(1)} ms |`,
        '',
      ].join('\n'),
    );
  } finally {
    await sql.end();
    await app.stop();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
