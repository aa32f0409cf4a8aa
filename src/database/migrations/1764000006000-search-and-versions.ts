import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two things that make search (`q`) fast:
 *
 * 1. One trigram index led by the owner (btree_gin) replaces the two trigram indexes, so an
 *    analyst's search reads only that owner's matches from the index instead of intersecting
 *    every owner's matches with all of the owner's rows. GIN serves any subset of its columns
 *    equally well, so an admin's search across owners uses it as before.
 * 2. A write version per owner: every statement that writes transactions (insert, update, soft
 *    delete, restore, COPY import, TRUNCATE) adds 1 to a counter of each owner it touched, in
 *    the same transaction. An owner's version is the sum of its counters: the increment runs
 *    under the counter row's lock on its latest committed value, so every committed write raises
 *    the sum and nothing lowers it. Exact page-mode totals that the rollups cannot answer
 *    (search, amount bounds, deleted rows) are cached by the app under the version they were
 *    counted at, and counted again only when a write has changed it.
 *    Each owner has up to 16 counters (slots), picked by the writing connection's backend pid: a
 *    counter row stays locked until its writer commits, and with one row per owner, concurrent
 *    writes for the same owner would queue behind each other's commits.
 */
const OWNERS: Record<string, string> = {
  insert: 'SELECT DISTINCT owner_id FROM new_rows',
  update: 'SELECT owner_id FROM new_rows UNION SELECT owner_id FROM old_rows',
  delete: 'SELECT DISTINCT owner_id FROM old_rows',
};

const REFERENCING: Record<string, string> = {
  insert: 'NEW TABLE AS new_rows',
  update: 'OLD TABLE AS old_rows NEW TABLE AS new_rows',
  delete: 'OLD TABLE AS old_rows',
};

export class SearchAndVersions1764000006000 implements MigrationInterface {
  name = 'SearchAndVersions1764000006000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS btree_gin`);
    await q.query(
      `CREATE INDEX transactions_search_idx ON transactions
       USING gin (owner_id, category gin_trgm_ops, notes gin_trgm_ops)`,
    );
    await q.query(`DROP INDEX transactions_category_trgm_idx`);
    await q.query(`DROP INDEX transactions_notes_trgm_idx`);

    await q.query(`
      CREATE TABLE transaction_versions (
        owner_id uuid NOT NULL,
        slot     smallint NOT NULL,
        version  bigint NOT NULL,
        PRIMARY KEY (owner_id, slot)
      )`);
    await q.query(`
      INSERT INTO transaction_versions (owner_id, slot, version)
      SELECT DISTINCT owner_id, 0, 1 FROM transactions`);

    for (const op of ['insert', 'update', 'delete']) {
      // Owners in key order, so two multi-owner statements lock their version rows alike.
      await q.query(`
        CREATE FUNCTION transaction_version_after_${op}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO transaction_versions AS v (owner_id, slot, version)
          SELECT owner_id, pg_backend_pid() % 16, 1 FROM (${OWNERS[op]} ORDER BY 1) o
          ON CONFLICT (owner_id, slot) DO UPDATE SET version = v.version + 1;
          RETURN NULL;
        END $$`);
      await q.query(`
        CREATE TRIGGER transactions_version_${op} AFTER ${op.toUpperCase()} ON transactions
        REFERENCING ${REFERENCING[op]} FOR EACH STATEMENT
        EXECUTE FUNCTION transaction_version_after_${op}()`);
    }
    await q.query(`
      CREATE FUNCTION transaction_version_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE transaction_versions SET version = version + 1;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER transactions_version_truncate AFTER TRUNCATE ON transactions
      FOR EACH STATEMENT EXECUTE FUNCTION transaction_version_after_truncate()`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const op of ['insert', 'update', 'delete', 'truncate']) {
      await q.query(`DROP TRIGGER transactions_version_${op} ON transactions`);
      await q.query(`DROP FUNCTION transaction_version_after_${op}()`);
    }
    await q.query(`DROP TABLE transaction_versions`);
    await q.query(
      `CREATE INDEX transactions_category_trgm_idx ON transactions USING gin (category gin_trgm_ops)`,
    );
    await q.query(
      `CREATE INDEX transactions_notes_trgm_idx ON transactions USING gin (notes gin_trgm_ops)`,
    );
    await q.query(`DROP INDEX transactions_search_idx`);
  }
}
