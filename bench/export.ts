/**
 * What a personal data export costs (docs/api.md section 17): fills EXPORT_BENCH_ROWS transactions
 * (default 1,000,000; 5 % soft-deleted) for one new user, asks for their export, waits for the
 * job and downloads the document, sampling the app's resident set every 100 ms. Prints rows,
 * durations, the document's size, the app's RSS before and its peak during the job and the
 * download. Uses DATABASE_URL when set, else the embedded database (bench/README.md); it is left
 * filled. `EXPORT_BENCH_ROWS=200000 npm run bench:export`
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { freePort } from '../src/database/embedded-database';
import { call, freshAnalyst } from './api';
import { RssSampler, startApp } from './app-process';
import { EXPENSE_CATEGORIES, NOTE_WORDS, openBenchDatabase } from './shared';

const ROWS = Number(process.env.EXPORT_BENCH_ROWS ?? 1_000_000);
const ADMIN = { email: 'export-bench-admin@example.com', password: 'export-bench-password-1' };

/** Reads the document as it streams, keeping only its size and its first and last bytes. */
async function download(url: string, token: string) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`download answered ${res.status}: ${await res.text()}`);
  let bytes = 0;
  let head = '';
  let last = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (head.length < 64) head += Buffer.from(chunk.subarray(0, 64)).toString('utf8');
    bytes += chunk.length;
    last = chunk[chunk.length - 1];
  }
  const complete = head.startsWith('{"format":"finance-api.personal-data-export"') && last === 0x7d;
  if (!complete || bytes !== Number(res.headers.get('content-length')))
    throw new Error(`the document is not whole: ${bytes} bytes, starts ${head}`);
  return bytes;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  const db = await openBenchDatabase();
  const app = await startApp({
    root: resolve(__dirname, '..', '..'),
    port: await freePort(),
    databaseUrl: db.url,
    logFile: join(tmpdir(), 'finance-bench-export.log'),
    env: { ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, BCRYPT_ROUNDS: '4' },
  });
  const rss = new RssSampler(app.pid, 100);
  const sql = new Client({ connectionString: db.url });
  await sql.connect();
  const api = `${app.baseUrl}/api/v1`;
  try {
    const { userId, token } = await freshAnalyst(api, ADMIN, 'export-bench');

    // As bench/budgets.ts fills: one INSERT ... SELECT over generate_series, notes of three words.
    const seeded = performance.now();
    await sql.query(
      `INSERT INTO transactions (owner_id, type, amount, currency, category, date, notes, deleted_at)
       SELECT $1, CASE WHEN i % 10 = 0 THEN 'income' ELSE 'expense' END::transaction_type,
         (1 + i % 500)::numeric + 0.25, 'USD', ($2::text[])[(i % $3) + 1],
         DATE '2020-01-01' + (i % 2190),
         concat_ws(' ', ($4::text[])[(i % $5) + 1], ($4::text[])[(i * 7 % $5) + 1], ($4::text[])[(i * 13 % $5) + 1]),
         CASE WHEN i % 20 = 0 THEN now() END
       FROM generate_series(1, $6) i`,
      [userId, EXPENSE_CATEGORIES, EXPENSE_CATEGORIES.length, NOTE_WORDS, NOTE_WORDS.length, ROWS],
    );
    await sql.query('ANALYZE transactions');
    console.log(`seeded ${ROWS} rows in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);

    await sleep(1000);
    const before = rss.currentMb();
    rss.window();
    const started = performance.now();
    const requested = await call(`${api}/users/${userId}/export`, 'POST', token);
    const location = `${app.baseUrl}${requested.headers.get('location')}`;
    for (;;) {
      const { status } = (await call(location, 'GET', token)).json;
      if (status === 'succeeded') break;
      if (status === 'failed') throw new Error('the export failed; see the app log');
      await sleep(100);
    }
    const jobSeconds = (performance.now() - started) / 1000;
    const jobPeak = rss.window();
    const fetched = performance.now();
    const bytes = await download(`${location}/download`, token);
    const downloadSeconds = (performance.now() - fetched) / 1000;
    const downloadPeak = rss.window();
    const { rows } = await sql.query<{ chunks: number }>(
      'SELECT chunks FROM exports WHERE id = $1',
      [requested.json.id],
    );

    console.log(
      [
        '',
        `#### Personal data export (${ROWS.toLocaleString('en')} transactions on the user)`,
        '',
        '| rows | job (request → succeeded) | download | document | chunks | RSS before | peak RSS, job | peak RSS, download |',
        '|---:|---:|---:|---:|---:|---:|---:|---:|',
        `| ${ROWS.toLocaleString('en')} | ${jobSeconds.toFixed(1)} s | ${downloadSeconds.toFixed(1)} s | ${mb(bytes)} MB | ${rows[0].chunks} | ${before} MB | ${jobPeak} MB | ${downloadPeak} MB |`,
        '',
        `app peak RSS over the whole run (VmHWM): ${rss.peakMb()} MB`,
      ].join('\n'),
    );
  } finally {
    rss.stop();
    await sql.end();
    await app.stop();
    await db.stop();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
