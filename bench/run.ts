/**
 * The benchmark of issue 7:
 *
 *   npm run build
 *   npm run bench:data -- --users 20 --transactions 1000000 --reset
 *   npm run bench [-- --duration 10 --passes 3 --connections 32 --only name1,name2 --warmup 1 --depth 2000]
 *
 * Starts the built app in production mode against DATABASE_URL (else the embedded server in
 * DATA_DIR, started here), logs in as the bench admin and analyst, prepares ids and a deep cursor
 * through the API, then drives each scenario with autocannon and prints the medians as Markdown.
 * Results go to bench/results/<timestamp>-<rows>.json. Any non-2xx response fails its scenario.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { freePort } from '../src/database/embedded-database';
import { type AppProcess, startApp } from './app-process';
import {
  checkTargets,
  markdown,
  passResult,
  type PassResult,
  type ScenarioResult,
  summarise,
} from './report';
import { type BenchContext, SCENARIOS, type Scenario } from './scenarios';
import { openBenchDatabase } from './shared';
import { prepare, singleRequests } from './setup';
import { checkRollups, removeCreatedRows } from './cleanup';
import { Api } from './api';

const ROOT = resolve(__dirname, '..', '..');

interface Options {
  duration: number;
  passes: number;
  connections: number;
  warmup: number;
  depth: number;
  single: number;
  only?: string[];
  cpuProf: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      passes: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      warmup: { type: 'string', default: '1' },
      depth: { type: 'string', default: '2000' },
      single: { type: 'string', default: '20' },
      only: { type: 'string' },
      list: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
    },
  });
  if (values.list) {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(28)} ${s.title}`);
    process.exit(0);
  }
  const num = (name: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return n;
  };
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((name) => !SCENARIOS.some((s) => s.name === name)) ?? [];
  if (unknown.length > 0) {
    throw new Error(`unknown scenario(s) ${unknown.join(', ')}; --list shows them`);
  }
  return {
    duration: num('duration', values.duration, 1),
    passes: Math.floor(num('passes', values.passes, 1)),
    connections: Math.floor(num('connections', values.connections, 1)),
    warmup: num('warmup', values.warmup, 0),
    depth: Math.floor(num('depth', values.depth, 1)),
    single: Math.floor(num('single', values.single, 0)),
    only,
    cpuProf: values['cpu-prof'],
  };
}

/** Warns when src/ changed after the last build: the bench would measure stale code. */
function warnIfStale(): void {
  const built = statSync(join(ROOT, 'dist/src/main.js'), { throwIfNoEntry: false });
  if (!built) throw new Error('dist/src/main.js is missing: run `npm run build` first');
  const newest = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .reduce((max, f) => Math.max(max, statSync(join(ROOT, 'src', f)).mtimeMs), 0);
  if (newest > built.mtimeMs) {
    console.warn(
      'warning: src/ is newer than dist/; run `npm run build` to measure the current code',
    );
  }
}

async function runScenario(
  app: AppProcess,
  api: Api,
  scenario: Scenario,
  ctx: BenchContext,
  opts: Options,
  duration: number,
): Promise<{ result: PassResult; path: string }> {
  const { headers, requests } = scenario.requests(ctx);
  app.rss.window();
  const cpuBefore = app.rss.cpuMs();
  // The app's CPU until it has answered everything the scenario sent, late ones included.
  const appCpuAfterDrain = async () => {
    await api.drain();
    return app.rss.cpuMs() - cpuBefore;
  };
  const raw = await autocannon({
    url: app.baseUrl,
    connections: opts.connections,
    duration,
    method: scenario.method,
    headers,
    requests,
    timeout: 10,
  });
  return {
    result: passResult(raw, app.rss.window(), await appCpuAfterDrain()),
    path: requests[0].path ?? `${scenario.method} (varies per request)`,
  };
}

async function main(): Promise<void> {
  const opts = parseOptions();
  warnIfStale();
  const scenarios = SCENARIOS.filter((s) => !opts.only || opts.only.includes(s.name));
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const load = { start: loadavg().map((l) => Math.round(l * 100) / 100), end: [] as number[] };

  const db = await openBenchDatabase();
  const sql = new Client({ connectionString: db.url });
  let app: AppProcess | undefined;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((e) => console.error(e));
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  cleanups.push(() => db.stop());
  try {
    await sql.connect();
    cleanups.push(() => sql.end());
    // Runs once the app has stopped (cleanups run in reverse), so nothing is still in flight.
    let createdBy: [string, Date, string] | undefined;
    cleanups.push(async () => {
      if (!createdBy) return;
      await removeCreatedRows(sql, createdBy);
      await checkRollups(sql);
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
    app = await startApp({
      root: ROOT,
      port: await freePort(),
      databaseUrl: db.url,
      logFile,
      nodeArgs: opts.cpuProf
        ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${stamp}-app.cpuprofile`]
        : [],
    });
    const running = app;
    cleanups.push(() => running.stop());
    console.log(`app: pid ${app.pid} ready at ${app.baseUrl} (log ${logFile})`);

    const api = new Api(app.baseUrl);
    const postMarker = `bench-post ${stamp}`;
    const { ctx, analystId, analystRows } = await prepare(api, opts.depth, postMarker);
    createdBy = [analystId, counts.runStart, postMarker];
    const created: [string, Date, string] = [analystId, counts.runStart, postMarker];
    createdBy = created;
    const removePosts = () => removeCreatedRows(sql, created, true);

    if (opts.warmup > 0) {
      console.log(`warm-up: ${opts.warmup} s per scenario`);
      for (const s of scenarios) {
        const { result } = await runScenario(app, api, s, ctx, opts, opts.warmup);
        if (s.writes) await removePosts();
        if (result.non2xx + result.errors > 0) {
          console.warn(
            `  ${s.name}: ${result.non2xx} non-2xx, ${result.errors} errors during warm-up`,
            result.statusCodes,
          );
        }
      }
    }

    const single = opts.single > 0 ? await singleRequests(api, ctx.adminToken, opts.single) : [];
    for (const s of single) console.log(`single: ${s.path} p50 ${s.p50Ms.toFixed(2)} ms`);

    const passes = new Map<string, { path: string; results: PassResult[] }>();
    for (let pass = 1; pass <= opts.passes; pass++) {
      for (const s of scenarios) {
        const { result, path } = await runScenario(app, api, s, ctx, opts, opts.duration);
        if (s.writes) await removePosts();
        const entry = passes.get(s.name) ?? { path, results: [] };
        entry.results.push(result);
        passes.set(s.name, entry);
        console.log(
          `pass ${pass}/${opts.passes} ${s.name.padEnd(28)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms  app CPU ${result.appCpuMsPerRequest} ms/req  non-2xx ${result.non2xx}${result.errors ? `  errors ${result.errors}` : ''}`,
        );
        await sleep(500);
      }
    }

    const results: ScenarioResult[] = scenarios.map((s) => {
      const entry = passes.get(s.name)!;
      return summarise(s, entry.path, entry.results);
    });
    checkTargets(results, scenarios);
    const peakRssMb = app.rss.peakMb();
    load.end = loadavg().map((l) => Math.round(l * 100) / 100);
    const commit = gitCommit();
    const header = [
      `### ${rows.toLocaleString('en-US')} transactions (${Number(counts.live).toLocaleString('en-US')} live; analyst ${analystRows.toLocaleString('en-US')}), ${startedAt.toISOString()}`,
      '',
      `\`npm run bench -- --duration ${opts.duration} --passes ${opts.passes} --connections ${opts.connections}${opts.only ? ` --only ${opts.only.join(',')}` : ''}\` ` +
        `— commit ${commit}, node ${process.version}, ${cpus().length} CPUs, medians of ${opts.passes} pass(es); ` +
        `depth = page ${ctx.depthPage} of 20 rows; load average ${load.start.join(' ')} → ${load.end.join(' ')}`,
    ];
    const report = markdown(results, single, peakRssMb, header);
    console.log(`\n${report}\n`);

    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, 'bench/results', `${stamp}-${rows}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        {
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
          markdown: report,
        },
        null,
        2,
      ),
    );
    console.log(`results: ${file}`);
    if (opts.cpuProf) {
      console.log(`profile: ${join(ROOT, 'bench/results', `${stamp}-app.cpuprofile`)} (on exit)`);
    }
    const failed = results.filter((r) => r.status === 'FAIL');
    if (failed.length > 0) {
      console.error(`FAIL: non-2xx responses or errors in ${failed.map((r) => r.name).join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    await cleanup();
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
