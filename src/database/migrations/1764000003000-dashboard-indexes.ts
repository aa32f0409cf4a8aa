import type { MigrationInterface, QueryRunner } from 'typeorm';

export class DashboardIndexes1764000003000 implements MigrationInterface {
  name = 'DashboardIndexes1764000003000';

  async up(q: QueryRunner): Promise<void> {
    // Dashboard `recent` for one user: latest by date, then createdAt, read straight off the index.
    await q.query(
      `CREATE INDEX transactions_owner_recent_idx ON transactions (owner_id, date DESC, created_at DESC) WHERE deleted_at IS NULL`,
    );
    // Organisation-wide `recent`.
    await q.query(
      `CREATE INDEX transactions_recent_idx ON transactions (date DESC, created_at DESC) WHERE deleted_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX transactions_recent_idx`);
    await q.query(`DROP INDEX transactions_owner_recent_idx`);
  }
}
