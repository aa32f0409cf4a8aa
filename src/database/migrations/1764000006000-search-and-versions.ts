import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createWriteVersions, dropWriteVersions } from '../write-versions';

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

    await createWriteVersions(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropWriteVersions(q);
    await q.query(
      `CREATE INDEX transactions_category_trgm_idx ON transactions USING gin (category gin_trgm_ops)`,
    );
    await q.query(
      `CREATE INDEX transactions_notes_trgm_idx ON transactions USING gin (notes gin_trgm_ops)`,
    );
    await q.query(`DROP INDEX transactions_search_idx`);
  }
}
