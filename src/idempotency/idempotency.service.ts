import {
  ConflictException,
  Injectable,
  Logger,
  type OnModuleInit,
  UnprocessableEntityException,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { warnUnlessUnavailable } from '../common/filters/database-incidents';
import { AppConfig } from '../config/app-config';
import type { Queryable } from '../database/sql';
import { JobQueue } from '../jobs/job-queue';
import { validationProblem } from '../common/validation';
import { type HeldClaim, IdempotencyRepository } from './idempotency.repository';

const KEY = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;

export interface StoredResponse {
  status: number;
  body: unknown;
  location: string | null;
}

export type { HeldClaim };

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
export class IdempotencyService implements OnModuleInit {
  private readonly logger = new Logger(IdempotencyService.name);

  constructor(
    private readonly repo: IdempotencyRepository,
    private readonly config: AppConfig,
    private readonly jobs: JobQueue,
  ) {}

  /** Expired keys are purged hourly by one instance of the fleet, through the job queue. */
  onModuleInit(): void {
    this.jobs.define({
      name: 'idempotency-purge',
      expireInSeconds: 600,
      retryLimit: 2,
      concurrency: 1,
      handler: () => this.purge(),
    });
    this.jobs.atStart('idempotency-purge');
    this.jobs.every('idempotency-purge', '17 * * * *');
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
      if (await this.repo.insert(claim, hash ?? '')) return { kind: 'claimed', claim };
      const row = await this.repo.find(userId, key, lease);
      if (!row) continue;
      if (row.expired) {
        await this.repo.deleteExpired(userId, key);
        continue;
      }
      if (row.status === null) {
        if (!row.lapsed) throw inFlight();
        // The request that claimed it died before committing anything: take the claim over.
        if (await this.repo.takeOver(claim, hash ?? '', lease)) return { kind: 'claimed', claim };
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
    const stored = await this.repo.complete(db, claim, {
      hash,
      status: response.status,
      body: JSON.stringify(response.body),
      location: response.location,
    });
    if (!stored) throw inFlight();
  }

  /**
   * Keeps renewing the claim's lease while a long request (an upload) runs, so a retry cannot take
   * over a claim whose request is alive; returns the function that stops it.
   */
  keepAlive(claim: HeldClaim): () => void {
    const timer = setInterval(
      () =>
        void this.repo
          .renew(claim)
          .catch((error: unknown) =>
            warnUnlessUnavailable(
              this.logger,
              'idempotency lease',
              error,
              `could not renew an idempotency lease: ${String(error)}`,
            ),
          ),
      (this.config.idempotencyLease * 1000) / 3,
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  /** A failed request frees its key, so the client may retry with it at once. */
  release(claim: HeldClaim): Promise<void> {
    return this.repo.release(claim);
  }

  private async purge(): Promise<void> {
    try {
      await this.repo.purgeExpired();
    } catch (error) {
      const message = `could not purge expired idempotency keys: ${String(error)}`;
      warnUnlessUnavailable(this.logger, 'idempotency purge', error, message);
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
