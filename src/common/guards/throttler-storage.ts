import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import Redis from 'ioredis';

type Record = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * Rate-limit counters in Redis, shared by every instance. If Redis is unreachable the limiter
 * fails open (requests pass, a warning is logged) rather than taking the API down with it.
 */
export class SharedThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('ThrottlerStorage');
  private readonly redis: Redis;
  private readonly storage: ThrottlerStorageRedisService;
  private lastWarning = 0;

  constructor(url: string) {
    this.redis = new Redis(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      keyPrefix: 'finance-api:throttle:',
    });
    this.redis.on('error', () => undefined); // reported below, per failed request, at most once a minute
    this.storage = new ThrottlerStorageRedisService(this.redis);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<Record> {
    try {
      return await this.storage.increment(key, ttl, limit, blockDuration, throttlerName);
    } catch (error) {
      if (Date.now() - this.lastWarning > 60_000) {
        this.lastWarning = Date.now();
        this.logger.warn(`Redis unavailable, rate limits not enforced: ${String(error)}`);
      }
      return {
        totalHits: 0,
        timeToExpire: Math.ceil(ttl / 1000),
        isBlocked: false,
        timeToBlockExpire: 0,
      };
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}

interface Window {
  hits: number;
  expiresAt: number;
  blockedUntil: number;
}

/**
 * Rate-limit counters for a single instance: a fixed window per key, the same algorithm as the
 * Redis storage, so one and several instances limit alike. O(1) per request whatever the limit:
 * the library's default storage keeps one timestamp per hit and filters them on every request,
 * which costs milliseconds per request once a limit is in the tens of thousands.
 */
export class MemoryThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly windows = new Map<string, Window>();
  // Forgets expired windows once a minute, so callers who went away do not accumulate.
  private readonly sweeper = setInterval(() => {
    const now = Date.now();
    for (const [id, w] of this.windows) {
      if (w.expiresAt <= now && w.blockedUntil <= now) this.windows.delete(id);
    }
  }, 60_000).unref();

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<Record> {
    const now = Date.now();
    const id = `${key}:${throttlerName}`;
    let w = this.windows.get(id);
    if (!w || (w.expiresAt <= now && w.blockedUntil <= now)) {
      w = { hits: 0, expiresAt: now + ttl, blockedUntil: 0 };
      this.windows.set(id, w);
    } else if (w.expiresAt <= now) {
      w.hits = 0;
      w.expiresAt = now + ttl;
    }
    w.hits += 1;
    if (w.blockedUntil <= now && w.hits > limit) w.blockedUntil = now + blockDuration;
    const blocked = w.blockedUntil > now;
    return Promise.resolve({
      totalHits: w.hits,
      timeToExpire: Math.ceil((w.expiresAt - now) / 1000),
      isBlocked: blocked,
      timeToBlockExpire: blocked ? Math.ceil((w.blockedUntil - now) / 1000) : 0,
    });
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }
}
