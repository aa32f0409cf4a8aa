import { Injectable } from '@nestjs/common';
import { Params, type Queryable, query } from '../database/sql';
import { purgeRows } from '../database/purge';
import { TOMBSTONE_NAME, tombstoneEmail } from '../users/tombstone';

export interface ErasureTarget {
  id: string;
  name: string;
  email: string;
}

/** Audit fields whose values are personal wherever they describe the erased user or their rows. */
const PERSONAL_AUDIT_FIELDS = ['name', 'email', 'notes', 'description', 'url'];

/** `%text%` for LIKE/ILIKE, with the text's own wildcards escaped. */
const containing = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Every query of an erasure (docs/api.md section 17), all through the caller's transaction: the
 * job runs them in one, so a crash or a conflict leaves the user as it was and the retry redoes
 * all of it.
 */
@Injectable()
export class ErasureRepository {
  /**
   * The user, locked FOR UPDATE (not NO KEY UPDATE) on purpose: that also blocks the foreign-key
   * checks of rows being inserted for the user by transactions that have not committed yet (an
   * import's COPY), so the erasure waits for them and then deletes what they wrote, and later
   * inserts wait for the erasure and then find the user inactive.
   */
  async lockTarget(db: Queryable, id: string): Promise<ErasureTarget | undefined> {
    const [row] = await query<ErasureTarget>(
      db,
      `SELECT id, name, email FROM users WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return row;
  }

  /**
   * Takes the webhook dispatcher's position row: a dispatch round in flight is waited for, so the
   * deliveries it copies from the user's events are committed before the deletes below see them;
   * later rounds skip (SKIP LOCKED) until the erasure commits, so none copies an event this
   * transaction is deleting. Taken right after the user's lock: a round locks no user row.
   */
  async lockDispatch(db: Queryable): Promise<void> {
    await db.query(`SELECT 1 FROM webhook_dispatch WHERE id = 1 FOR UPDATE`);
  }

  /**
   * Lets this transaction, and only it, rewrite audit entries (the erasure migration). JIT off:
   * the planner prices the whole-table scans below high enough to compile them, which cost more
   * than it saved (measured: about 1.2 s of a 14 s redaction).
   */
  async allowAuditRedaction(db: Queryable): Promise<void> {
    await db.query(
      `SELECT set_config('finance.erasure', 'on', true), set_config('jit', 'off', true)`,
    );
  }

  /**
   * Strips the user's personal values from the trail while every entry keeps its id, time, actor,
   * action and entity. Entries about the user or their rows (found by entity, by an `ownerId` or
   * `userId` in the changes, or by being about an entity such an entry names, which reaches the
   * updates of rows purged long ago) lose their names, emails, notes, descriptions and URLs;
   * any entry whose value holds the email loses that value; entries the user made lose their IP.
   * Entries that carry nothing personal are left as they are. Safe to run twice.
   */
  async redactAudit(db: Queryable, user: ErasureTarget): Promise<number> {
    const params = new Params();
    const id = params.p(user.id);
    const idText = params.p(containing(user.id));
    const email = params.p(containing(user.email));
    const fields = params.p(PERSONAL_AUDIT_FIELDS);
    const erased = (v: string) =>
      `CASE WHEN ${v} = 'null'::jsonb THEN ${v} ELSE '"[erased]"'::jsonb END`;
    const rows = await query<{ id: string }>(
      db,
      `WITH owned AS (
         SELECT id FROM transactions WHERE owner_id = ${id}
         UNION SELECT id FROM transfers WHERE owner_id = ${id}
         UNION SELECT id FROM accounts WHERE owner_id = ${id}
         UNION SELECT id FROM budgets WHERE owner_id = ${id}
         UNION SELECT id FROM api_keys WHERE user_id = ${id}
         UNION SELECT id FROM webhooks WHERE owner_id = ${id}
         UNION SELECT entity_id FROM audit_logs
           WHERE entity_id IS NOT NULL AND entity_type <> 'user' AND changes::text LIKE ${idText}
       ),
       linked AS (
         SELECT a.id, a.entity_id = ${id} OR a.entity_id IN (SELECT id FROM owned)
             OR a.changes::text LIKE ${idText} AS about
         FROM audit_logs a
         WHERE a.actor_id = ${id} OR a.entity_id = ${id} OR a.entity_id IN (SELECT id FROM owned)
           OR a.changes::text LIKE ${idText} OR a.changes::text ILIKE ${email}
       ),
       redacted AS MATERIALIZED (
         SELECT a.id, coalesce((
             SELECT jsonb_object_agg(k, CASE
               WHEN (l.about AND k = ANY(${fields}::text[])) OR v::text ILIKE ${email} THEN
                 CASE WHEN jsonb_typeof(v) = 'object' AND v ? 'before' AND v ? 'after'
                   THEN jsonb_build_object('before', ${erased("v->'before'")}, 'after', ${erased("v->'after'")})
                   ELSE ${erased('v')} END
               ELSE v END)
             FROM jsonb_each(a.changes) e (k, v)), '{}'::jsonb) AS changes,
           CASE WHEN a.actor_id = ${id} THEN NULL ELSE a.ip END AS ip
         FROM audit_logs a JOIN linked l ON l.id = a.id
       )
       -- Only what changes: a second pass rewrites just the entries written since the first.
       UPDATE audit_logs a SET changes = r.changes, ip = r.ip
       FROM redacted r
       WHERE r.id = a.id AND (r.changes IS DISTINCT FROM a.changes OR r.ip IS DISTINCT FROM a.ip)
       RETURNING a.id`,
      params.values,
    );
    return rows.length;
  }

  /**
   * Deletes the user's rows, children before parents: budgets (their alerts cascade) before the
   * transactions, so the budget triggers find nothing to check; transfers and transactions before
   * the accounts they reference. Transactions go through `purgeRows`, whose DELETE the rollup
   * triggers subtract, so every dashboard stays exact. Returns the rows deleted per table.
   */
  async deleteOwnedRows(db: Queryable, userId: string): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {};
    const run = async (table: string, sql: string) => {
      deleted[table] = (await query(db, `${sql} RETURNING 1`, [userId])).length;
    };
    await run('budgets', `DELETE FROM budgets WHERE owner_id = $1`);
    await run('transfers', `DELETE FROM transfers WHERE owner_id = $1`);
    const params = new Params();
    const pick = `SELECT id FROM transactions WHERE owner_id = ${params.p(userId)}`;
    deleted.transactions = (await purgeRows(db, params, 'transactions', pick, () => [])).length;
    await run('accounts', `DELETE FROM accounts WHERE owner_id = $1`);
    // Their deliveries cascade.
    await run('webhooks', `DELETE FROM webhooks WHERE owner_id = $1`);
    await run('api_keys', `DELETE FROM api_keys WHERE user_id = $1`);
    await run('refresh_tokens', `DELETE FROM refresh_tokens WHERE user_id = $1`);
    // Imports for the user and imports the user ran for others (their stored files cascade). The
    // rows an import wrote for someone else are that person's and stay.
    await run('imports', `DELETE FROM imports WHERE owner_id = $1 OR requested_by = $1`);
    // Exports of the user's data and exports the user asked for (their documents cascade).
    await run('exports', `DELETE FROM exports WHERE user_id = $1 OR requested_by = $1`);
    return deleted;
  }

  /**
   * What else copies the user's data: stored idempotent responses (the user's own, and anyone's
   * that returned the user or their rows), the outbox events about the user or their rows and
   * every webhook delivery that copied one, the transaction change log (whose DELETE images the
   * purge above just added, notes included) and the user's rollup rows (zero by now) with their
   * converted months.
   */
  async deleteCopies(db: Queryable, user: ErasureTarget): Promise<Record<string, number>> {
    const mentions = [user.id, containing(user.id), containing(user.email)];
    const count = async (sql: string, values: unknown[]) =>
      (await query(db, `${sql} RETURNING 1`, values)).length;
    const events = await query<{ id: string }>(
      db,
      `DELETE FROM events WHERE owner_id = $1 OR data::text LIKE $2 OR data::text ILIKE $3
       RETURNING id`,
      mentions,
    );
    const deliveries = await count(
      `DELETE FROM webhook_deliveries
       WHERE event_id = ANY($1::uuid[]) OR payload LIKE $2 OR payload ILIKE $3`,
      [events.map((e) => e.id), mentions[1], mentions[2]],
    );
    const idempotency = await count(
      `DELETE FROM idempotency_keys WHERE user_id = $1 OR response LIKE $2 OR response ILIKE $3`,
      mentions,
    );
    // A fill of converted rollups that read the user's rows before this transaction deleted them
    // could store them after it: wait for any in flight, and hold new ones off until commit (a
    // fill takes its snapshot after its table locks, so it then finds nothing of the user).
    await db.query(
      `LOCK TABLE rollup_converted, rollup_converted_totals IN SHARE ROW EXCLUSIVE MODE`,
    );
    // A reset makes every cached list total that spans this change count again, instead of
    // trusting a log that no longer holds the deleted images.
    await db.query(`INSERT INTO transaction_change_resets (owner_id) VALUES ($1)`, [user.id]);
    return {
      events: events.length,
      webhook_deliveries: deliveries,
      idempotency_keys: idempotency,
      transaction_changes: await count(`DELETE FROM transaction_changes WHERE owner_id = $1`, [
        user.id,
      ]),
      rollup_daily: await count(`DELETE FROM rollup_daily WHERE scope_id = $1`, [user.id]),
      rollup_monthly: await count(`DELETE FROM rollup_monthly WHERE scope_id = $1`, [user.id]),
      rollup_totals: await count(`DELETE FROM rollup_totals WHERE scope_id = $1`, [user.id]),
      rollup_converted: await count(`DELETE FROM rollup_converted WHERE scope_id = $1`, [user.id]),
      rollup_converted_totals: await count(
        `DELETE FROM rollup_converted_totals WHERE scope_id = $1`,
        [user.id],
      ),
    };
  }

  /**
   * The tombstone: the row stays (audit entries and foreign keys point at it), with nothing
   * personal left, inactive, and with the hash of a secret nobody holds. Its UPDATE NOTIFYs every
   * instance's user cache (the user-change-notify migration).
   */
  async tombstone(db: Queryable, id: string, passwordHash: string): Promise<void> {
    await db.query(
      `UPDATE users SET name = $2, email = $3, is_active = false, password_hash = $4,
         updated_at = now()
       WHERE id = $1`,
      [id, TOMBSTONE_NAME, tombstoneEmail(id), passwordHash],
    );
  }
}
