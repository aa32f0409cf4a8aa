import type { OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

type Record = Awaited<ReturnType<ThrottlerStorage['increment']>>;

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
  private readonly sweeper = setInterval(() => this.sweep(), 60_000).unref();

  /**
   * @param maxWindows a ceiling on the keys kept (a few hundred bytes each), so a flood of
   *   distinct callers (rotating addresses or login emails) cannot exhaust the heap. At the
   *   ceiling, expired windows go first, then the oldest: a limit can then reset early, for the
   *   oldest callers only, rather than the process running out of memory.
   */
  constructor(private readonly maxWindows = 50_000) {}

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
      if (!w && this.windows.size >= this.maxWindows) this.makeRoom(now);
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

  private sweep(now = Date.now()): void {
    for (const [id, w] of this.windows) {
      if (w.expiresAt <= now && w.blockedUntil <= now) this.windows.delete(id);
    }
  }

  private makeRoom(now: number): void {
    this.sweep(now);
    // A Map iterates in insertion order: the first keys are the oldest windows.
    for (const id of this.windows.keys()) {
      if (this.windows.size < this.maxWindows) break;
      this.windows.delete(id);
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }
}
