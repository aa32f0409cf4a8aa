import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys (docs/api.md section 10) and the read-only `auditor` role (section 11). A key is stored only
 * as the SHA-256 of its text: it carries 256 random bits, so a fast hash is as safe as a slow one
 * and lets the lookup use an index. Audit entries name the key that wrote them.
 */
export class ApiKeysAndAuditor1764000010000 implements MigrationInterface {
  name = 'ApiKeysAndAuditor1764000010000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'auditor'`);
    await q.query(`
      CREATE TABLE api_keys (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id      uuid NOT NULL REFERENCES users(id),
        name         varchar(100) NOT NULL,
        prefix       varchar(12) NOT NULL,
        key_hash     bytea NOT NULL,
        scopes       text[] NOT NULL,
        expires_at   timestamptz NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at   timestamptz
      )`);
    // Authentication: one key by its hash.
    await q.query(`CREATE UNIQUE INDEX api_keys_hash_idx ON api_keys (key_hash)`);
    // Listing a user's keys, newest first, and counting the live ones against the cap.
    await q.query(
      `CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at DESC, id DESC) WHERE revoked_at IS NULL`,
    );
    await q.query(`ALTER TABLE audit_logs ADD COLUMN api_key_id uuid REFERENCES api_keys(id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_logs DROP COLUMN api_key_id`);
    await q.query(`DROP TABLE api_keys`);
    // PostgreSQL cannot drop an enum value; `auditor` stays in the type, unused.
  }
}
