import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import type { Api } from './api';
import type { AppProcess } from './app-process';
import type { Options } from './options';
import {
  checkTargets,
  passResult,
  type PassResult,
  type ScenarioResult,
  summarise,
} from './report';
import type { BenchContext, Scenario } from './scenarios';

/** A server under load: the product or the baseline, with its process and API client. */
export interface Server {
  label: 'product' | 'baseline';
  app: AppProcess;
  api: Api;
}

async function runScenario(
  server: Server,
  scenario: Scenario,
  ctx: BenchContext,
  opts: Options,
  duration: number,
): Promise<{ result: PassResult; path: string }> {
  const { app, api } = server;
  const { headers, requests, kinds } = scenario.requests(ctx);
  app.rss.window();
  const cpuBefore = app.rss.cpuMs();
  // The app's CPU until it has answered everything the scenario sent, late ones included.
  const appCpuAfterDrain = async () => {
    await api.drain();
    return app.rss.cpuMs() - cpuBefore;
  };
  const raw = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: app.baseUrl,
        connections: scenario.connections ?? opts.connections,
        duration,
        method: scenario.method,
        headers,
        requests,
        timeout: 10,
      },
      (error, result) => (error ? reject(error as Error) : resolve(result)),
    );
    if (kinds) instance.on('response', (_client, status, _bytes, ms) => kinds.record(status, ms));
  });
  return {
    result: passResult(raw, app.rss.window(), await appCpuAfterDrain(), kinds?.stats()),
    path: scenario.path ?? requests[0].path ?? `${scenario.method} (varies per request)`,
  };
}

/** The baseline runs every scenario but those only the product can answer. */
const runsOn = (server: Server, s: Scenario) => server.label === 'product' || !s.productOnly;

/**
 * Warm-up, then `opts.passes` passes over the scenarios. With several servers (the product and
 * the baseline, both running, the idle one costing nothing) each scenario runs on one right after
 * the other, so a change in the machine's speed during the run moves both sides of a ratio alike.
 * Rows written by a scenario are removed after each run (`removePosts`): every run sees the same
 * data. Returns one list of results per server, in the order given.
 */
export async function benchmark(
  servers: Server[],
  scenarios: Scenario[],
  ctx: BenchContext,
  opts: Options,
  removePosts: () => Promise<void>,
  /** Runs between the warm-up and pass 1 (the single-request latencies). */
  beforePasses?: () => Promise<void>,
): Promise<ScenarioResult[][]> {
  const tagOf = (server: Server) => (opts.baseline ? `${server.label} ` : '');
  if (opts.warmup > 0) {
    console.log(`warm-up: ${opts.warmup} s per scenario and server`);
    for (const s of scenarios) {
      for (const server of servers.filter((x) => runsOn(x, s))) {
        const { result } = await runScenario(server, s, ctx, opts, opts.warmup);
        if (s.writes) await removePosts();
        if (result.non2xx + result.errors > 0) {
          console.warn(
            `  ${tagOf(server)}${s.name}: ${result.non2xx} non-2xx, ${result.errors} errors during warm-up`,
            result.statusCodes,
          );
        }
      }
    }
  }

  await beforePasses?.();
  const passes = servers.map(() => new Map<string, { path: string; results: PassResult[] }>());
  for (let pass = 1; pass <= opts.passes; pass++) {
    for (const s of scenarios) {
      for (const [i, server] of servers.entries()) {
        if (!runsOn(server, s)) continue;
        const { result, path } = await runScenario(server, s, ctx, opts, opts.duration);
        if (s.writes) await removePosts();
        const entry = passes[i].get(s.name) ?? { path, results: [] };
        entry.results.push(result);
        passes[i].set(s.name, entry);
        console.log(
          `${tagOf(server)}pass ${pass}/${opts.passes} ${s.name.padEnd(28)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms  app CPU ${result.appCpuMsPerRequest} ms/req  non-2xx ${result.non2xx}${result.errors ? `  errors ${result.errors}` : ''}`,
        );
        for (const [kind, k] of Object.entries(result.kinds ?? {})) {
          console.log(
            `    ${kind.padEnd(8)} ${String(k.requests).padStart(6)} requests  p50 ${k.p50} ms  p99 ${k.p99} ms${k.non2xx ? `  non-2xx ${k.non2xx}` : ''}`,
          );
        }
        await sleep(500);
      }
    }
  }

  return passes.map((byName) => {
    const results = scenarios.flatMap((s) => {
      const entry = byName.get(s.name);
      return entry ? [summarise(s, entry.path, entry.results)] : [];
    });
    checkTargets(results, scenarios);
    return results;
  });
}
