import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from './ports';

/**
 * A private PostgreSQL primary and a streaming replica of it (initdb, pg_basebackup), in a temp
 * directory on free ports: what the read-replica tests need, built the way
 * scripts/topology/up.sh builds the topology's pair. As root the servers run as the `postgres`
 * OS user (PostgreSQL refuses root).
 */
export const PG_BIN = process.env.TEST_PG_BIN ?? packagedServerBinaries();

/** Debian and Ubuntu keep them off PATH in /usr/lib/postgresql/NN/bin: 15 if present, else the newest. */
function packagedServerBinaries(): string {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'pg_basebackup')))
        .map(Number)
        .sort((a, b) => a - b)
    : [];
  const major = majors.includes(15) ? 15 : majors.at(-1);
  return join(base, String(major ?? 15), 'bin');
}

/** Why the pair cannot be built here, or undefined when it can. */
export function replicaPairUnavailable(): string | undefined {
  for (const bin of ['initdb', 'pg_ctl', 'pg_basebackup', 'postgres']) {
    if (!existsSync(join(PG_BIN, bin))) return `${join(PG_BIN, bin)} not found (TEST_PG_BIN)`;
  }
  if (process.getuid?.() === 0) {
    try {
      execFileSync('id', ['postgres'], { stdio: 'ignore' });
    } catch {
      return 'running as root needs the postgres OS user to run the servers';
    }
  }
  return undefined;
}

export interface ReplicaPair {
  primaryUrl: string;
  replicaUrl: string;
  /** Stops the replica at once (`pg_ctl -m immediate`), as a crash would. */
  stopReplica(): void;
  startReplica(): void;
  /** Runs SQL on the replica as the superuser (pg_wal_replay_pause() and friends). */
  onReplica(sql: string): Promise<unknown[]>;
  destroy(): void;
}

export async function startReplicaPair(
  database: string,
  { applyDelayMs }: { applyDelayMs: number },
): Promise<ReplicaPair> {
  const root = mkdtempSync(join(tmpdir(), 'finance-replica-pair-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(root, uid, gid);
    chmodSync(root, 0o700);
  }
  const run = (bin: string, args: string[]) =>
    execFileSync(
      asRoot ? 'runuser' : join(PG_BIN, bin),
      asRoot ? ['-u', 'postgres', '--', join(PG_BIN, bin), ...args] : args,
      { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
    );
  const primary = join(root, 'primary');
  const replica = join(root, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const settings = [
    "listen_addresses = '127.0.0.1'",
    "unix_socket_directories = ''",
    // A throwaway cluster: durability is not what is tested, speed is welcome.
    'fsync = off',
    'full_page_writes = off',
    'wal_level = replica',
    'max_wal_senders = 4',
    'hot_standby = on',
  ];
  const pgCtl = (dir: string, port: number, action: string, ...extra: string[]) =>
    run('pg_ctl', [
      '-D',
      dir,
      '-l',
      `${dir}.log`,
      '-o',
      `-p ${port}`,
      '-w',
      '-t',
      '60',
      ...extra,
      action,
    ]);

  run('initdb', [
    '-D',
    primary,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  appendFileSync(join(primary, 'postgresql.conf'), `\n${settings.join('\n')}\n`);
  pgCtl(primary, primaryPort, 'start');
  const server = `postgres://postgres@127.0.0.1:${primaryPort}`;
  const admin = new Client({ connectionString: `${server}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();

  run('pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primaryPort),
    '-U',
    'postgres',
    '-D',
    replica,
    '-R',
    '-X',
    'stream',
    '-c',
    'fast',
    '--no-sync',
  ]);
  // The replica applies each transaction this long after the primary committed it: a read that
  // wrongly lands on it right after a write cannot see the write.
  appendFileSync(
    join(replica, 'postgresql.conf'),
    `recovery_min_apply_delay = '${applyDelayMs}ms'\n`,
  );
  const startReplica = () => pgCtl(replica, replicaPort, 'start');
  startReplica();

  return {
    primaryUrl: `${server}/${database}`,
    replicaUrl: `postgres://postgres@127.0.0.1:${replicaPort}/${database}`,
    stopReplica: () => pgCtl(replica, replicaPort, 'stop', '-m', 'immediate'),
    startReplica,
    onReplica: async (sql) => {
      const c = new Client({
        connectionString: `postgres://postgres@127.0.0.1:${replicaPort}/postgres`,
      });
      await c.connect();
      try {
        return (await c.query(sql)).rows;
      } finally {
        await c.end();
      }
    },
    destroy: () => {
      for (const [dir, port] of [
        [replica, replicaPort],
        [primary, primaryPort],
      ] as const) {
        try {
          pgCtl(dir, port, 'stop', '-m', 'immediate');
        } catch {
          // already stopped
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
