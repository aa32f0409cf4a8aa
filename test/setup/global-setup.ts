import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Provides one PostgreSQL server for the run: TEST_DATABASE_URL when set (CI points it at the
 * machine's server), else an embedded one in a temp dir. Each test file then creates its own
 * fresh database on it (see test/app.ts), so files never share rows.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) {
    process.env.TEST_PG_SERVER_URL = process.env.TEST_DATABASE_URL;
    return;
  }
  const { startEmbeddedDatabase } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../../dist/src/database/embedded-database') as typeof import('../../src/database/embedded-database');
  const dir = mkdtempSync(join(tmpdir(), 'finance-test-pg-'));
  const db = await startEmbeddedDatabase(dir, 'postgres');
  process.env.TEST_PG_SERVER_URL = db.url;
  (globalThis as { __embeddedPg?: { stop(): Promise<void> } }).__embeddedPg = db;
}
