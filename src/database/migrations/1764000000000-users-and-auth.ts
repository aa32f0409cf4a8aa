import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UsersAndAuth1764000000000 implements MigrationInterface {
  name = 'UsersAndAuth1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TYPE user_role AS ENUM ('admin', 'analyst', 'viewer')`);
    await q.query(`
      CREATE TABLE users (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name          varchar(100) NOT NULL,
        email         varchar(254) NOT NULL,
        password_hash varchar(100) NOT NULL,
        role          user_role NOT NULL,
        is_active     boolean NOT NULL DEFAULT true,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT users_email_lower CHECK (email = lower(email))
      )`);
    // Login and the duplicate-email 409 look users up by email.
    await q.query(`CREATE UNIQUE INDEX users_email_key ON users (email)`);
    // The last-active-admin rule counts active admins.
    await q.query(
      `CREATE INDEX users_active_admins_idx ON users (id) WHERE role = 'admin' AND is_active`,
    );

    await q.query(`
      CREATE TABLE refresh_tokens (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id     uuid NOT NULL REFERENCES users(id),
        family_id   uuid NOT NULL,
        token_hash  char(64) NOT NULL,
        expires_at  timestamptz NOT NULL,
        used_at     timestamptz,
        revoked_at  timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    // Refresh looks a presented token up by its hash.
    await q.query(`CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash)`);
    // Reuse detection and logout revoke a whole family.
    await q.query(`CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id)`);
    // Password change and deactivation revoke all of a user's tokens.
    await q.query(`CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE refresh_tokens`);
    await q.query(`DROP TABLE users`);
    await q.query(`DROP TYPE user_role`);
  }
}
