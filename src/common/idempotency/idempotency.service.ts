import {
  BadRequestException,
  ConflictException,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { query } from '../../database/sql';

const KEY = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;
const TTL = "interval '24 hours'";

export interface StoredResponse {
  status: number;
  body: unknown;
  location: string | null;
}

export type Claim =
  { kind: 'claimed' } | { kind: 'replay'; hash: string; response: StoredResponse };

/**
 * `Idempotency-Key` bookkeeping in PostgreSQL: the primary key (user, key) makes exactly one
 * request win the claim across instances; the winner stores its response for replays within
 * 24 hours. Keys are scoped to the user, so two users cannot collide or read each other's.
 */
@Injectable()
export class IdempotencyService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IdempotencyService.name);
  private timer?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  onApplicationBootstrap(): void {
    void this.purge();
    this.timer = setInterval(() => void this.purge(), 60 * 60 * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  static checkKey(key: string | string[]): string {
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new BadRequestException({
        message: 'Validation failed',
        errors: [
          {
            field: 'Idempotency-Key',
            message: 'Idempotency-Key must be 1-255 printable ASCII characters',
          },
        ],
      });
    }
    return key;
  }

  /**
   * Claims the key, or finds the finished request that holds it. A request still in flight is a
   * 409. `hash` may be null when the body is not known yet (streamed uploads); the caller then
   * compares hashes itself and stores its own with `complete`.
   */
  async claim(userId: string, key: string, hash: string | null): Promise<Claim> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const inserted = await query(
        this.db,
        `INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1`,
        [userId, key, hash ?? ''],
      );
      if (inserted.length > 0) return { kind: 'claimed' };
      const [row] = await query<{
        hash: string;
        status: number | null;
        body: string | null;
        location: string | null;
        expired: boolean;
      }>(
        this.db,
        `SELECT request_hash AS hash, status_code AS status, response AS body, location, created_at < now() - ${TTL} AS expired
         FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
        [userId, key],
      );
      if (!row) continue;
      if (row.expired) {
        await query(
          this.db,
          `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at < now() - ${TTL}`,
          [userId, key],
        );
        continue;
      }
      if (row.status === null)
        throw new ConflictException('A request with this Idempotency-Key is still in progress');
      if (hash !== null && row.hash !== hash) throw mismatch();
      // Stored as text, not jsonb, so the replay is byte-for-byte the first response.
      const body: unknown = row.body === null ? null : JSON.parse(row.body);
      return {
        kind: 'replay',
        hash: row.hash,
        response: { status: row.status, body, location: row.location },
      };
    }
    throw new ConflictException('A request with this Idempotency-Key is still in progress');
  }

  async complete(
    userId: string,
    key: string,
    hash: string,
    response: StoredResponse,
  ): Promise<void> {
    await query(
      this.db,
      `UPDATE idempotency_keys SET request_hash = $3, status_code = $4, response = $5, location = $6, completed_at = now()
       WHERE user_id = $1 AND key = $2`,
      [userId, key, hash, response.status, JSON.stringify(response.body), response.location],
    );
  }

  /** A failed request frees its key, so the client may retry with it. */
  async release(userId: string, key: string): Promise<void> {
    await query(
      this.db,
      `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND completed_at IS NULL`,
      [userId, key],
    );
  }

  private async purge(): Promise<void> {
    try {
      await query(this.db, `DELETE FROM idempotency_keys WHERE created_at < now() - ${TTL}`);
    } catch (error) {
      this.logger.warn(`could not purge expired idempotency keys: ${String(error)}`);
    }
  }
}

export function mismatch(): UnprocessableEntityException {
  return new UnprocessableEntityException(
    'This Idempotency-Key was used with a different request body',
  );
}
