import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deactivating a user now revokes its API keys; before, they were only refused while the owner
 * was inactive and came back with a reactivation. The keys of users inactive today are revoked
 * now, so no reactivation revives them either. Not undone by `down`: which keys were merely
 * paused is not recorded.
 */
export class RevokeKeysOfInactiveUsers1764000060000 implements MigrationInterface {
  name = 'RevokeKeysOfInactiveUsers1764000060000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE api_keys k SET revoked_at = now()
      FROM users u
      WHERE u.id = k.user_id AND NOT u.is_active AND k.revoked_at IS NULL`);
  }

  async down(): Promise<void> {
    // Nothing to undo: a revocation is final.
  }
}
