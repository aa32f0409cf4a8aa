import type autocannon from 'autocannon';
import type { KindStat } from './mixed';
import type { Scenario, Target } from './scenarios';

export interface PassResult {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  meanMs: number;
  maxMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  durationS: number;
  rssPeakMb: number;
  /** The app process's CPU time (user + system) per request sent, until the app has drained. */
  appCpuMsPerRequest: number;
  /** Mixed scenarios: count, non-2xx and latency per request kind. */
  kinds?: Record<string, KindStat>;
}

export interface ScenarioResult {
  name: string;
  title: string;
  method: string;
  path: string;
  passes: PassResult[];
  median: {
    rps: number;
    p50: number;
    p99: number;
    rssPeakMb: number;
    appCpuMsPerRequest: number;
    /** Per kind: medians of p50 and p99 over the passes, requests and non-2xx summed. */
    kinds?: Record<string, KindStat>;
  };
  non2xx: number;
  errors: number;
  status: 'OK' | 'FAIL';
  /** `minRatio`: for a relative target, the least share of its reference's req/s it must reach. */
  target?: { text: string; met: boolean | null; minRatio?: number };
}

export interface SingleResult {
  name: string;
  path: string;
  samplesMs: number[];
  p50Ms: number;
  minMs: number;
  maxMs: number;
  targetMs: number;
}

export function passResult(
  r: autocannon.Result,
  rssPeakMb: number,
  appCpuMs: number,
  kinds?: Record<string, KindStat>,
): PassResult {
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) {
    statusCodes[code] = stat.count ?? 0;
  }
  return {
    rps: round(r.requests.average),
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    meanMs: round(r.latency.average),
    maxMs: r.latency.max,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    durationS: r.duration,
    rssPeakMb,
    appCpuMsPerRequest: r.requests.sent > 0 ? round(appCpuMs / r.requests.sent) : NaN,
    kinds,
  };
}

function medianKinds(passes: PassResult[]): Record<string, KindStat> | undefined {
  if (!passes.some((p) => p.kinds)) return undefined;
  const names = [...new Set(passes.flatMap((p) => Object.keys(p.kinds ?? {})))].sort();
  const stats = (name: string) => passes.map((p) => p.kinds?.[name]).filter((k) => k !== undefined);
  return Object.fromEntries(
    names.map((name) => [
      name,
      {
        requests: stats(name).reduce((n, k) => n + k.requests, 0),
        non2xx: stats(name).reduce((n, k) => n + k.non2xx, 0),
        p50: median(stats(name).map((k) => k.p50)),
        p99: median(stats(name).map((k) => k.p99)),
      },
    ]),
  );
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : round((sorted[mid - 1] + sorted[mid]) / 2);
}

export function summarise(scenario: Scenario, path: string, passes: PassResult[]): ScenarioResult {
  const non2xx = passes.reduce((n, p) => n + p.non2xx, 0);
  const errors = passes.reduce((n, p) => n + p.errors, 0);
  return {
    name: scenario.name,
    title: scenario.title,
    method: scenario.method,
    path,
    passes,
    median: {
      rps: median(passes.map((p) => p.rps)),
      p50: median(passes.map((p) => p.p50)),
      p99: median(passes.map((p) => p.p99)),
      rssPeakMb: Math.max(...passes.map((p) => p.rssPeakMb)),
      appCpuMsPerRequest: median(passes.map((p) => p.appCpuMsPerRequest)),
      kinds: medianKinds(passes),
    },
    non2xx,
    errors,
    // No completed request at all is a failure too: the scenario measured nothing.
    status: non2xx === 0 && errors === 0 && passes.every((p) => p.requests > 0) ? 'OK' : 'FAIL',
  };
}

/** Fills in each result's target check (issue 7's table); relative targets need their reference. */
export function checkTargets(results: ScenarioResult[], scenarios: Scenario[]): void {
  for (const result of results) {
    const target: Target | undefined = scenarios.find((s) => s.name === result.name)?.target;
    if (!target) continue;
    if (target.kind === 'throughput') {
      const p99 = target.maxP99Ms === undefined || result.median.p99 <= target.maxP99Ms;
      result.target = {
        text: `≥ ${target.minRps} req/s${target.maxP99Ms ? `, p99 ≤ ${target.maxP99Ms} ms` : ''}`,
        met: result.median.rps >= target.minRps && p99,
      };
    } else {
      const ref = results.find((r) => r.name === target.to);
      const ratio = ref ? result.median.rps / ref.median.rps : NaN;
      result.target = {
        text: `within ${Math.round(target.within * 100)} % of ${target.to}${ref ? ` (${Math.round(ratio * 100)} %)` : ''}`,
        met: ref ? ratio >= 1 - target.within : null,
        minRatio: 1 - target.within,
      };
    }
  }
}

const mark = (met: boolean | null | undefined) =>
  met === true ? 'met' : met === false ? 'MISSED' : '';

export function markdown(
  results: ScenarioResult[],
  single: SingleResult[],
  peakRssMb: number,
  header: string[],
): string {
  const lines = [...header, ''];
  lines.push('| scenario | req/s | p50 ms | p99 ms | non-2xx | status | target | app CPU ms/req |');
  lines.push('|---|---:|---:|---:|---:|---|---|---:|');
  for (const r of results) {
    const target = r.target ? `${r.target.text} ${mark(r.target.met)}`.trim() : '';
    const bad = r.non2xx + r.errors;
    lines.push(
      `| ${r.title} | ${fmt(r.median.rps, 0)} | ${fmt(r.median.p50)} | ${fmt(r.median.p99)} | ${bad} | ${r.status} | ${target} | ${fmt(r.median.appCpuMsPerRequest, 2)} |`,
    );
  }
  lines.push(...kindsTable(results));
  lines.push(...conversionTable(results));
  lines.push('');
  lines.push(
    `App peak RSS (VmHWM): ${fmt(peakRssMb)} MB (target ≤ 250 MB: ${mark(peakRssMb <= 250)})`,
  );
  if (single.length > 0) {
    lines.push('');
    lines.push('| single request (admin, sequential) | p50 ms | min ms | max ms | target |');
    lines.push('|---|---:|---:|---:|---|');
    for (const s of single) {
      lines.push(
        `| GET ${s.path} | ${fmt(s.p50Ms, 2)} | ${fmt(s.minMs, 2)} | ${fmt(s.maxMs, 2)} | p50 ≤ ${s.targetMs} ms ${mark(s.p50Ms <= s.targetMs)} |`,
      );
    }
  }
  return lines.join('\n');
}

/**
 * Each converted scenario (`<name>-fx`, reporting currency EUR) beside the same request without
 * conversion (`<name>`): the ratio of req/s, and the goal when the scenario has a relative target.
 */
function conversionTable(results: ScenarioResult[]): string[] {
  const pairs = results.flatMap((fx) => {
    const plain = fx.name.endsWith('-fx')
      ? results.find((r) => r.name === fx.name.slice(0, -'-fx'.length))
      : undefined;
    return plain ? [{ fx, plain }] : [];
  });
  if (pairs.length === 0) return [];
  const lines = [
    '',
    '| converted (currency=EUR) | plain req/s | converted req/s | converted/plain | goal | p50 / p99 ms plain | p50 / p99 ms converted |',
    '|---|---:|---:|---:|---|---:|---:|',
  ];
  for (const { fx, plain } of pairs) {
    const ratio = fx.median.rps / plain.median.rps;
    const goal =
      fx.target?.minRatio !== undefined
        ? `≥ ${fmt(fx.target.minRatio, 2)} ${mark(fx.target.met)}`
        : '';
    lines.push(
      `| ${plain.name} | ${fmt(plain.median.rps, 0)} | ${fmt(fx.median.rps, 0)} | ${fmt(ratio, 2)} | ${goal.trim()} | ${fmt(plain.median.p50)} / ${fmt(plain.median.p99)} | ${fmt(fx.median.p50)} / ${fmt(fx.median.p99)} |`,
    );
  }
  return lines;
}

/** Per request kind of the mixed scenarios; with `baseline`, both servers side by side. */
function kindsTable(results: ScenarioResult[], baseline?: ScenarioResult[]): string[] {
  const lines: string[] = [];
  for (const r of results.filter((x) => x.median.kinds)) {
    const b = baseline?.find((x) => x.name === r.name)?.median.kinds;
    lines.push(
      '',
      `| ${r.title}: kind | requests | p50 ms | p99 ms |${b ? ' baseline requests | baseline p50 ms | baseline p99 ms |' : ''}`,
    );
    lines.push(`|---|---:|---:|---:|${b ? '---:|---:|---:|' : ''}`);
    for (const [kind, k] of Object.entries(r.median.kinds ?? {})) {
      const bk = b?.[kind];
      const extra = b
        ? ` ${bk?.requests ?? '-'} | ${fmt(bk?.p50 ?? NaN)} | ${fmt(bk?.p99 ?? NaN)} |`
        : '';
      lines.push(`| ${kind} | ${k.requests} | ${fmt(k.p50)} | ${fmt(k.p99)} |${extra}`);
    }
  }
  return lines;
}

/**
 * Product against baseline, per scenario: the ratio is product req/s over baseline req/s, the
 * share of the ceiling the product reaches on the same data, database and machine.
 */
export function comparison(
  product: ScenarioResult[],
  baseline: ScenarioResult[],
  peakRssMb: { product: number; baseline: number },
): string {
  // App CPU per request tells each server's own cost apart from waiting for a CPU on a busy
  // machine, where req/s of two runs minutes apart can differ for reasons of their own.
  const lines = [
    '| scenario | product req/s | p50 / p99 ms | baseline req/s | p50 / p99 ms | product/baseline | CPU ms/req product / baseline |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const p of product) {
    const b = baseline.find((x) => x.name === p.name);
    if (!b) continue;
    const flag = (r: ScenarioResult) => (r.status === 'FAIL' ? ' FAIL' : '');
    const cpu = `${fmt(p.median.appCpuMsPerRequest, 2)} / ${fmt(b.median.appCpuMsPerRequest, 2)}`;
    lines.push(
      `| ${p.title} | ${fmt(p.median.rps, 0)}${flag(p)} | ${fmt(p.median.p50)} / ${fmt(p.median.p99)} | ${fmt(b.median.rps, 0)}${flag(b)} | ${fmt(b.median.p50)} / ${fmt(b.median.p99)} | ${fmt(p.median.rps / b.median.rps, 2)} | ${cpu} |`,
    );
  }
  lines.push(...kindsTable(product, baseline));
  lines.push('');
  lines.push(
    `Peak RSS (VmHWM): product ${fmt(peakRssMb.product)} MB, baseline ${fmt(peakRssMb.baseline)} MB`,
  );
  return lines.join('\n');
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
