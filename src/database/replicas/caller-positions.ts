import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { fromLsnKey, lsnKey } from './lsn';

/**
 * The primary's WAL position after each caller's latest write: until a replica has replayed
 * past it, that caller's reads must not go there. With REDIS_URL the positions are shared, so the
 * next read of a caller may land on any instance; without it they live in this process (one
 * instance, or a load balancer that keeps a caller on one instance).
 */
export interface CallerPositions {
  /** Raises the caller's position to `lsn` (never lowers it: two writes may finish out of order). */
  raise(callerId: string, lsn: bigint): Promise<void>;
  /**
   * The caller's position; 0n when none is remembered. Throws when it cannot be known (the store
   * is unreachable): the caller's reads then go to the primary.
   */
  position(callerId: string): Promise<bigint>;
  close(): Promise<void>;
}

/** Positions live this long; by then a usable replica (lag under the limit) is past them anyway. */
export function positionTtlMs(maxLagMs: number): number {
  return maxLagMs + 60_000;
}

export class MemoryCallerPositions implements CallerPositions {
  private readonly positions = new Map<string, { lsn: bigint; until: number }>();

  constructor(private readonly ttlMs: number) {}

  raise(callerId: string, lsn: bigint): Promise<void> {
    const now = Date.now();
    const current = this.positions.get(callerId);
    const keep = current && current.until > now && current.lsn > lsn ? current.lsn : lsn;
    // Re-inserted so the map stays in expiry order and the sweep below stops at the first live one.
    this.positions.delete(callerId);
    this.positions.set(callerId, { lsn: keep, until: now + this.ttlMs });
    for (const [id, entry] of this.positions) {
      if (entry.until > now) break;
      this.positions.delete(id);
    }
    return Promise.resolve();
  }

  position(callerId: string): Promise<bigint> {
    const entry = this.positions.get(callerId);
    return Promise.resolve(entry && entry.until > Date.now() ? entry.lsn : 0n);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

// Keeps the larger of the stored and the new position (fixed-width hex compares as a string).
const RAISE = `
local current = redis.call('GET', KEYS[1])
if (not current) or current < ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`;

/**
 * Positions in Redis. A position that could not be stored (Redis down at that moment) is kept in
 * this process too, so at least this instance honours it. Positions stored before Redis lost its
 * data (a restart) are covered by `onReconnect`: the caller of this class raises a floor for
 * every caller to the primary's position at that moment (database/replicas/read-routing.ts).
 */
export class RedisCallerPositions implements CallerPositions {
  private readonly logger = new Logger('ReadYourWrites');
  private readonly redis: Redis;
  private readonly local: MemoryCallerPositions;
  private ready = false;
  private lastWarning = 0;

  constructor(
    url: string,
    private readonly ttlMs: number,
    onReconnect: () => Promise<void>,
  ) {
    this.local = new MemoryCallerPositions(ttlMs);
    this.redis = new Redis(url, {
      // Fail at once while disconnected: a read that cannot learn its caller's position goes to
      // the primary rather than waiting for Redis.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 500,
      keyPrefix: 'finance-api:wal:',
    });
    this.redis.on('error', () => undefined); // reported per failed call below, at most once a minute
    this.redis.on('close', () => (this.ready = false));
    // Until the floor is raised, positions count as unknown (reads go to the primary); retried
    // while the primary cannot be asked.
    const afterConnect = () => {
      onReconnect().then(
        () => (this.ready = this.redis.status === 'ready'),
        (error: unknown) => {
          this.warn('could not read the primary position after connecting', error);
          if (this.redis.status === 'ready') setTimeout(afterConnect, 1_000).unref();
        },
      );
    };
    this.redis.on('ready', afterConnect);
  }

  async raise(callerId: string, lsn: bigint): Promise<void> {
    await this.local.raise(callerId, lsn);
    try {
      await this.redis.eval(RAISE, 1, callerId, lsnKey(lsn), String(this.ttlMs));
    } catch (error) {
      this.warn('could not store a write position', error);
    }
  }

  async position(callerId: string): Promise<bigint> {
    if (!this.ready) throw new Error('Redis is not connected');
    const [stored, local] = await Promise.all([
      this.redis.get(callerId).catch((error: unknown) => {
        this.warn('could not read a write position', error);
        throw error;
      }),
      this.local.position(callerId),
    ]);
    const shared = stored ? fromLsnKey(stored) : 0n;
    return shared > local ? shared : local;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }

  private warn(what: string, error: unknown): void {
    if (Date.now() - this.lastWarning < 60_000) return;
    this.lastWarning = Date.now();
    this.logger.warn(
      `Redis unavailable, ${what}; reads of those callers go to the primary: ${String(error)}`,
    );
  }
}
