import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys revoked or expired for 30 days are deleted (a job), while the audit entries they wrote
 * stay and keep the key's id: `audit_logs.api_key_id` stops being a foreign key. The trail is
 * append-only, so the reference could be neither cleared nor cascaded, and it blocked the delete.
 *
 * No index for the purge: the table holds at most 20 live keys per user plus a month of ended
 * ones, and the hourly purge reads it once.
 */
export class AuditOutlivesApiKeys1764000061000 implements MigrationInterface {
  name = 'AuditOutlivesApiKeys1764000061000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_api_key_id_fkey`);
  }

  async down(q: QueryRunner): Promise<void> {
    // NOT VALID: entries of deleted keys keep ids that no longer exist.
    await q.query(
      `ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_api_key_id_fkey
       FOREIGN KEY (api_key_id) REFERENCES api_keys(id) NOT VALID`,
    );
  }
}
