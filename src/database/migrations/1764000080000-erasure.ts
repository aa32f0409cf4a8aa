import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Erasure (docs/api.md section 17) must strip personal values from audit entries while keeping
 * the entries themselves, so the append-only rule gains one narrow exception: a transaction that
 * has set `finance.erasure` to `on` (SET LOCAL, so it cannot leak past that transaction) may
 * rewrite an entry's `changes` and clear its `ip`. Every other column stays immutable, and
 * DELETE and TRUNCATE stay refused for everyone.
 */
export class Erasure1764000080000 implements MigrationInterface {
  name = 'Erasure1764000080000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND current_setting('finance.erasure', true) = 'on'
          AND NEW.id = OLD.id AND NEW.at = OLD.at
          AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
          AND NEW.action = OLD.action AND NEW.entity_type = OLD.entity_type
          AND NEW.entity_id IS NOT DISTINCT FROM OLD.entity_id
          AND NEW.request_id IS NOT DISTINCT FROM OLD.request_id
          AND NEW.api_key_id IS NOT DISTINCT FROM OLD.api_key_id
          AND (NEW.ip IS NULL OR NEW.ip = OLD.ip) THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'audit_logs is append-only';
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_logs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_logs is append-only';
      END $$`);
  }
}
