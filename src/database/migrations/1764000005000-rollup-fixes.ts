import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ROLLUP_FUNCTION_SQL, ROLLUP_REBUILD_SQL, ROLLUP_TRIGGERS } from './1764000002000-rollups';

/**
 * Re-creates the rollup functions for databases migrated before two fixes: the delete trigger's
 * delta lacked column names (a hard DELETE failed), and rollup_rebuild() now writes rows in key
 * order so each scope's rows are stored together.
 */
export class RollupFixes1764000005000 implements MigrationInterface {
  name = 'RollupFixes1764000005000';

  async up(q: QueryRunner): Promise<void> {
    for (const { op } of ROLLUP_TRIGGERS) await q.query(ROLLUP_FUNCTION_SQL[op]);
    await q.query(ROLLUP_REBUILD_SQL);
  }

  async down(): Promise<void> {
    // The previous definitions were faulty; nothing to restore.
  }
}
