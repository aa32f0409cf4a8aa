/**
 * The benchmark of issues 7 and 15:
 *
 *   npm run build
 *   npm run bench:data -- --users 20 --transactions 1000000 --reset
 *   npm run bench [-- --duration 10 --passes 3 --connections 32 --only name1,name2 --warmup 1 --depth 2000]
 *   npm run bench -- --baseline     # each scenario also against bench/baseline, and the ratios
 *   npm run bench -- --check        # only: do the product and the baseline answer alike?
 *
 * Starts the built app in production mode against DATABASE_URL (else the embedded server in
 * DATA_DIR, started here), logs in as the bench admin and analyst, prepares ids and a deep cursor
 * through the API, then drives each scenario with autocannon and prints the medians as Markdown.
 * With --baseline, the baseline server (dist-tools/bench/baseline/server.js) runs beside it and every
 * scenario runs on both, one right after the other, with the same tokens, cursor and ids.
 * Results go to bench/results/<timestamp>-<rows>.json. Any non-2xx response fails its scenario.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../src/database/embedded-database';
import { Api } from './api';
import { type AppProcess, startApp } from './app-process';
import { type CheckResult, compare, probe } from './check';
import { checkRollups, removeCreatedRows } from './cleanup';
import { benchmark, type Server } from './drive';
import { type Options, parseOptions, warnIfStale } from './options';
import { comparison, markdown, type ScenarioResult, type SingleResult } from './report';
import { batchMarkdown, benchBatch } from './batch';
import type { BenchContext } from './scenarios';
import { SCENARIOS } from './scenarios';
import { prepare, singleRequests } from './setup';
import { openBenchDatabase } from './shared';

const ROOT = resolve(__dirname, '..', '..');
const BASELINE_SCRIPT = 'dist-tools/bench/baseline/server.js';

/** Starts the baseline with a static map of the tokens the product issued to the bench users. */
async function startBaseline(
  databaseUrl: string,
  logFile: string,
  ctx: BenchContext,
  ids: { adminId: string; analystId: string },
): Promise<AppProcess> {
  const tokens = {
    [ctx.adminToken]: { userId: ids.adminId, role: 'admin' },
    [ctx.analystToken]: { userId: ids.analystId, role: 'analyst' },
  };
  return startApp({
    root: ROOT,
    port: await freePort(),
    databaseUrl,
    logFile,
    script: BASELINE_SCRIPT,
    env: { BASELINE_TOKENS: JSON.stringify(tokens) },
  });
}

async function main(): Promise<void> {
  const opts = parseOptions();
  warnIfStale(ROOT);
  if (opts.baseline && !existsSync(join(ROOT, BASELINE_SCRIPT)))
    throw new Error(`${BASELINE_SCRIPT} is missing: run \`npm run build:tools\` first`);
  const scenarios = SCENARIOS.filter((s) => !opts.only || opts.only.includes(s.name));
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const load = { start: loadavg().map((l) => Math.round(l * 100) / 100), end: [] as number[] };

  const db = await openBenchDatabase();
  const sql = new Client({ connectionString: db.url });
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((e) => console.error(e));
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  cleanups.push(() => db.stop());
  try {
    await sql.connect();
    cleanups.push(() => sql.end());
    // Runs once the servers have stopped (cleanups run in reverse), so nothing is in flight.
    // Filled in once the analyst's id is known.
    const createdBy: [string, Date, string][] = [];
    cleanups.push(async () => {
      for (const c of createdBy) {
        await removeCreatedRows(sql, c);
        await checkRollups(sql);
      }
    });
    const [counts] = (
      await sql.query<{ live: string; deleted: string; runStart: Date }>(
        `SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live,
                count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted, now() AS "runStart"
         FROM transactions`,
      )
    ).rows;
    const rows = Number(counts.live) + Number(counts.deleted);
    console.log(
      `database: ${db.embedded ? 'embedded (DATA_DIR)' : 'DATABASE_URL'}, ${rows} transactions (${counts.live} live)`,
    );

    const logFile = join(tmpdir(), `finance-bench-${stamp}.log`);
    // --cpu-prof: V8 writes the app's profile when it exits (open it in Chrome DevTools).
    const profileDir = join(ROOT, 'bench/results');
    const app = await startApp({
      root: ROOT,
      port: await freePort(),
      databaseUrl: db.url,
      logFile,
      env: { LOG_LEVEL: opts.logLevel },
      nodeArgs: opts.cpuProf
        ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${stamp}-app.cpuprofile`]
        : [],
    });
    cleanups.push(() => app.stop());
    console.log(`app: pid ${app.pid} ready at ${app.baseUrl} (log ${logFile})`);

    const product: Server = { label: 'product', app, api: new Api(app.baseUrl) };
    const postMarker = `bench-post ${stamp}`;
    const { ctx, adminId, analystId, analystRows } = await prepare(
      product.api,
      opts.depth,
      postMarker,
    );
    const created: [string, Date, string] = [analystId, counts.runStart, postMarker];
    createdBy.push(created);
    const removePosts = () => removeCreatedRows(sql, created, true);

    // The product's answers for the agreement check, taken before any load.
    // Scenarios only the product runs (`productOnly`) are not compared.
    const checked = scenarios.filter((s) => !s.productOnly);
    let productProbes = opts.baseline ? await probe(app.baseUrl, checked, ctx) : [];
    if (productProbes.some((p) => p.method !== 'GET')) await removePosts();

    // With --baseline both servers run from here on, and every scenario is measured on one right
    // after the other (drive.ts), so the product/baseline ratio compares like with like.
    let baselineRun: { server: Server; check: CheckResult } | undefined;
    if (opts.baseline) {
      const baselineLog = join(tmpdir(), `finance-bench-${stamp}-baseline.log`);
      const server = await startBaseline(db.url, baselineLog, ctx, { adminId, analystId });
      cleanups.push(() => server.stop());
      console.log(`baseline: pid ${server.pid} ready at ${server.baseUrl} (log ${baselineLog})`);
      const baselineProbes = await probe(server.baseUrl, checked, ctx);
      if (baselineProbes.some((p) => p.method !== 'GET')) await removePosts();
      const check = compare(productProbes, baselineProbes);
      productProbes = [];
      console.log(`agreement check: ${check.agreed}/${check.compared} requests answer alike`);
      for (const line of check.lines) console.log(line);
      baselineRun = {
        server: { label: 'baseline', app: server, api: new Api(server.baseUrl) },
        check,
      };
    }

    let single: SingleResult[] = [];
    let results: ScenarioResult[] = [];
    let baselineResults: ScenarioResult[] = [];
    if (!opts.check) {
      const servers = baselineRun ? [product, baselineRun.server] : [product];
      [results, baselineResults = []] = await benchmark(
        servers,
        scenarios,
        ctx,
        opts,
        removePosts,
        async () => {
          if (opts.single === 0) return;
          single = await singleRequests(product.api, ctx.adminToken, opts.single);
          for (const s of single) console.log(`single: ${s.path} p50 ${s.p50Ms.toFixed(2)} ms`);
        },
      );
    }
    const peakRssMb = app.rss.peakMb();
    // After the scenarios (and their RSS peak): the bulk comparison writes 2,000 rows a round.
    const bulk =
      !opts.check && (!opts.only || opts.only.includes('batch'))
        ? await benchBatch(app.baseUrl, ctx.analystToken, postMarker)
        : undefined;
    const baseline = baselineRun && {
      results: baselineResults,
      peakRssMb: baselineRun.server.app.rss.peakMb(),
      check: baselineRun.check,
    };
    if (opts.check) {
      if (baseline && baseline.check.mismatches.length > 0) process.exitCode = 1;
      return;
    }

    load.end = loadavg().map((l) => Math.round(l * 100) / 100);
    const commit = gitCommit();
    const header = [
      `### ${rows.toLocaleString('en-US')} transactions (${Number(counts.live).toLocaleString('en-US')} live; analyst ${analystRows.toLocaleString('en-US')}), ${startedAt.toISOString()}`,
      '',
      `\`npm run bench -- --duration ${opts.duration} --passes ${opts.passes} --connections ${opts.connections}${opts.only ? ` --only ${opts.only.join(',')}` : ''}${opts.baseline ? ' --baseline' : ''}\` ` +
        `— commit ${commit}, node ${process.version}, ${cpus().length} CPUs, medians of ${opts.passes} pass(es); ` +
        `depth = page ${ctx.depthPage} of 20 rows; load average ${load.start.join(' ')} → ${load.end.join(' ')}`,
    ];
    let report = markdown(results, single, peakRssMb, header);
    if (baseline) {
      const { agreed, compared } = baseline.check;
      report += `\n\n#### Product against the baseline (bench/baseline; answers agree: ${agreed}/${compared})\n\n`;
      report += comparison(results, baseline.results, {
        product: peakRssMb,
        baseline: baseline.peakRssMb,
      });
    }
    if (bulk) report += `\n\n${batchMarkdown(bulk)}`;
    console.log(`\n${report}\n`);
    writeResults(`${stamp}-${rows}.json`, {
      startedAt,
      finishedAt: new Date(),
      commit,
      node: process.version,
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model,
        memoryMb: Math.round(totalmem() / 2 ** 20),
        load,
      },
      database: {
        embedded: db.embedded,
        transactions: rows,
        live: Number(counts.live),
        analystLiveRows: analystRows,
      },
      options: { ...opts, depthPage: ctx.depthPage },
      peakRssMb,
      single,
      scenarios: results,
      bulk,
      baseline,
      markdown: report,
    });
    if (opts.cpuProf) {
      console.log(`profile: ${join(ROOT, 'bench/results', `${stamp}-app.cpuprofile`)} (on exit)`);
    }
    reportFailures(opts, results, baseline);
  } finally {
    await cleanup();
  }
}

function writeResults(name: string, content: object): void {
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', name);
  writeFileSync(file, JSON.stringify(content, null, 2));
  console.log(`results: ${file}`);
}

function reportFailures(
  opts: Options,
  results: ScenarioResult[],
  baseline?: { results: ScenarioResult[]; check: CheckResult },
): void {
  const failed = [
    ...results.filter((r) => r.status === 'FAIL').map((r) => r.name),
    ...(baseline?.results ?? [])
      .filter((r) => r.status === 'FAIL')
      .map((r) => `baseline ${r.name}`),
  ];
  if (failed.length > 0) {
    console.error(`FAIL: non-2xx responses or errors in ${failed.join(', ')}`);
    process.exitCode = 1;
  }
  if (opts.baseline && baseline && baseline.check.mismatches.length > 0) {
    console.error(
      `FAIL: the baseline answers ${baseline.check.mismatches.length} request(s) differently (see the agreement check above)`,
    );
    process.exitCode = 1;
  }
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return 'unknown';
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
