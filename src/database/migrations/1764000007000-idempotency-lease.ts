import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotency claims get an owner and an age: `claim_token` names the request that holds the
 * claim (its completion only counts while it still holds it) and `claimed_at` starts the lease
 * after which a retry may take over a claim whose request died.
 */
export class IdempotencyLease1764000007000 implements MigrationInterface {
  name = 'IdempotencyLease1764000007000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE idempotency_keys
        ADD COLUMN claim_token uuid,
        ADD COLUMN claimed_at timestamptz NOT NULL DEFAULT now()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE idempotency_keys DROP COLUMN claimed_at, DROP COLUMN claim_token`);
  }
}
