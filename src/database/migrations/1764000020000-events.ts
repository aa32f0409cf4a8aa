import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox of section 12: one row per change, written in the change's own transaction.
 *
 * `tx` is the writing transaction's id. Identity values are handed out at INSERT but become
 * visible at COMMIT, so a reader paging by `seq` alone could pass a row whose transaction commits
 * later and never see it. The feed (and the webhook dispatcher) therefore only hand out events of
 * transactions older than every transaction of this database still running, ordered by
 * `(tx, seq)`: nothing can ever appear behind a cursor already given out.
 */
export class Events1764000020000 implements MigrationInterface {
  name = 'Events1764000020000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq bigint GENERATED ALWAYS AS IDENTITY,
        tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
        type text NOT NULL,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        actor_id uuid,
        -- The owner of the transaction(s) the event is about: who besides organisation readers
        -- may read it. NULL for user events.
        owner_id uuid,
        data jsonb NOT NULL
      )`);
    // The feed and the dispatcher: everything past a cursor, oldest first.
    await q.query(`CREATE INDEX events_tx_seq ON events (tx, seq)`);
    // The feed of a non-admin: their own events past a cursor.
    await q.query(`CREATE INDEX events_owner_tx_seq ON events (owner_id, tx, seq)`);
    // Retention: the oldest first.
    await q.query(`CREATE INDEX events_occurred_at ON events (occurred_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE events`);
  }
}
