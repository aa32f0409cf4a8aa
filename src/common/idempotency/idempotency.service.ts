import {
  ConflictException,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  UnprocessableEntityException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { type Queryable, query } from '../../database/sql';
import { validationProblem } from '../validation';

const KEY = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;
const TTL = "interval '24 hours'";

export interface StoredResponse {
  status: number;
  body: unknown;
  location: string | null;
}

/** A claim this request holds: only the holder of `token` can complete or release it. */
export interface HeldClaim {
  userId: string;
  key: string;
  token: string;
}

export type Claim =
  | { kind: 'claimed'; claim: HeldClaim }
  | { kind: 'replay'; hash: string; response: StoredResponse };

/**
 * `Idempotency-Key` bookkeeping in PostgreSQL: the primary key (user, key) makes exactly one
 * request win the claim across instances; the winner stores its response for replays within
 * 24 hours. Keys are scoped to the user, so two users cannot collide or read each other's.
 *
 * The response is stored by `complete` inside the same database transaction as the write it
 * answers, so a claim that never completed is a claim under which nothing was committed. Once its
 * lease (IDEMPOTENCY_LEASE) has passed, a retry may take it over; the request that held it, if it
 * is somehow still running, then fails its own `complete` and rolls back.
 */
@Injectable()
export class IdempotencyService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IdempotencyService.name);
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
  ) {}

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
      throw validationProblem([
        {
          field: 'Idempotency-Key',
          message: 'Idempotency-Key must be 1-255 printable ASCII characters',
        },
      ]);
    }
    return key;
  }

  /**
   * Claims the key, or finds the finished request that holds it. A request still in flight (its
   * lease not yet over) is a 409. `hash` may be null when the body is not known yet (streamed
   * uploads); the caller then compares hashes itself and stores its own with `complete`.
   */
  async claim(userId: string, key: string, hash: string | null): Promise<Claim> {
    const claim: HeldClaim = { userId, key, token: randomUUID() };
    const lease = this.config.idempotencyLease;
    for (let attempt = 0; attempt < 3; attempt++) {
      const inserted = await query(
        this.db,
        `INSERT INTO idempotency_keys (user_id, key, request_hash, claim_token) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING 1`,
        [userId, key, hash ?? '', claim.token],
      );
      if (inserted.length > 0) return { kind: 'claimed', claim };
      const [row] = await query<{
        hash: string;
        status: number | null;
        body: string | null;
        location: string | null;
        expired: boolean;
        lapsed: boolean;
      }>(
        this.db,
        `SELECT request_hash AS hash, status_code AS status, response AS body, location,
           created_at < now() - ${TTL} AS expired,
           claimed_at < now() - make_interval(secs => $3) AS lapsed
         FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
        [userId, key, lease],
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
      if (row.status === null) {
        if (!row.lapsed) throw inFlight();
        // The request that claimed it died before committing anything: take the claim over.
        const taken = await query(
          this.db,
          `UPDATE idempotency_keys
           SET claim_token = $3, request_hash = $4, claimed_at = now(), created_at = now()
           WHERE user_id = $1 AND key = $2 AND completed_at IS NULL
             AND claimed_at < now() - make_interval(secs => $5)
           RETURNING 1`,
          [userId, key, claim.token, hash ?? '', lease],
        );
        if (taken.length > 0) return { kind: 'claimed', claim };
        continue;
      }
      if (hash !== null && row.hash !== hash) throw mismatch();
      // Stored as text, not jsonb, so the replay is byte-for-byte the first response.
      const body: unknown = row.body === null ? null : JSON.parse(row.body);
      return {
        kind: 'replay',
        hash: row.hash,
        response: { status: row.status, body, location: row.location },
      };
    }
    throw inFlight();
  }

  /**
   * Stores the response through `db`, the connection of the transaction that makes the change,
   * so the two commit together. A claim taken over by a retry meanwhile fails here (409), which
   * rolls the change back.
   */
  async complete(
    db: Queryable,
    claim: HeldClaim,
    hash: string,
    response: StoredResponse,
  ): Promise<void> {
    const rows = await query(
      db,
      `UPDATE idempotency_keys SET request_hash = $4, status_code = $5, response = $6, location = $7, completed_at = now()
       WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND completed_at IS NULL
       RETURNING 1`,
      [
        claim.userId,
        claim.key,
        claim.token,
        hash,
        response.status,
        JSON.stringify(response.body),
        response.location,
      ],
    );
    if (rows.length === 0) throw inFlight();
  }

  /**
   * Keeps renewing the claim's lease while a long request (an upload) runs, so a retry cannot take
   * over a claim whose request is alive; returns the function that stops it.
   */
  keepAlive(claim: HeldClaim): () => void {
    const timer = setInterval(
      () =>
        void query(
          this.db,
          `UPDATE idempotency_keys SET claimed_at = now()
           WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND completed_at IS NULL`,
          [claim.userId, claim.key, claim.token],
        ).catch((error: unknown) =>
          this.logger.warn(`could not renew an idempotency lease: ${String(error)}`),
        ),
      (this.config.idempotencyLease * 1000) / 3,
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  /** A failed request frees its key, so the client may retry with it at once. */
  async release(claim: HeldClaim): Promise<void> {
    await query(
      this.db,
      `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND completed_at IS NULL`,
      [claim.userId, claim.key, claim.token],
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

function inFlight(): ConflictException {
  return new ConflictException('A request with this Idempotency-Key is still in progress');
}

export function mismatch(): UnprocessableEntityException {
  return new UnprocessableEntityException(
    'This Idempotency-Key was used with a different request body',
  );
}
