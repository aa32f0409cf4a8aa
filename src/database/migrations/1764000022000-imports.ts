import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Background imports (docs/api.md section 12): the job resource with its progress, and the uploaded
 * file until the job has run (in the database, so whichever instance takes the job can read it).
 */
export class Imports1764000022000 implements MigrationInterface {
  name = 'Imports1764000022000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE imports (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        -- Who asked (sees it besides organisation readers) and whose rows are imported.
        requested_by uuid NOT NULL REFERENCES users(id),
        owner_id uuid NOT NULL REFERENCES users(id),
        mode text NOT NULL CHECK (mode IN ('all', 'partial')),
        status text NOT NULL DEFAULT 'queued'
          CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
        rows_read integer NOT NULL DEFAULT 0,
        rows_imported integer NOT NULL DEFAULT 0,
        skipped integer NOT NULL DEFAULT 0,
        errors jsonb NOT NULL DEFAULT '[]',
        detail text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE import_files (
        import_id uuid PRIMARY KEY REFERENCES imports(id) ON DELETE CASCADE,
        content bytea NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE import_files`);
    await q.query(`DROP TABLE imports`);
  }
}
