import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Transactions1764000001000 implements MigrationInterface {
  name = 'Transactions1764000001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await q.query(`CREATE TYPE transaction_type AS ENUM ('income', 'expense')`);
    await q.query(`
      CREATE TABLE transactions (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id    uuid NOT NULL REFERENCES users(id),
        type        transaction_type NOT NULL,
        amount      numeric(14,2) NOT NULL CONSTRAINT transactions_amount_positive CHECK (amount > 0),
        category    varchar(64) NOT NULL CONSTRAINT transactions_category_not_blank CHECK (btrim(category) <> ''),
        date        date NOT NULL CONSTRAINT transactions_date_range CHECK (date BETWEEN '1900-01-01' AND '2999-12-31'),
        notes       varchar(1000),
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now(),
        deleted_at  timestamptz
      )`);
    // Owner lists in the default sort (-date, id) and their keyset cursor; also dashboard `recent`
    // by date for one user (created_at breaks ties there after a short scan of one date).
    await q.query(
      `CREATE INDEX transactions_owner_date_idx ON transactions (owner_id, date DESC, id DESC) WHERE deleted_at IS NULL`,
    );
    // Admin lists over the whole organisation in the default sort, and organisation-wide `recent`.
    await q.query(
      `CREATE INDEX transactions_date_idx ON transactions (date DESC, id DESC) WHERE deleted_at IS NULL`,
    );
    // Owner lists sorted by amount or by createdAt, and their cursors.
    await q.query(
      `CREATE INDEX transactions_owner_amount_idx ON transactions (owner_id, amount, id) WHERE deleted_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX transactions_owner_created_idx ON transactions (owner_id, created_at, id) WHERE deleted_at IS NULL`,
    );
    // Category filter (case-insensitive) within one owner's rows, newest first.
    await q.query(
      `CREATE INDEX transactions_owner_category_idx ON transactions (owner_id, lower(category), date DESC, id DESC) WHERE deleted_at IS NULL`,
    );
    // Search `q`: case-insensitive substring over category and notes.
    await q.query(
      `CREATE INDEX transactions_category_trgm_idx ON transactions USING gin (category gin_trgm_ops)`,
    );
    await q.query(
      `CREATE INDEX transactions_notes_trgm_idx ON transactions USING gin (notes gin_trgm_ops)`,
    );
    // Admin views of deleted rows (deleted=only) stay cheap however many live rows exist.
    await q.query(
      `CREATE INDEX transactions_deleted_idx ON transactions (deleted_at DESC) WHERE deleted_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE transactions`);
    await q.query(`DROP TYPE transaction_type`);
  }
}
