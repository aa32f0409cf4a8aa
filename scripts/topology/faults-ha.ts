/**
 * Fault injection through the HA topology (scripts/topology/up-ha.sh): Patroni on three
 * PostgreSQL nodes with etcd, HAProxy routing to the leader, PgBouncer, three app instances. A
 * steady load of FAULTS_WRITERS workers (each alternating a write and a read) runs through the
 * app's HAProxy while, in turn: the leader is killed (kill -9 of its Patroni and postmaster), the
 * leader is partitioned from etcd, a planned switchover, a standby is killed, etcd is killed.
 * After each fault the cluster is repaired and must be whole again before the next one.
 *
 * Per row: requests sent, failed, acknowledged writes, acknowledged writes lost (must be 0), the
 * seconds from the fault to the first acknowledged write after the pause it caused, and to every
 * instance answering /health/ready 200 again. Every failure must be a 503 problem+json with
 * Retry-After (never a 500, never a reset). Prints the table; exits non-zero when a check fails.
 *
 *   npm run topology:faults -- --ha       (own temp directory; ports from 27100 and 3700)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { markdownTable } from './markdown-table';

const ROOT = resolve(__dirname, '..', '..', '..');
const WRITERS = Number(process.env.FAULTS_WRITERS ?? 8);
const state = process.env.FAULTS_TOPOLOGY_DIR ?? mkdtempSync(join(tmpdir(), 'finance-faults-ha-'));
const HA_BASE = Number(process.env.TOPOLOGY_HA_BASE_PORT ?? 27100);
const LB_PORT = Number(process.env.TOPOLOGY_LB_PORT ?? 3700);
const INSTANCES = 3;
const env = {
  ...process.env,
  TOPOLOGY_DIR: state,
  TOPOLOGY_HA_BASE_PORT: String(HA_BASE),
  TOPOLOGY_LB_PORT: String(LB_PORT),
  TOPOLOGY_APP_BASE_PORT: String(LB_PORT),
  TOPOLOGY_INSTANCES: String(INSTANCES),
  THROTTLE_LIMIT: '1000000',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
};
const LB = `http://127.0.0.1:${LB_PORT}`;
const LEADER_URL = `postgres://finance@127.0.0.1:${HA_BASE + 30}/finance`;
/** The longest a fault may take to heal before the run gives up on it. */
const RECOVERY_LIMIT_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (line: string) =>
  process.stdout.write(`faults-ha: ${new Date().toISOString().slice(11, 19)} ${line}\n`);

/** up-ha.sh and down-ha.sh, their output shown. */
function topology(name: string, ...args: string[]): void {
  execFileSync('bash', [join(ROOT, 'scripts', 'topology', name), ...args], {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    cwd: ROOT,
  });
}

function script(name: string, ...args: string[]): string {
  return execFileSync('bash', [join(ROOT, 'scripts', 'topology', name), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: ROOT,
    encoding: 'utf8',
  });
}
const ctl = (...args: string[]) => script('ctl-ha.sh', ...args).trim();

interface Row {
  fault: string;
  sent: number;
  failed: number;
  failures: Map<string, number>;
  acknowledged: number;
  lost: number;
  /** Fault → first acknowledged write after the longest pause in acknowledgements (s). */
  writing?: number;
  /** Fault → every instance ready again, after one was not (s); 0: none stopped being ready. */
  ready?: number;
  faultAt: number;
  acks: number[];
  /** The leading node before the fault and once writing again ("node2 → node3"). */
  leader?: string;
  /** The longest any request of the row took to be answered, successful or not (ms). */
  slowest: number;
}

interface Written {
  amount: string;
  type: 'income' | 'expense';
  row: Row;
}

class Load {
  private running = false;
  private workers: Promise<void>[] = [];
  row!: Row;
  readonly written = new Map<string, Written>();
  private counter = 0;

  constructor(private readonly token: string) {}

  start(row: Row): void {
    this.row = row;
    this.running = true;
    this.workers = Array.from({ length: WRITERS }, () => this.worker());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async worker(): Promise<void> {
    while (this.running) {
      await this.write();
      await this.request('GET', '/api/v1/transactions?limit=10');
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
    if (res) {
      const { id } = JSON.parse(res) as { id: string };
      const row = this.row;
      this.written.set(id, { ...body, row });
      row.acknowledged++;
      row.acks.push(Date.now());
    }
  }

  /** The body of a 2xx, else undefined (the failure is counted by kind). */
  private async request(method: string, path: string, body?: unknown): Promise<string | undefined> {
    const row = this.row;
    row.sent++;
    const began = Date.now();
    try {
      const res = await fetch(`${LB}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${this.token}`,
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      row.slowest = Math.max(row.slowest, Date.now() - began);
      if (res.ok) return text;
      const problem =
        res.status === 503 &&
        res.headers.get('retry-after') !== null &&
        (res.headers.get('content-type') ?? '').startsWith('application/problem+json');
      this.fail(
        row,
        `HTTP ${res.status}${res.status === 503 && !problem ? ' (not problem+json with Retry-After)' : ''} ${method}`,
      );
    } catch (error) {
      row.slowest = Math.max(row.slowest, Date.now() - began);
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      this.fail(row, `${cause ?? (error as Error).name} ${method}`);
    }
    return undefined;
  }

  private fail(row: Row, kind: string): void {
    row.failed++;
    row.failures.set(kind, (row.failures.get(kind) ?? 0) + 1);
  }
}

const newRow = (fault: string): Row => ({
  fault,
  sent: 0,
  failed: 0,
  failures: new Map(),
  acknowledged: 0,
  lost: 0,
  faultAt: 0,
  acks: [],
  slowest: 0,
});

/** Every instance answers /health/ready 200. */
async function allReady(): Promise<boolean> {
  const answers = await Promise.all(
    Array.from({ length: INSTANCES }, (_, i) =>
      fetch(`http://127.0.0.1:${LB_PORT + i + 1}/health/ready`, {
        signal: AbortSignal.timeout(3_000),
      })
        .then((r) => r.status === 200)
        .catch(() => false),
    ),
  );
  return answers.every(Boolean);
}

/**
 * Watches readiness from the fault on: resolves with the seconds until every instance is ready
 * again after one was not (0 when none ever stopped being ready within `quietMs`).
 */
async function watchReady(row: Row, quietMs: number): Promise<number> {
  let wentDown = false;
  while (Date.now() - row.faultAt < RECOVERY_LIMIT_MS) {
    const ok = await allReady();
    if (!ok) wentDown = true;
    else if (wentDown) return (Date.now() - row.faultAt) / 1000;
    else if (Date.now() - row.faultAt > quietMs) return 0;
    await sleep(200);
  }
  throw new Error(
    `${row.fault}: instances not all ready ${RECOVERY_LIMIT_MS / 1000} s after the fault`,
  );
}

/** Waits until writes are acknowledged again, then measures the longest pause after the fault. */
async function watchWriting(row: Row): Promise<number> {
  for (;;) {
    const last = row.acks[row.acks.length - 1];
    // Acknowledged writes for 3 s after the last pause: writing again.
    if (last !== undefined && last > row.faultAt && hasSteadyAcks(row, 3_000)) break;
    if (Date.now() - row.faultAt > RECOVERY_LIMIT_MS)
      throw new Error(
        `${row.fault}: no acknowledged write ${RECOVERY_LIMIT_MS / 1000} s after the fault`,
      );
    await sleep(200);
  }
  let previous = row.faultAt;
  let longest = 0;
  let end = row.faultAt;
  for (const at of row.acks) {
    if (at < row.faultAt) continue;
    if (at - previous > longest) {
      longest = at - previous;
      end = at;
    }
    previous = at;
  }
  return (end - row.faultAt) / 1000;
}

function hasSteadyAcks(row: Row, ms: number): boolean {
  const now = Date.now();
  const recent = row.acks.filter((at) => at > row.faultAt && at > now - ms);
  if (recent.length === 0 || now - recent[0] < ms - 1_000) return false;
  // no gap over 1 s in the last `ms`
  for (let i = 1; i < recent.length; i++) if (recent[i] - recent[i - 1] > 1_000) return false;
  return now - recent[recent.length - 1] < 1_000;
}

async function main(): Promise<number> {
  const checks: { check: string; ok: boolean; detail: string }[] = [];
  log(`topology in ${state}, load balancer ${LB}, ${WRITERS} writers`);
  let failed = false;
  try {
    const t0 = Date.now();
    // A start that fails on a loaded machine (a timeout) is tried once more, from nothing.
    try {
      topology('up-ha.sh');
    } catch (error) {
      log(`the HA topology did not start (${String(error)}); once more, from nothing`);
      topology('down-ha.sh', '--purge');
      await sleep(5_000);
      topology('up-ha.sh');
    }
    log(`HA topology up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
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
    const rows: Row[] = [];
    /** inject: the fault; repair: afterwards, once writing and ready again. */
    const run = async (
      row: Row,
      inject: () => Promise<void> | void,
      repair: () => Promise<void> | void = () => undefined,
      quietMs = 8_000,
    ) => {
      log(`${row.fault} ...`);
      load.row = row;
      await sleep(2_000);
      const before = ctl('leader');
      row.faultAt = Date.now();
      const watching = Promise.all([watchReady(row, quietMs), watchWriting(row)]);
      await inject();
      const [ready, writing] = await watching;
      row.ready = ready;
      row.writing = writing;
      const after = ctl('leader');
      row.leader = before === after ? `node${before}` : `node${before} → node${after || '?'}`;
      log(
        `${row.fault}: writing again after ${writing.toFixed(1)} s, ready after ${ready.toFixed(1)} s`,
      );
      await repair();
      ctl('wait-healthy', '120');
      await sleep(2_000);
      rows.push(row);
    };

    load.start(newRow('warm-up'));
    await sleep(3_000);
    await run(newRow('none (steady load)'), () => undefined, undefined, 3_000);

    let victim = '';
    await run(
      newRow('primary killed (kill -9 of its Patroni and postmaster)'),
      () => {
        victim = ctl('leader');
        ctl('node-kill', victim);
      },
      () => void ctl('node-start', victim),
    );
    await run(
      newRow('primary partitioned from etcd (its relay cut for 20 s)'),
      async () => {
        victim = ctl('leader');
        ctl('etcd-cut', victim);
        await sleep(20_000);
      },
      () => void ctl('etcd-heal', victim),
      25_000,
    );
    await run(newRow('switchover (planned, patronictl)'), () => void ctl('switchover'));
    await run(
      newRow('synchronous standby killed (kill -9), restarted once writing'),
      () => {
        victim = syncStandby();
        ctl('node-kill', victim);
      },
      () => void ctl('node-start', victim),
    );
    await run(
      newRow('etcd killed (kill -9) for 20 s'),
      async () => {
        ctl('etcd-stop');
        await sleep(20_000);
        ctl('etcd-start');
      },
      undefined,
      25_000,
    );
    await load.stop();

    // Every acknowledged write is on the leader, as acknowledged.
    const db = new Client({ connectionString: LEADER_URL });
    await db.connect();
    const ids = [...load.written.keys()];
    const { rows: found } = await db.query<{ id: string; amount: string; type: string }>(
      'SELECT id, amount::text AS amount, type FROM transactions WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL',
      [ids],
    );
    await db.end();
    const byId = new Map(found.map((r) => [r.id, r]));
    let lost = 0;
    for (const [id, w] of load.written) {
      const r = byId.get(id);
      if (!r || r.amount !== w.amount || r.type !== w.type) {
        lost++;
        w.row.lost++;
      }
    }
    checks.push({
      check: 'every acknowledged write is in the database',
      ok: lost === 0,
      detail: `${ids.length} acknowledged, ${lost} lost`,
    });
    for (const r of rows) {
      const bad = [...r.failures].filter(([kind]) => !/^HTTP 503 (GET|POST)$/.test(kind));
      checks.push({
        check: `${r.fault}: every failure is a 503 problem+json with Retry-After`,
        ok: bad.length === 0,
        detail: `${r.failed} failed${r.failures.size ? ` (${[...r.failures].map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''}`,
      });
    }
    printTable(rows);
    process.stdout.write('\n');
    for (const c of checks)
      process.stdout.write(`${c.ok ? 'PASS' : 'FAIL'}  ${c.check}: ${c.detail}\n`);
    failed = !checks.every((c) => c.ok);
    return failed ? 1 : 0;
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    const keep = failed || process.env.FAULTS_KEEP === '1';
    try {
      execFileSync(
        'bash',
        [join(ROOT, 'scripts', 'topology', 'down-ha.sh'), ...(keep ? [] : ['--purge'])],
        {
          env,
          stdio: ['ignore', 'inherit', 'inherit'],
          cwd: ROOT,
        },
      );
    } catch (error) {
      log(`topology:down failed: ${String(error)}`);
    }
    if (keep) log(`state and logs kept in ${state}`);
  }
}

/** The node number of the synchronous standby (Patroni's /cluster). */
function syncStandby(): string {
  for (let n = 1; n <= 3; n++) {
    try {
      const json = execFileSync(
        'curl',
        ['-fs', '--max-time', '2', `http://127.0.0.1:${HA_BASE + 20 + n}/cluster`],
        {
          encoding: 'utf8',
        },
      );
      const members = (JSON.parse(json) as { members: { name: string; role: string }[] }).members;
      const sync = members.find((m) => m.role === 'sync_standby');
      if (sync) return sync.name.replace('node', '');
    } catch {
      // this node's API does not answer: ask the next
    }
  }
  throw new Error('no synchronous standby');
}

function printTable(rows: Row[]): void {
  const header = [
    'fault',
    'requests sent',
    'failed',
    'acknowledged writes',
    'acknowledged writes lost',
    'fault → writing (s)',
    'fault → ready (s)',
    'slowest request (s)',
    'leader',
  ];
  const cells = rows.map((r) => [
    r.fault,
    String(r.sent),
    String(r.failed),
    String(r.acknowledged),
    String(r.lost),
    (r.writing ?? 0).toFixed(1),
    r.ready ? r.ready.toFixed(1) : '— (stayed ready)',
    (r.slowest / 1000).toFixed(1),
    r.leader ?? '',
  ]);
  process.stdout.write(`\n${markdownTable(header, cells)}\n`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `faults-ha: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
