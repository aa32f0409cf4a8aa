import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drops the two indexes that served only the dashboard's `recent` (latest by date, then
 * createdAt). The date indexes every list uses, (owner_id, date DESC, id DESC) and
 * (date DESC, id DESC), give the same plan shape: the latest dates in order, and an incremental
 * sort by createdAt within each date, which reads one date's rows. Measured at 1M rows: 0.36 ms for
 * one owner and 0.55 ms for the organisation, as with the dropped indexes. Each write maintained
 * them for nothing else: without them, a 100k-row insert into the 1M table wrote 19 % fewer WAL
 * records and dirtied 31 % fewer buffers (docs/performance.md, "CSV import").
 *
 * The price: a date holding tens of thousands of rows is sorted whole (86 ms for 50k rows of one
 * owner on one day, against 36 ms with the old index, which also had to sort them: an import's
 * rows share their createdAt, so its (date, createdAt) order never settled the tie either).
 */
export class DropRecentIndexes1764000096000 implements MigrationInterface {
  name = 'DropRecentIndexes1764000096000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX transactions_owner_recent_idx`);
    await q.query(`DROP INDEX transactions_recent_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX transactions_owner_recent_idx ON transactions (owner_id, date DESC, created_at DESC) WHERE deleted_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX transactions_recent_idx ON transactions (date DESC, created_at DESC) WHERE deleted_at IS NULL`,
    );
  }
}
