import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every change to a user row is announced on the `finance_users` channel (payload: the user id),
 * so each app instance can drop its cached copy of that user at once, whoever made the change:
 * another instance, a migration or plain SQL. NOTIFY is delivered on commit.
 */
export class UserChangeNotify1764000008000 implements MigrationInterface {
  name = 'UserChangeNotify1764000008000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION users_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('finance_users', OLD.id::text);
        RETURN NULL;
      END $$`);
    await q.query(
      `CREATE TRIGGER users_notify_change AFTER UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION users_notify_change()`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER users_notify_change ON users`);
    await q.query(`DROP FUNCTION users_notify_change()`);
  }
}
