import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';

export interface TestDatabase {
  url: string;
  drop: () => Promise<void>;
}

/** The PostgreSQL server of this run, provided by the global setup (test/setup/global-setup.ts). */
export function testServerUrl(): string {
  const server = process.env.TEST_PG_SERVER_URL;
  if (!server)
    throw new Error('TEST_PG_SERVER_URL is not set; run the tests through jest (global setup)');
  return server;
}

/**
 * The tests' own pool on a test database, for their SQL beside the app's. It ignores errors of
 * idle connections: a test terminating backends kills them, and so can the DROP ... WITH (FORCE)
 * that ends a file, since pg-pool's end() resolves before its connections have closed and they
 * keep the pool's listener. Unhandled, that 'error' event fails whichever test the jest worker
 * is running then.
 */
export function testPool(connectionString: string): Pool {
  const pool = new Pool({ connectionString, max: 4 });
  pool.on('error', () => undefined);
  return pool;
}

/** A fresh, empty database on the run's server, so test files never share rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = testServerUrl();
  const name = `finance_test_${randomBytes(6).toString('hex')}`;
  await onServer(server, `CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => onServer(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function onServer(server: string, sql: string): Promise<void> {
  const admin = new Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}
