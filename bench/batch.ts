/**
 * Bulk writes against single ones (docs/api.md section 15): 500 creates as one
 * `POST /transactions/batch`, as 500 single `POST /transactions` one after another and 16 at a
 * time, and as a 500-row CSV import, each repeated and reported as medians and ratios. Run by
 * `npm run bench` after its scenarios (skip with `--only` without `batch`), or alone with
 * `npm run bench:batch` (needs the bench users: `npm run bench:data` first).
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../src/database/embedded-database';
import { Api } from './api';
import { startApp } from './app-process';
import { checkRollups, removeCreatedRows } from './cleanup';
import { BENCH_PASSWORD, benchAnalystEmail, EXPENSE_CATEGORIES, openBenchDatabase } from './shared';

const OPERATIONS = 500;

export interface BatchBench {
  rounds: number;
  /** Median wall time in ms of writing 500 rows each way. */
  ms: { batch: number; sequential: number; concurrent16: number; csv: number };
}

const row = (i: number, marker: string) => ({
  type: 'expense',
  amount: `${1 + (i % 400)}.${String(i % 100).padStart(2, '0')}`,
  category: EXPENSE_CATEGORIES[i % EXPENSE_CATEGORIES.length],
  date: new Date(Date.UTC(2025, 0, 1) + (i % 365) * 86_400_000).toISOString().slice(0, 10),
  notes: marker,
});

async function post(url: string, token: string, body: string, type: string): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    body,
  });
  const text = await res.text();
  if (res.status >= 300)
    throw new Error(`POST ${url} answered ${res.status}: ${text.slice(0, 300)}`);
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** Writes 500 rows four ways, `rounds` times each; the rows carry `marker` in their notes. */
export async function benchBatch(
  baseUrl: string,
  token: string,
  marker: string,
  rounds = 3,
): Promise<BatchBench> {
  const tx = `${baseUrl}/api/v1/transactions`;
  const rows = Array.from({ length: OPERATIONS }, (_, i) => row(i, marker));
  const singles = rows.map((r) => JSON.stringify(r));
  const batch = JSON.stringify({ operations: rows.map((data) => ({ op: 'create', data })) });
  const csv = `date,type,amount,category,notes\n${rows
    .map((r) => `${r.date},${r.type},${r.amount},${r.category},${r.notes}`)
    .join('\n')}\n`;
  const ways = {
    batch: () => post(`${tx}/batch`, token, batch, 'application/json'),
    sequential: async () => {
      for (const body of singles) await post(tx, token, body, 'application/json');
    },
    concurrent16: async () => {
      let next = 0;
      const worker = async () => {
        while (next < singles.length) await post(tx, token, singles[next++], 'application/json');
      };
      await Promise.all(Array.from({ length: 16 }, worker));
    },
    csv: () => post(`${tx}/import`, token, csv, 'text/csv'),
  };
  // One untimed round first: connections, JIT and plans warm for every way alike.
  for (const fn of Object.values(ways)) await fn();
  const samples: Record<keyof typeof ways, number[]> = {
    batch: [],
    sequential: [],
    concurrent16: [],
    csv: [],
  };
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(ways)) {
      samples[name as keyof typeof ways].push(await timed(fn));
    }
  }
  return {
    rounds,
    ms: {
      batch: median(samples.batch),
      sequential: median(samples.sequential),
      concurrent16: median(samples.concurrent16),
      csv: median(samples.csv),
    },
  };
}

export function batchMarkdown({ rounds, ms }: BatchBench): string {
  const perRow = (total: number) => `${((total / OPERATIONS) * 1000).toFixed(0)} µs`;
  const line = (way: string, total: number) =>
    `| ${way} | ${total.toFixed(0)} ms | ${perRow(total)} | ${(total / ms.batch).toFixed(1)} |`;
  return [
    `#### Bulk writes: ${OPERATIONS} creates (medians of ${rounds} rounds)`,
    '',
    '| way | wall time | per row | time / batch time |',
    '|---|---:|---:|---:|',
    line('`POST /transactions/batch` (one request, atomic)', ms.batch),
    line('500 × `POST /transactions`, sequential', ms.sequential),
    line('500 × `POST /transactions`, 16 at a time', ms.concurrent16),
    line('`POST /transactions/import`, a 500-row CSV', ms.csv),
  ].join('\n');
}

async function main(): Promise<void> {
  const db = await openBenchDatabase();
  const app = await startApp({
    root: resolve(__dirname, '..', '..'),
    port: await freePort(),
    databaseUrl: db.url,
    logFile: join(tmpdir(), 'finance-bench-batch.log'),
  });
  const sql = new Client({ connectionString: db.url });
  await sql.connect();
  const startedAt = new Date();
  const marker = `bench-batch-${Date.now()}`;
  let userId = '';
  try {
    const login = await new Api(app.baseUrl).login(benchAnalystEmail(1), BENCH_PASSWORD);
    userId = login.userId;
    console.log(`\n${batchMarkdown(await benchBatch(app.baseUrl, login.token, marker))}\n`);
  } finally {
    await app.stop();
    if (userId) await removeCreatedRows(sql, [userId, startedAt, marker]);
    await checkRollups(sql);
    await sql.end();
    await db.stop();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
