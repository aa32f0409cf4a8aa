import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCENARIOS } from './scenarios';

export interface Options {
  duration: number;
  passes: number;
  connections: number;
  warmup: number;
  depth: number;
  single: number;
  only?: string[];
  cpuProf: boolean;
  /** Run every scenario against the baseline server too, after the product. */
  baseline: boolean;
  /** Only compare the product's and the baseline's answers; no load. */
  check: boolean;
  /** The product's LOG_LEVEL (default warn; `info` is what users run, with a line per request). */
  logLevel: string;
}

export function parseOptions(): Options {
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
      baseline: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'warn' },
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
  // `batch` is the bulk-write comparison (bench/batch.ts), run after the scenarios.
  const unknown =
    only?.filter((name) => name !== 'batch' && !SCENARIOS.some((s) => s.name === name)) ?? [];
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
    baseline: values.baseline || values.check,
    check: values.check,
    logLevel: values['log-level'],
  };
}

/** Warns when src/ changed after the last build of the app: the bench would measure stale code. */
export function warnIfStale(root: string): void {
  const built = statSync(join(root, 'dist/src/main.js'), { throwIfNoEntry: false });
  if (!built) throw new Error('dist/src/main.js is missing: run `npm run build` first');
  const newest = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, 'src', f))
    .reduce((max, f) => Math.max(max, statSync(f).mtimeMs), 0);
  if (newest > built.mtimeMs) {
    console.warn(
      'warning: src/ is newer than dist/; run `npm run build` to measure the current code',
    );
  }
}
