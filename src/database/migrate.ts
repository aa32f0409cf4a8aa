import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

// pg_advisory_lock key of the migration step.
const MIGRATION_LOCK = 727000;

/**
 * Brings the schema up to date before the app starts serving. Instances started at the same
 * moment queue on a session advisory lock, so exactly one runs the pending migrations (all in one
 * transaction) and the others, once they get the lock, find nothing left to do. It needs a real
 * session, so `url` must bypass a transaction-pooling PgBouncer (DATABASE_DIRECT_URL). One
 * connection, no statement timeout: waiting for the lock or building an index on a large table
 * may take minutes.
 */
export async function migrate(url: string): Promise<void> {
  const db = await open(url);
  try {
    await db.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await db.runMigrations({ transaction: 'all' });
    } finally {
      await db.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await db.destroy();
  }
}

/** With MIGRATIONS_RUN=false (a separate release step migrates): refuses to start on a stale schema. */
export async function assertMigrated(url: string): Promise<void> {
  const db = await open(url);
  try {
    if (await db.showMigrations()) {
      throw new Error(
        'The database has pending migrations and MIGRATIONS_RUN=false: run `npm run migration:run` (or start once with MIGRATIONS_RUN=true)',
      );
    }
  } finally {
    await db.destroy();
  }
}

function open(url: string): Promise<DataSource> {
  // A single pooled connection: the lock and the migrations share one session.
  return new DataSource(dataSourceOptions({ url, poolMax: 1, statementTimeoutMs: 0 })).initialize();
}
