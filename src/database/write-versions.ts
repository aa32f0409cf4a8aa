import type { QueryRunner } from 'typeorm';

/**
 * The per-owner write versions of the search-and-versions migration (its comment says how they
 * worked), kept outside the migrations folder so the migration loader sees only migrations. The
 * change log replaced them; drop-write-versions removes them and its `down` brings them back.
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

export async function createWriteVersions(q: QueryRunner): Promise<void> {
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

export async function dropWriteVersions(q: QueryRunner): Promise<void> {
  for (const op of ['insert', 'update', 'delete', 'truncate']) {
    await q.query(`DROP TRIGGER transactions_version_${op} ON transactions`);
    await q.query(`DROP FUNCTION transaction_version_after_${op}()`);
  }
  await q.query(`DROP TABLE transaction_versions`);
}
