import { ServiceUnavailableException } from '@nestjs/common';

/**
 * At most `size` of one kind of heavy work at once on this instance (imports writing, uploads
 * being received, exports streaming); one more is told to come back (503 with Retry-After)
 * rather than queued, so a burst cannot pile up connections, temp files or memory.
 */
export class Slots {
  private used = 0;

  constructor(
    readonly size: number,
    private readonly what: string,
    private readonly retryAfterSeconds: number,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.used >= this.size) {
      throw new ServiceUnavailableException({
        message: `${this.size} ${this.what} already running on this server; retry shortly`,
        headers: { 'Retry-After': String(this.retryAfterSeconds) },
      });
    }
    this.used++;
    try {
      return await fn();
    } finally {
      this.used--;
    }
  }
}
