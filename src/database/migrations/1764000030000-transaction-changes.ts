import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A change log that keeps cached page-mode totals exact under writes without recounting.
 *
 * Before, every write raised its owner's version (search-and-versions migration) and the next
 * search recounted every match (~140 ms at 1M rows). Now every statement that writes
 * `transactions` appends, in the same transaction, the images of the rows it changed:
 * -1 for an old image, +1 for a new one (an insert has only a new one, a hard delete only an old
 * one), each tagged with the writing transaction's id. A total counted under snapshot S becomes
 * the total under a later snapshot S' by adding the signs of the logged images that match the
 * same filter and whose transaction committed between S and S' (visible in S', not in S):
 * `pg_visible_in_snapshot` answers that exactly, in commit order, whichever instance or SQL
 * session wrote. The filter is the list's own SQL applied to the images, so a delta can never
 * disagree with a count.
 *
 * Statements that write more than 1,000 rows (an import's COPY) log one reset per owner instead
 * of every row, and TRUNCATE one reset for everyone; a cached total that a reset falls into is
 * counted again. The log is pruned up to a horizon (see `transaction_change_horizon`): a total
 * cached before the horizon is counted again too.
 */
const SMALL_STATEMENT = 1000;

const IMAGES = `owner_id, type, amount, category, date, notes, deleted_at`;

const LOG_SQL: Record<string, string> = {
  insert: `INSERT INTO transaction_changes (sign, ${IMAGES}) SELECT 1, ${IMAGES} FROM new_rows`,
  update: `INSERT INTO transaction_changes (sign, ${IMAGES})
             SELECT -1, ${IMAGES} FROM old_rows UNION ALL SELECT 1, ${IMAGES} FROM new_rows`,
  delete: `INSERT INTO transaction_changes (sign, ${IMAGES}) SELECT -1, ${IMAGES} FROM old_rows`,
};

const RESET_SQL: Record<string, string> = {
  insert: `INSERT INTO transaction_change_resets (owner_id) SELECT DISTINCT owner_id FROM new_rows`,
  update: `INSERT INTO transaction_change_resets (owner_id)
             SELECT owner_id FROM old_rows UNION SELECT owner_id FROM new_rows`,
  delete: `INSERT INTO transaction_change_resets (owner_id) SELECT DISTINCT owner_id FROM old_rows`,
};

const SIZE_OF: Record<string, string> = {
  insert: 'new_rows',
  update: 'new_rows',
  delete: 'old_rows',
};

const REFERENCING: Record<string, string> = {
  insert: 'NEW TABLE AS new_rows',
  update: 'OLD TABLE AS old_rows NEW TABLE AS new_rows',
  delete: 'OLD TABLE AS old_rows',
};

export class TransactionChanges1764000030000 implements MigrationInterface {
  name = 'TransactionChanges1764000030000';

  async up(q: QueryRunner): Promise<void> {
    // Append-only between prunes; read by xid range (the delta of a cached total).
    await q.query(`
      CREATE TABLE transaction_changes (
        xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
        sign       smallint NOT NULL,
        owner_id   uuid NOT NULL,
        type       transaction_type NOT NULL,
        amount     numeric(14,2) NOT NULL,
        category   varchar(64) NOT NULL,
        date       date NOT NULL,
        notes      varchar(1000),
        deleted_at timestamptz
      )`);
    await q.query(`CREATE INDEX transaction_changes_xid_idx ON transaction_changes (xid)`);
    // owner_id NULL: every owner (TRUNCATE).
    await q.query(`
      CREATE TABLE transaction_change_resets (
        xid      xid8 NOT NULL DEFAULT pg_current_xact_id(),
        owner_id uuid
      )`);
    await q.query(
      `CREATE INDEX transaction_change_resets_xid_idx ON transaction_change_resets (xid)`,
    );
    // One row. Changes of transactions below `horizon` may have been pruned, so a total cached
    // under a snapshot whose xmin is below it cannot be brought forward. A prune moves `horizon`
    // to the `next_horizon` the previous prune remembered, so a cached total survives at least
    // one prune interval.
    await q.query(`
      CREATE TABLE transaction_change_horizon (
        one          boolean PRIMARY KEY DEFAULT true CHECK (one),
        horizon      xid8 NOT NULL,
        next_horizon xid8 NOT NULL,
        pruned_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      INSERT INTO transaction_change_horizon (horizon, next_horizon)
      VALUES (pg_current_xact_id(), pg_current_xact_id())`);

    for (const op of ['insert', 'update', 'delete']) {
      await q.query(`
        CREATE FUNCTION transaction_changes_after_${op}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF (SELECT count(*) FROM (SELECT 1 FROM ${SIZE_OF[op]} LIMIT ${SMALL_STATEMENT + 1}) s) > ${SMALL_STATEMENT} THEN
            ${RESET_SQL[op]};
          ELSE
            ${LOG_SQL[op]};
          END IF;
          RETURN NULL;
        END $$`);
      await q.query(`
        CREATE TRIGGER transactions_changes_${op} AFTER ${op.toUpperCase()} ON transactions
        REFERENCING ${REFERENCING[op]} FOR EACH STATEMENT
        EXECUTE FUNCTION transaction_changes_after_${op}()`);
    }
    await q.query(`
      CREATE FUNCTION transaction_changes_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO transaction_change_resets (owner_id) VALUES (NULL);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER transactions_changes_truncate AFTER TRUNCATE ON transactions
      FOR EACH STATEMENT EXECUTE FUNCTION transaction_changes_after_truncate()`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const op of ['insert', 'update', 'delete', 'truncate']) {
      await q.query(`DROP TRIGGER transactions_changes_${op} ON transactions`);
      await q.query(`DROP FUNCTION transaction_changes_after_${op}()`);
    }
    await q.query(`DROP TABLE transaction_change_horizon`);
    await q.query(`DROP TABLE transaction_change_resets`);
    await q.query(`DROP TABLE transaction_changes`);
  }
}
