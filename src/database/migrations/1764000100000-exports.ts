import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Personal data exports (docs/api.md section 17).
 *
 * - `exports`: the export resource. `user_id` is whose data it holds, `requested_by` who asked
 *   (they and admins may read it). It expires 7 days after it was asked for; the cleanup job then
 *   deletes its content and sets `content_deleted_at`, the row stays (its GET answers 410).
 * - `export_chunks`: the finished JSON document in pieces of about 1 MiB, in order (`seq`), in
 *   the database so whichever instance behind the load balancer gets the download can stream
 *   it, one chunk at a time.
 */
export class Exports1764000100000 implements MigrationInterface {
  name = 'Exports1764000100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE exports (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        requested_by uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        status text NOT NULL DEFAULT 'queued'
          CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
        chunks integer NOT NULL DEFAULT 0,
        bytes bigint NOT NULL DEFAULT 0,
        detail text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        expires_at timestamptz NOT NULL DEFAULT now() + interval '7 days',
        content_deleted_at timestamptz
      )`);
    // The cleanup job: expired exports whose content is still stored, oldest expiry first.
    await q.query(
      `CREATE INDEX exports_expiry_idx ON exports (expires_at) WHERE content_deleted_at IS NULL`,
    );
    // A user's exports (erasure deletes them); also the foreign keys' cascade.
    await q.query(`CREATE INDEX exports_user_idx ON exports (user_id)`);
    await q.query(`CREATE INDEX exports_requested_by_idx ON exports (requested_by)`);
    await q.query(`
      CREATE TABLE export_chunks (
        export_id uuid NOT NULL REFERENCES exports(id) ON DELETE CASCADE,
        seq integer NOT NULL CHECK (seq >= 0),
        data bytea NOT NULL,
        PRIMARY KEY (export_id, seq)
      )`);
    // The export's deleted transactions: the live ones come from transactions_owner_date_idx,
    // which is partial (live rows only); without this a user's trash would be a scan of the table.
    await q.query(
      `CREATE INDEX transactions_owner_deleted_idx ON transactions (owner_id) WHERE deleted_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX transactions_owner_deleted_idx`);
    await q.query(`DROP TABLE export_chunks`);
    await q.query(`DROP TABLE exports`);
  }
}
