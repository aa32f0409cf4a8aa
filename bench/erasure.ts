/**
 * The erasure job's SQL on a large user, step by step:
 *
 *   npm run build
 *   DATABASE_URL=postgres://…/bench npm run bench:data -- --users 5 --transactions 250000 --reset
 *   DATABASE_URL=postgres://…/bench npm run bench:erasure [-- --user bench-analyst-1@example.com]
 *
 * Gives every transaction an audit entry and an event first (once), as creating them through the
 * API would, so the redaction and the event delete have the trail and outbox of a real history.
 * Runs the steps of ErasureService.run in one transaction and rolls it back, so it can be repeated.
 */
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { ErasureRepository } from '../src/lifecycle/erasure.repository';
import { benchAnalystEmail } from './shared';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { user: { type: 'string' } } });
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is required (a database filled by bench:data)');
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: histories } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM audit_logs WHERE action = 'transaction.create'`,
    );
    if (histories[0].n === '0') {
      const started = Date.now();
      await client.query(`
        INSERT INTO audit_logs (actor_id, action, entity_type, entity_id, changes, ip)
        SELECT owner_id, 'transaction.create', 'transaction', id, jsonb_build_object(
          'ownerId', jsonb_build_object('before', null, 'after', owner_id),
          'notes', jsonb_build_object('before', null, 'after', notes),
          'amount', jsonb_build_object('before', null, 'after', amount::text)), '10.0.0.1'
        FROM transactions`);
      await client.query(`
        INSERT INTO events (type, actor_id, owner_id, data)
        SELECT 'transaction.created', owner_id, owner_id, jsonb_build_object(
          'id', id, 'ownerId', owner_id, 'notes', notes, 'amount', amount::text)
        FROM transactions`);
      await client.query('ANALYZE audit_logs; ANALYZE events');
      console.log(
        `history: one audit entry and one event per transaction in ${Date.now() - started} ms`,
      );
    }
    const email = values.user ?? benchAnalystEmail(1);
    const { rows: found } = await client.query<{ id: string }>(
      'SELECT id FROM users WHERE email = $1',
      [email],
    );
    if (!found[0]) throw new Error(`no user ${email}`);
    const sizes = await client.query<{ transactions: string; audit: string; events: string }>(
      `SELECT (SELECT count(*) FROM transactions WHERE owner_id = $1) AS transactions,
              (SELECT count(*) FROM audit_logs) AS audit, (SELECT count(*) FROM events) AS events`,
      [found[0].id],
    );
    console.log(`user ${email}: ${JSON.stringify(sizes.rows[0])}`);
    const repo = new ErasureRepository();
    await client.query('BEGIN');
    const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
      const started = process.hrtime.bigint();
      const result = await work();
      const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
      console.log(`${name}: ${ms} ms ${typeof result === 'object' ? JSON.stringify(result) : ''}`);
      return result;
    };
    const total = process.hrtime.bigint();
    const user = await repo.lockTarget(client, found[0].id);
    if (!user) throw new Error('the user vanished');
    await repo.allowAuditRedaction(client);
    await step('redact audit', async () => ({ entries: await repo.redactAudit(client, user) }));
    await step('delete owned rows', () => repo.deleteOwnedRows(client, user.id));
    await step('redact audit again', async () => ({
      entries: await repo.redactAudit(client, user),
    }));
    await step('delete copies', () => repo.deleteCopies(client, user));
    await step('tombstone', () => repo.tombstone(client, user.id, 'x'));
    console.log(
      `total: ${Number((process.hrtime.bigint() - total) / 1_000_000n)} ms (rolled back)`,
    );
    await client.query('ROLLBACK');
  } finally {
    await client.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
