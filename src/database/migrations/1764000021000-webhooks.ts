import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhooks (docs/api.md section 12): endpoints, one delivery row per (endpoint, event) with its latest
 * attempt, and the dispatcher's position in the events outbox.
 */
export class Webhooks1764000021000 implements MigrationInterface {
  name = 'Webhooks1764000021000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webhooks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        -- Who registered it: the reader the payloads are presented (and masked) for.
        owner_id uuid NOT NULL REFERENCES users(id),
        url text NOT NULL,
        events text[] NOT NULL,
        description text,
        -- Needed in clear to sign each delivery (HMAC), so it cannot be stored hashed.
        secret text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason text,
        failing_since timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        webhook_id uuid NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        -- The body as first presented: every attempt sends the same bytes.
        payload text NOT NULL,
        status text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed')),
        attempt integer NOT NULL DEFAULT 0,
        status_code integer,
        duration_ms integer,
        error text,
        next_attempt_at timestamptz,
        -- Held while an attempt is in flight: no two instances send the same delivery at once.
        lease_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        -- Automatic retries stop this long (WEBHOOK_RETRY_WINDOW) after it; a manual retry restarts it.
        window_started_at timestamptz NOT NULL DEFAULT now(),
        last_attempt_at timestamptz,
        delivered_at timestamptz
      )`);
    // One delivery per endpoint and event, so a re-run dispatch cannot duplicate it.
    await q.query(
      `CREATE UNIQUE INDEX webhook_deliveries_webhook_event ON webhook_deliveries (webhook_id, event_id)`,
    );
    // The delivery log of an endpoint, newest first.
    await q.query(
      `CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, created_at DESC, id DESC)`,
    );
    await q.query(`
      CREATE TABLE webhook_dispatch (
        id integer PRIMARY KEY CHECK (id = 1),
        tx xid8,
        seq bigint
      )`);
    // Starts at the end of the outbox: endpoints hear about changes from now on.
    await q.query(`
      INSERT INTO webhook_dispatch (id, tx, seq)
      SELECT 1, tx, seq FROM events ORDER BY tx DESC, seq DESC LIMIT 1`);
    await q.query(`INSERT INTO webhook_dispatch (id) VALUES (1) ON CONFLICT DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webhook_dispatch`);
    await q.query(`DROP TABLE webhook_deliveries`);
    await q.query(`DROP TABLE webhooks`);
  }
}
