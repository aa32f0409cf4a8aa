import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Pool, type PoolClient } from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import { currentRequest } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import { type Queryable, query } from '../sql';
import { SESSION_OPTIONS } from '../data-source-options';
import { guardPool, inClientTransaction, poolReads } from '../transaction';
import {
  type CallerPositions,
  MemoryCallerPositions,
  positionTtlMs,
  RedisCallerPositions,
} from './caller-positions';
import { parseLsn } from './lsn';

/** How often each instance reads the primary's WAL position and each replica's replay position. */
const POLL_MS = 100;

const READ_SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

interface Replica {
  label: string;
  pool: Pool;
  /** A separate connection for the position poll, so a replica busy with reads is still seen. */
  probe: Pool;
  up: boolean;
  /** What the last poll saw replayed; replay only moves forward, so this is a safe lower bound. */
  replayed: bigint;
  lagMs: number;
}

/**
 * Where the read-only routes read (docs/api.md section 13). The one place that decides; repositories
 * ask `reader()` (or `readSnapshot()` for a stream) in their read paths and stay unaware of
 * replicas. A read goes to a replica only when all of these hold, else to the primary:
 *
 * - the request has an authenticated caller (anything else reads the primary);
 * - the replica answered the last poll and is at most REPLICA_MAX_LAG_MS behind;
 * - the replica has replayed the caller's last write: after every write request the primary's
 *   WAL position is stored for the caller (ReadYourWritesInterceptor), in Redis when set, so the
 *   next read may land on any instance; a position that cannot be looked up means the primary.
 *
 * A replica query that fails is run again on the primary (reads are repeatable), so a replica
 * going away costs a retry, never an error.
 */
@Injectable()
export class ReadRouting implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ReadRouting');
  private readonly replicas: Replica[];
  private readonly positions: CallerPositions;
  private readonly maxLagMs: number;
  /** Primary WAL positions and when they were read: how far behind a replica's replay is. */
  private samples: { at: number; lsn: bigint }[] = [];
  /**
   * Every caller's reads need at least this position: raised when the shared position store
   * (re)connects, since positions written while it was away, or before it restarted empty, are lost.
   */
  private floor = 0n;
  private timer?: NodeJS.Timeout;
  private turn = 0;
  private readonly decided = new WeakMap<object, Promise<Replica | undefined>>();

  /** Reads on the primary, on its pool directly (see poolReads); prepared ones as well. */
  private readonly primaryReads: Queryable;
  private readonly preparedReads: Queryable;

  constructor(
    config: AppConfig,
    @InjectDataSource() private readonly primary: DataSource,
  ) {
    this.primaryReads = poolReads(primary, false);
    // DATABASE_DIRECT_URL set: DATABASE_URL is a transaction pooler, where a prepared statement
    // would outlive its session. Replica reads stay unprepared: a replica URL may be one too.
    this.preparedReads = poolReads(primary, !config.databaseDirectUrl);
    this.maxLagMs = config.replicaMaxLagMs;
    this.replicas = config.databaseReplicaUrls.map((url, i) => {
      const options = {
        connectionString: url,
        application_name: 'finance-api',
        statement_timeout: config.dbStatementTimeoutMs,
        options: SESSION_OPTIONS,
        // A replica that does not answer quickly is skipped for the primary, not waited for.
        connectionTimeoutMillis: Math.min(config.dbPoolTimeoutMs, 1_000),
      };
      const replica: Replica = {
        label: `replica ${i + 1} (${new URL(url).host})`,
        pool: new Pool({ ...options, max: config.dbPoolMax }),
        probe: new Pool({ ...options, max: 1 }),
        up: false,
        replayed: 0n,
        lagMs: Infinity,
      };
      // A pooled connection the replica drops while idle must not crash the process.
      for (const pool of [replica.pool, replica.probe]) pool.on('error', () => undefined);
      guardPool(replica.pool);
      return replica;
    });
    const ttl = positionTtlMs(this.maxLagMs);
    this.positions =
      this.enabled && config.redisUrl
        ? new RedisCallerPositions(config.redisUrl, ttl, () => this.raiseFloor())
        : new MemoryCallerPositions(ttl);
  }

  get enabled(): boolean {
    return this.replicas.length > 0;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    const tick = () => {
      void this.poll().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, POLL_MS).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.positions.close();
    await Promise.all(this.replicas.flatMap((r) => [r.pool.end(), r.probe.end()]));
  }

  /**
   * Where a read-only route's query runs: a replica when safe (see the class comment), else the
   * primary. `prepare` is for statements whose best plan does not depend on their parameters'
   * values (the dashboards' rollup reads): on the primary they run as prepared statements and may
   * keep a generic plan instead of being planned each time. Never for a filter whose selectivity
   * varies with its value (a search term, a date range over the transactions): a generic plan
   * could be far worse for some values.
   */
  async reader({ prepare = false }: { prepare?: boolean } = {}): Promise<Queryable> {
    const replica = await this.choose();
    if (!replica) return prepare ? this.preparedReads : this.primaryReads;
    return { query: (sql, params) => this.onReplica(replica, sql, params) };
  }

  /** A read-only snapshot on one connection (an export's cursor), on a replica when safe. */
  async readSnapshot<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const replica = await this.choose();
    if (replica) {
      let started = false;
      try {
        return await inClientTransaction(replica.pool, READ_SNAPSHOT, (client) => {
          started = true;
          return fn(client);
        });
      } catch (error) {
        // Once rows have gone out, a retry elsewhere would repeat them.
        if (started) throw error;
        this.failed(replica, error);
      }
    }
    return inClientTransaction(this.primary, READ_SNAPSHOT, fn);
  }

  /** After a write has committed: these users' reads stay on the primary until a replica is past it. */
  async noteWrite(userIds: string[]): Promise<void> {
    if (!this.enabled) return;
    const position = await this.primaryPosition();
    await Promise.all([...new Set(userIds)].map((id) => this.positions.raise(id, position)));
  }

  /** Decided once per request: its queries (a page and its count) read from one place. */
  private choose(): Promise<Replica | undefined> {
    const request = currentRequest();
    if (!this.enabled || !request?.callerId) return Promise.resolve(undefined);
    let decided = this.decided.get(request);
    if (!decided) {
      decided = this.decide(request.callerId);
      this.decided.set(request, decided);
    }
    return decided.then((replica) => (replica?.up ? replica : undefined));
  }

  private async decide(callerId: string): Promise<Replica | undefined> {
    const usable = this.replicas.filter((r) => r.up && r.lagMs <= this.maxLagMs);
    if (usable.length === 0) return undefined;
    let needed: bigint;
    try {
      needed = await this.positions.position(callerId);
    } catch {
      return undefined; // unknown: correctness before load
    }
    if (this.floor > needed) needed = this.floor;
    const caughtUp = usable.filter((r) => r.replayed >= needed);
    if (caughtUp.length === 0) return undefined;
    return caughtUp[this.turn++ % caughtUp.length];
  }

  private async onReplica(replica: Replica, sql: string, params?: unknown[]): Promise<unknown> {
    try {
      return await replica.pool.query(sql, params);
    } catch (error) {
      // A statement timeout would only take as long again on the primary.
      if ((error as { code?: string }).code === '57014') {
        throw new QueryFailedError(sql, params, error as Error);
      }
      this.failed(replica, error);
      return this.primaryReads.query(sql, params);
    }
  }

  /** A lost connection takes the replica out until the next poll succeeds. */
  private failed(replica: Replica, error: unknown): void {
    const code = (error as { code?: string }).code;
    const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
    if (sqlState === undefined || sqlState.startsWith('08') || sqlState.startsWith('57P')) {
      this.setUp(replica, false, error);
    }
  }

  private async poll(): Promise<void> {
    const at = Date.now();
    try {
      this.samples.push({ at, lsn: await this.primaryPosition() });
    } catch {
      // The primary itself is away: the replicas' lag keeps growing from the last sample.
    }
    const keepFrom = at - this.maxLagMs - 1_000;
    while (this.samples.length > 1 && this.samples[0].at < keepFrom) this.samples.shift();
    await Promise.all(this.replicas.map((r) => this.pollReplica(r)));
  }

  private async pollReplica(replica: Replica): Promise<void> {
    try {
      const [row] = await query<{ lsn: string | null }>(
        replica.probe,
        'SELECT pg_last_wal_replay_lsn()::text AS lsn',
      );
      if (row.lsn === null) throw new Error('it is not in recovery (not a streaming replica)');
      replica.replayed = parseLsn(row.lsn);
      // Behind by the age of the oldest primary position it has not replayed yet.
      const behind = this.samples.find((s) => s.lsn > replica.replayed);
      replica.lagMs = behind ? Date.now() - behind.at : this.samples.length ? 0 : Infinity;
      this.setUp(replica, true);
    } catch (error) {
      this.setUp(replica, false, error);
    }
  }

  private setUp(replica: Replica, up: boolean, error?: unknown): void {
    if (replica.up === up) return;
    replica.up = up;
    if (up) this.logger.log(`${replica.label} is answering: reads may use it`);
    else
      this.logger.warn(
        `${replica.label} is unreachable, reads go to the primary: ${String(error)}`,
      );
  }

  private async primaryPosition(): Promise<bigint> {
    const [row] = await query<{ lsn: string }>(
      this.primary,
      'SELECT pg_current_wal_lsn()::text AS lsn',
    );
    return parseLsn(row.lsn);
  }

  private async raiseFloor(): Promise<void> {
    const lsn = await this.primaryPosition();
    if (lsn > this.floor) this.floor = lsn;
  }
}
