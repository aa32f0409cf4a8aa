import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { type Queryable, query } from '../database/sql';

// How long a finished request's response is replayed.
const TTL = "interval '24 hours'";

/** A claim a request holds: only the holder of `token` can complete, renew or release it. */
export interface HeldClaim {
  userId: string;
  key: string;
  token: string;
}

export interface StoredClaim {
  hash: string;
  status: number | null;
  body: string | null;
  location: string | null;
  /** Older than the replay window: gone as far as clients are concerned. */
  expired: boolean;
  /** Unfinished and older than the lease: its request is presumed dead. */
  lapsed: boolean;
}

/** Every query on `idempotency_keys`; a claim is only ever changed by the holder of its token. */
@Injectable()
export class IdempotencyRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Inserts the claim; false when the (user, key) pair already exists. */
  async insert(claim: HeldClaim, hash: string): Promise<boolean> {
    const rows = await query(
      this.db,
      `INSERT INTO idempotency_keys (user_id, key, request_hash, claim_token) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [claim.userId, claim.key, hash, claim.token],
    );
    return rows.length > 0;
  }

  async find(userId: string, key: string, leaseSeconds: number): Promise<StoredClaim | undefined> {
    const [row] = await query<StoredClaim>(
      this.db,
      `SELECT request_hash AS hash, status_code AS status, response AS body, location,
         created_at < now() - ${TTL} AS expired,
         claimed_at < now() - make_interval(secs => $3) AS lapsed
       FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
      [userId, key, leaseSeconds],
    );
    return row;
  }

  async deleteExpired(userId: string, key: string): Promise<void> {
    await query(
      this.db,
      `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at < now() - ${TTL}`,
      [userId, key],
    );
  }

  /** Hands an unfinished claim whose lease has passed to `claim`; false if someone else won it. */
  async takeOver(claim: HeldClaim, hash: string, leaseSeconds: number): Promise<boolean> {
    const rows = await query(
      this.db,
      `UPDATE idempotency_keys
       SET claim_token = $3, request_hash = $4, claimed_at = now(), created_at = now()
       WHERE user_id = $1 AND key = $2 AND completed_at IS NULL
         AND claimed_at < now() - make_interval(secs => $5)
       RETURNING 1`,
      [claim.userId, claim.key, claim.token, hash, leaseSeconds],
    );
    return rows.length > 0;
  }

  /** Stores the response through `db` (the write's transaction); false if the claim is not held. */
  async complete(
    db: Queryable,
    claim: HeldClaim,
    response: { hash: string; status: number; body: string; location: string | null },
  ): Promise<boolean> {
    const rows = await query(
      db,
      `UPDATE idempotency_keys SET request_hash = $4, status_code = $5, response = $6, location = $7, completed_at = now()
       WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND completed_at IS NULL
       RETURNING 1`,
      [
        claim.userId,
        claim.key,
        claim.token,
        response.hash,
        response.status,
        response.body,
        response.location,
      ],
    );
    return rows.length > 0;
  }

  async renew(claim: HeldClaim): Promise<void> {
    await query(
      this.db,
      `UPDATE idempotency_keys SET claimed_at = now()
       WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND completed_at IS NULL`,
      [claim.userId, claim.key, claim.token],
    );
  }

  async release(claim: HeldClaim): Promise<void> {
    await query(
      this.db,
      `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND claim_token = $3 AND completed_at IS NULL`,
      [claim.userId, claim.key, claim.token],
    );
  }

  async purgeExpired(): Promise<void> {
    await query(this.db, `DELETE FROM idempotency_keys WHERE created_at < now() - ${TTL}`);
  }
}
