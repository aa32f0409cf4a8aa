/**
 * `npm run bench:csv -- --rows 1000000`: imports a generated CSV of N rows through the API, then
 * exports the importing analyst's rows, and reports wall time and the app's peak RSS for each.
 * Needs the bench users (`npm run bench:data` first). The imported rows are removed afterwards.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { freePort } from '../src/database/embedded-database';
import { Api } from './api';
import { startApp } from './app-process';
import { removeCreatedRows } from './cleanup';
import { BENCH_PASSWORD, benchAnalystEmail, EXPENSE_CATEGORIES, openBenchDatabase } from './shared';

const root = resolve(__dirname, '..', '..');

async function writeCsv(file: string, rows: number, marker: string): Promise<void> {
  const out = createWriteStream(file);
  out.write('date,type,amount,category,notes\n');
  for (let i = 0; i < rows; i++) {
    const day = new Date(Date.UTC(2024, 0, 1) + (i % 1000) * 86_400_000).toISOString().slice(0, 10);
    const cents = 100 + ((i * 7919) % 50_000);
    const line = `${day},expense,${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')},${EXPENSE_CATEGORIES[i % EXPENSE_CATEGORIES.length]},${marker}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function upload(
  url: string,
  token: string,
  file: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'text/csv',
          'content-length': statSync(file).size,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

async function download(
  url: string,
  token: string,
): Promise<{ status: number; bytes: number; lines: number }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (const b of chunk) if (b === 10) lines++;
  }
  return { status: res.status, bytes, lines };
}

/** CPU time (user + system) of a process in ms, from /proc (Linux); 0 when it is gone. */
function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/**
 * CPU time of the app and of its database backends, which separates the import's own cost from
 * waiting for a CPU on a busy machine (wall time there says little).
 */
async function cpuSample(sql: Client, appPid: number): Promise<{ app: number; db: number }> {
  const { rows } = await sql.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'finance-api'`,
  );
  return { app: cpuMs(appPid), db: rows.reduce((sum, r) => sum + cpuMs(r.pid), 0) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' } } });
  const rows = Number(values.rows);
  const marker = `bench-csv-${Date.now()}`;
  const dir = join(tmpdir(), 'finance-bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `import-${rows}.csv`);
  await writeCsv(file, rows, marker);
  const megabytes = (statSync(file).size / 1024 / 1024).toFixed(1);

  const db = await openBenchDatabase();
  // The contract's 20 MiB default admits about 400,000 rows; the benchmark raises it.
  process.env.IMPORT_MAX_BYTES = String(1024 * 1024 * 1024);
  const app = await startApp({
    root,
    port: await freePort(),
    databaseUrl: db.url,
    logFile: join(dir, 'csv-app.log'),
  });
  const sql = new Client({ connectionString: db.url });
  await sql.connect();
  const startedAt = new Date();
  try {
    const api = new Api(app.baseUrl);
    const { token, userId } = await api.login(benchAnalystEmail(1), BENCH_PASSWORD);

    app.rss.window();
    const cpuBefore = await cpuSample(sql, app.pid);
    let t = performance.now();
    const imported = await upload(`${app.baseUrl}/api/v1/transactions/import`, token, file);
    const importSeconds = (performance.now() - t) / 1000;
    const cpuAfter = await cpuSample(sql, app.pid);
    const importRss = app.rss.window();
    if (imported.status !== 201)
      throw new Error(`import answered ${imported.status}: ${imported.body.slice(0, 500)}`);

    t = performance.now();
    const exported = await download(`${app.baseUrl}/api/v1/transactions/export`, token);
    const exportSeconds = (performance.now() - t) / 1000;
    const exportRss = app.rss.window();
    if (exported.status !== 200) throw new Error(`export answered ${exported.status}`);

    console.log(
      `\nCSV benchmark: ${rows.toLocaleString('en')} rows imported (${megabytes} MB file)\n`,
    );
    console.log('| operation | rows | wall time | app peak RSS |');
    console.log('|---|---:|---:|---:|');
    console.log(
      `| import (text/csv, all-or-nothing) | ${rows.toLocaleString('en')} | ${importSeconds.toFixed(1)} s | ${importRss} MB |`,
    );
    console.log(
      `| export (analyst's rows, ${(exported.bytes / 1024 / 1024).toFixed(1)} MB) | ${(exported.lines - 1).toLocaleString('en')} | ${exportSeconds.toFixed(1)} s | ${exportRss} MB |`,
    );
    console.log(
      `\nimport CPU time: app ${((cpuAfter.app - cpuBefore.app) / 1000).toFixed(1)} s, database backends ${((cpuAfter.db - cpuBefore.db) / 1000).toFixed(1)} s (load average ${loadavg()[0].toFixed(1)})`,
    );
    console.log(
      `\napp peak RSS over the whole run (VmHWM): ${app.rss.peakMb()} MB; import body: ${imported.body}`,
    );
    await removeCreatedRows(sql, [userId, startedAt, marker]);
  } finally {
    await sql.end();
    await app.stop();
    await db.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
