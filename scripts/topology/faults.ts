/**
 * Fault injection through the local topology (scripts/topology/up.sh): starts it on an empty
 * database (three instances at the same moment), runs a steady mixed read/write load through
 * HAProxy, and injects in turn: a rolling restart (SIGTERM each instance, wait until ready), a
 * kill -9 of one instance, stopping the replica, stopping Redis. Afterwards every acknowledged
 * write (a 201 and its id) must be in the database, and the dashboard totals must equal the sums
 * over the rows. Prints a table and exits non-zero when a check fails.
 *
 *   npm run topology:faults              (builds when needed; TOPOLOGY_* ports, see below)
 *
 * It runs its own topology in a temp directory on its own ports (FAULTS_TOPOLOGY_DIR, and the
 * TOPOLOGY_*_PORT variables to move them), so a topology started by hand is left alone.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { markdownTable } from './markdown-table';

const ROOT = resolve(__dirname, '..', '..', '..');
const WORKERS = Number(process.env.FAULTS_WORKERS ?? 6);
const state = process.env.FAULTS_TOPOLOGY_DIR ?? mkdtempSync(join(tmpdir(), 'finance-faults-'));
const ports = {
  TOPOLOGY_PG_PRIMARY_PORT: '25542',
  TOPOLOGY_PG_REPLICA_PORT: '25543',
  TOPOLOGY_PGBOUNCER_PORT: '26542',
  TOPOLOGY_REDIS_PORT: '26579',
  TOPOLOGY_LB_PORT: '3300',
  TOPOLOGY_APP_BASE_PORT: '3300',
};
for (const key of Object.keys(ports) as (keyof typeof ports)[])
  ports[key] = process.env[key] ?? ports[key];
const env = {
  ...process.env,
  ...ports,
  TOPOLOGY_DIR: state,
  TOPOLOGY_INSTANCES: '3',
  // One caller from one address drives the whole load: the limits are not what is tested here.
  THROTTLE_LIMIT: '1000000',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
};
const LB = `http://127.0.0.1:${ports.TOPOLOGY_LB_PORT}`;
const DIRECT = `postgres://finance@127.0.0.1:${ports.TOPOLOGY_PG_PRIMARY_PORT}/finance`;
const REPLICA = `postgres://finance@127.0.0.1:${ports.TOPOLOGY_PG_REPLICA_PORT}/finance`;

/**
 * Rows the replica has read from the tables the read routes query (its own statistics): proof
 * that reads reached it, which no response of the app could fake. The routing's own position
 * polls read no table.
 */
async function rowsReadOnReplica(): Promise<number> {
  const replica = new Client({ connectionString: REPLICA });
  await replica.connect();
  try {
    const { rows } = await replica.query<{ n: string }>(
      `SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::text AS n
       FROM pg_stat_user_tables
       WHERE relname IN ('transactions', 'rollup_daily', 'rollup_monthly', 'rollup_totals')`,
    );
    return Number(rows[0].n);
  } finally {
    await replica.end();
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (line: string) => process.stdout.write(`faults: ${line}\n`);

function topology(script: string, ...args: string[]): void {
  execFileSync('bash', [join(ROOT, 'scripts', 'topology', script), ...args], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    cwd: ROOT,
  });
}

interface Phase {
  fault: string;
  sent: number;
  failed: number;
  /** Failure kinds with their counts: an HTTP status or a network error message. */
  failures: Map<string, number>;
  acknowledged: number;
  /** Acknowledged (201) but not in the database afterwards, or not as acknowledged. */
  lost: number;
  /** The largest number of failures the issue allows for this fault. */
  allowed: number;
  seconds: number;
}

interface Written {
  amount: string;
  type: 'income' | 'expense';
  phase?: Phase;
}

class Load {
  private running = false;
  private workers: Promise<void>[] = [];
  phase!: Phase;
  readonly written = new Map<string, Written>();
  private readonly recent: string[] = [];
  private counter = 0;

  constructor(private readonly token: string) {}

  start(phase: Phase): void {
    this.phase = phase;
    this.running = true;
    this.workers = Array.from({ length: WORKERS }, (_, w) => this.worker(w));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async worker(w: number): Promise<void> {
    for (let i = w; this.running; i++) {
      const op = i % 4;
      if (op === 0) await this.write();
      else if (op === 1) await this.read('/api/v1/transactions?limit=10');
      else if (op === 2) {
        const id = this.recent[Math.floor(Math.random() * this.recent.length)];
        await this.read(id ? `/api/v1/transactions/${id}` : '/api/v1/transactions?limit=1');
      } else await this.read('/api/v1/dashboard/summary');
    }
  }

  private async write(): Promise<void> {
    const n = ++this.counter;
    const body = {
      amount: `${1 + (n % 997)}.${String(n % 100).padStart(2, '0')}`,
      type: n % 3 === 0 ? ('income' as const) : ('expense' as const),
    };
    const res = await this.request('POST', '/api/v1/transactions', {
      ...body,
      category: `Load ${n % 7}`,
      date: `2026-0${1 + (n % 9)}-1${n % 10}`,
    });
    if (res?.status === 201) {
      const { id } = (await res.json()) as { id: string };
      this.written.set(id, { ...body, phase: this.phase });
      this.phase.acknowledged++;
      this.recent.push(id);
      if (this.recent.length > 200) this.recent.shift();
    }
  }

  private async read(path: string): Promise<void> {
    const res = await this.request('GET', path);
    await res?.arrayBuffer();
  }

  /** The response when it is a success, else undefined (the failure is counted). */
  private async request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Response | undefined> {
    const phase = this.phase;
    phase.sent++;
    try {
      const res = await fetch(`${LB}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${this.token}`,
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(15_000),
      });
      if (res.ok) return res;
      await res.arrayBuffer();
      this.fail(phase, `HTTP ${res.status} ${method}`);
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      this.fail(phase, `${cause ?? (error as Error).name} ${method}`);
    }
    return undefined;
  }

  private fail(phase: Phase, kind: string): void {
    phase.failed++;
    phase.failures.set(kind, (phase.failures.get(kind) ?? 0) + 1);
  }
}

function newPhase(fault: string, allowed: number): Phase {
  return {
    fault,
    sent: 0,
    failed: 0,
    failures: new Map(),
    acknowledged: 0,
    lost: 0,
    allowed,
    seconds: 0,
  };
}

/** Runs ctl.sh without blocking: the load keeps running while an instance stops and starts. */
function ctl(...args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [join(ROOT, 'scripts', 'topology', 'ctl.sh'), ...args], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      cwd: ROOT,
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise()
        : reject(new Error(`ctl.sh ${args.join(' ')} exited with ${code}`)),
    );
  });
}

async function main(): Promise<number> {
  const checks: { check: string; ok: boolean; detail: string }[] = [];
  log(`topology in ${state}, load balancer ${LB}, ${WORKERS} load workers`);
  let started = false;
  let failed = false;
  try {
    // 1. Three instances started at the same moment on an empty database (up.sh starts them
    //    together and fails unless every one becomes ready).
    const t0 = Date.now();
    started = true; // from here on the state directory is ours to remove
    topology('up.sh');
    const startSeconds = (Date.now() - t0) / 1000;
    const db = new Client({ connectionString: DIRECT });
    await db.connect();
    const migrations = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM migrations'))
      .rows[0].n;
    checks.push({
      check: 'three instances started together on an empty database all become ready',
      ok: true,
      detail: `3 of 3 ready, ${migrations} migrations applied once, topology up in ${startSeconds.toFixed(1)} s`,
    });

    const email = readFileSync(join(state, 'secrets', 'admin-email'), 'utf8').trim();
    const password = readFileSync(join(state, 'secrets', 'admin-password'), 'utf8').trim();
    const login = await fetch(`${LB}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    if (login.status !== 200) throw new Error(`login through ${LB} failed: ${login.status}`);
    const { accessToken } = (await login.json()) as { accessToken: string };

    const load = new Load(accessToken);
    const phases: Phase[] = [];
    const run = async (phase: Phase, inject: () => Promise<void>) => {
      log(`${phase.fault} ...`);
      const began = Date.now();
      load.phase = phase;
      await sleep(1_000);
      await inject();
      await sleep(2_000);
      phase.seconds = (Date.now() - began) / 1000;
      phases.push(phase);
    };

    load.start(newPhase('warm-up', Infinity));
    await sleep(2_000);
    const readBefore = await rowsReadOnReplica();
    await run(newPhase('none (steady load)', 0), () => sleep(4_000));
    const readOnReplica = (await rowsReadOnReplica()) - readBefore;
    checks.push({
      check: 'reads reach the replica (its pg_stat_user_tables, during the steady load)',
      ok: readOnReplica > 0,
      detail: `${readOnReplica} table rows read on the replica`,
    });
    await run(newPhase('rolling restart (SIGTERM each instance, wait ready)', 0), async () => {
      for (const i of ['1', '2', '3']) {
        await ctl('instance-stop', i, 'TERM');
        await ctl('instance-start', i);
        // HAProxy takes it back after two good checks (rise 2, inter 1s).
        await sleep(2_500);
      }
    });
    // At most what was in flight on the killed instance: one request per worker.
    await run(newPhase('kill -9 of one instance', WORKERS), async () => {
      await ctl('instance-stop', '2', 'KILL');
      await sleep(4_000);
      await ctl('instance-start', '2');
      await sleep(2_500);
    });
    await run(newPhase('replica stopped (reads move to the primary)', 0), async () => {
      await ctl('replica-stop');
      await sleep(5_000);
      await ctl('replica-start');
    });
    await run(newPhase('Redis stopped (limits fail open, reads to the primary)', 0), async () => {
      await ctl('redis-stop');
      await sleep(5_000);
      await ctl('redis-start');
    });
    await load.stop();

    // 2. Every acknowledged write is in the database, as acknowledged.
    const ids = [...load.written.keys()];
    const { rows } = await db.query<{ id: string; amount: string; type: string }>(
      'SELECT id, amount::text AS amount, type FROM transactions WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL',
      [ids],
    );
    const found = new Map(rows.map((r) => [r.id, r]));
    let lost = 0;
    for (const [id, w] of load.written) {
      const row = found.get(id);
      if (!row || row.amount !== w.amount || row.type !== w.type) {
        lost++;
        if (w.phase) w.phase.lost++;
      }
    }

    // 3. The dashboard's totals (through HAProxy, as the writer: read-your-writes applies) equal
    //    the sums over the rows.
    const summaryRes = await fetch(`${LB}/api/v1/dashboard/summary`, {
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    const summary = (await summaryRes.json()) as Record<string, unknown>;
    const sums = (
      await db.query<Record<string, unknown>>(
        `SELECT coalesce(sum(amount) FILTER (WHERE type = 'income'), 0)::numeric(20,2)::text AS "totalIncome",
                coalesce(sum(amount) FILTER (WHERE type = 'expense'), 0)::numeric(20,2)::text AS "totalExpenses",
                count(*)::int AS "transactionCount"
         FROM transactions WHERE deleted_at IS NULL`,
      )
    ).rows[0];
    await db.end();
    const totalsMatch =
      summaryRes.status === 200 &&
      ['totalIncome', 'totalExpenses', 'transactionCount'].every((k) => summary[k] === sums[k]);
    checks.push({
      check: 'every acknowledged write is in the database',
      ok: lost === 0,
      detail: `${ids.length} acknowledged, ${lost} lost`,
    });
    checks.push({
      check: 'dashboard summary totals equal the sums over the rows',
      ok: totalsMatch,
      detail: `dashboard ${JSON.stringify(summary)} / rows ${JSON.stringify(sums)}`,
    });
    for (const p of phases) {
      checks.push({
        check: `${p.fault}: failed requests within what is allowed`,
        ok: p.failed <= p.allowed,
        detail: `${p.failed} failed, at most ${p.allowed} allowed${p.failures.size ? ` (${[...p.failures].map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''}`,
      });
    }

    printTable(phases);
    process.stdout.write('\n');
    for (const c of checks)
      process.stdout.write(`${c.ok ? 'PASS' : 'FAIL'}  ${c.check}: ${c.detail}\n`);
    failed = !checks.every((c) => c.ok);
    return failed ? 1 : 0;
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    if (started) {
      // Kept after a failure (or with FAULTS_KEEP=1): the logs say what went wrong.
      const keep = failed || process.env.FAULTS_KEEP === '1';
      try {
        topology('down.sh', ...(keep ? [] : ['--purge']));
      } catch (error) {
        log(`topology:down failed: ${String(error)}`);
      }
      if (keep) log(`state and logs kept in ${state} (logs/app-N.log, haproxy.log, ...)`);
    }
  }
}

function printTable(phases: Phase[]): void {
  const header = [
    'fault',
    'requests sent',
    'failed',
    'acknowledged writes',
    'acknowledged writes lost',
  ];
  const rows = phases.map((p) => [
    `${p.fault} (${p.seconds.toFixed(0)} s)`,
    String(p.sent),
    String(p.failed),
    String(p.acknowledged),
    String(p.lost),
  ]);
  process.stdout.write(`\n${markdownTable(header, rows)}\n`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `faults: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
