import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AuditAndIdempotency1764000004000 implements MigrationInterface {
  name = 'AuditAndIdempotency1764000004000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_logs (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        at          timestamptz NOT NULL DEFAULT clock_timestamp(),
        actor_id    uuid REFERENCES users(id),
        action      varchar(40) NOT NULL,
        entity_type varchar(20) NOT NULL,
        entity_id   uuid,
        changes     jsonb NOT NULL DEFAULT '{}',
        request_id  varchar(128),
        ip          varchar(64)
      )`);
    // The audit list, newest first, and its keyset cursor; each filter has its own leading column.
    await q.query(`CREATE INDEX audit_logs_at_idx ON audit_logs (at DESC, id DESC)`);
    await q.query(`CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_id, at DESC, id DESC)`);
    await q.query(
      `CREATE INDEX audit_logs_entity_idx ON audit_logs (entity_type, entity_id, at DESC, id DESC)`,
    );
    await q.query(`CREATE INDEX audit_logs_action_idx ON audit_logs (action, at DESC, id DESC)`);
    // Append-only, enforced by the database rather than by the absence of an API route.
    await q.query(`
      CREATE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_logs is append-only';
      END $$`);
    await q.query(
      `CREATE TRIGGER audit_logs_no_change BEFORE UPDATE OR DELETE ON audit_logs FOR EACH ROW EXECUTE FUNCTION audit_logs_append_only()`,
    );
    await q.query(
      `CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_append_only()`,
    );

    await q.query(`
      CREATE TABLE idempotency_keys (
        user_id       uuid NOT NULL REFERENCES users(id),
        key           varchar(255) NOT NULL,
        request_hash  char(64) NOT NULL,
        status_code   integer,
        response      text,
        location      varchar(255),
        created_at    timestamptz NOT NULL DEFAULT now(),
        completed_at  timestamptz,
        PRIMARY KEY (user_id, key)
      )`);
    // The purge of expired keys.
    await q.query(`CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE idempotency_keys`);
    await q.query(`DROP TABLE audit_logs`);
    await q.query(`DROP FUNCTION audit_logs_append_only()`);
  }
}
