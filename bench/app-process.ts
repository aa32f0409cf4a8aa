import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A fixed 40-character secret: tokens and cursors only need to be valid for this run. */
export const BENCH_JWT_SECRET = 'bench-jwt-secret-not-for-production-0040';

export interface AppProcess {
  baseUrl: string;
  pid: number;
  logFile: string;
  rss: RssSampler;
  stop(): Promise<void>;
}

/**
 * Starts the built app (dist/src/main.js) the way production runs it, against `databaseUrl`,
 * and resolves once /health/ready answers 200. Its output goes to `logFile`. With `script`, it
 * starts that file instead (the baseline server), with the same node flags and `env` added.
 */
export async function startApp(options: {
  root: string;
  port: number;
  databaseUrl: string;
  logFile: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Relative to root; default dist/src/main.js. */
  script?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<AppProcess> {
  const script = options.script ?? 'dist/src/main.js';
  const log = createWriteStream(options.logFile);
  const child: ChildProcess = spawn(
    process.execPath,
    [...productionNodeFlags(options.root), ...(options.nodeArgs ?? []), join(options.root, script)],
    {
      cwd: options.root,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: String(options.port),
        DATABASE_URL: options.databaseUrl,
        JWT_SECRET: BENCH_JWT_SECRET,
        // Long enough for a full run (14 scenarios x 3 passes x 10 s plus warm-up).
        JWT_ACCESS_TTL: '4h',
        LOG_LEVEL: 'warn',
        // The limiter must never answer 429 during a run: ~2,000 req/s x 60 s stays far below this.
        THROTTLE_LIMIT: '1000000',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  const baseUrl = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(
        `${script} exited with code ${exitCode} before it was ready; see ${options.logFile}`,
      );
    }
    try {
      const res = await fetch(`${baseUrl}/health/ready`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${script} was not ready after 120 s; see ${options.logFile}`);
    }
    await sleep(250);
  }

  const pid = child.pid!;
  const rss = new RssSampler(pid);
  return {
    baseUrl,
    pid,
    logFile: options.logFile,
    rss,
    async stop() {
      rss.stop();
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const timeout = sleep(15_000).then(() => 'timeout' as const);
      if ((await Promise.race([exited, timeout])) === 'timeout') {
        console.warn(`${script} did not stop within 15 s of SIGTERM; killing it`);
        child.kill('SIGKILL');
        await exited;
      }
      log.end();
    },
  };
}

/** The node flags of `npm run start:prod` (the heap limits), so the bench runs what production runs. */
function productionNodeFlags(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return pkg.scripts['start:prod'].split(/\s+/).filter((arg) => arg.startsWith('--'));
}

/**
 * Samples /proc/<pid>/status every `everyMs` (default 250 ms). VmHWM is the kernel's own
 * high-water mark of the resident set, so the overall peak is exact even between samples;
 * per-window peaks use VmRSS.
 */
export class RssSampler {
  private readonly timer: NodeJS.Timeout;
  private windowPeakKb = 0;
  private hwmKb = 0;

  constructor(
    private readonly pid: number,
    everyMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  /** Starts a new window; returns the peak VmRSS (MB) of the window that ends. */
  window(): number {
    this.sample();
    const peak = this.windowPeakKb;
    this.windowPeakKb = 0;
    return kbToMb(peak);
  }

  /** The resident set now (VmRSS), in MB. */
  currentMb(): number {
    return kbToMb(this.read()?.rss ?? 0);
  }

  /** Peak resident set of the app since it started (VmHWM), in MB. */
  peakMb(): number {
    this.sample();
    return kbToMb(this.hwmKb);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * CPU time (user + system) the app has used so far, in ms. Per request, it tells the app's own
   * cost apart from waiting for a CPU on a shared machine.
   */
  cpuMs(): number {
    try {
      // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    } catch {
      return NaN;
    }
  }

  private sample(): void {
    const now = this.read();
    if (!now) return;
    this.windowPeakKb = Math.max(this.windowPeakKb, now.rss);
    this.hwmKb = Math.max(this.hwmKb, now.hwm, now.rss);
  }

  private read(): { rss: number; hwm: number } | undefined {
    let status: string;
    try {
      status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    } catch {
      return undefined; // gone, or not Linux
    }
    return {
      rss: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0),
      hwm: Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0),
    };
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const kbToMb = (kb: number) => Math.round((kb / 1024) * 10) / 10;
