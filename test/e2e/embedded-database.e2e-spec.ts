import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { serverSettings } from '../../src/database/server-settings';
import { startApp, type TestApp } from '../app';

/**
 * `npm start` without DATABASE_URL (docs/operations.md, "Configuration"): the app starts its own
 * PostgreSQL in DATA_DIR/pg, with the settings for imports (src/database/server-settings.ts).
 */
describe('the embedded PostgreSQL', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'finance-embedded-'));
  let app: TestApp;

  beforeAll(async () => {
    app = await startApp({ DATABASE_URL: '', DATA_DIR: dataDir, LOG_LEVEL: 'info' });
  }, 90_000);

  afterAll(async () => {
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the API from its own server, started with the settings for imports', async () => {
    await app.http().get('/health/ready').expect(200);
    const port = /embedded PostgreSQL listening on 127\.0\.0\.1:(\d+)/.exec(app.logs())?.[1];
    expect(port).toBeDefined();
    const client = new Client({
      connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/finance`,
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string; value: string }>(
        `SELECT name, setting || coalesce(unit, '') AS value FROM pg_settings
         WHERE name IN ('max_wal_size', 'checkpoint_timeout') ORDER BY name`,
      );
      expect(rows).toEqual([
        { name: 'checkpoint_timeout', value: '900s' },
        { name: 'max_wal_size', value: '4096MB' },
      ]);
      // The app runs on this machine, so it sized the buffers from the same memory as here.
      const { rows: buffers } = await client.query<{ mb: string }>(
        `SELECT (setting::bigint * 8 / 1024) || 'MB' AS mb FROM pg_settings WHERE name = 'shared_buffers'`,
      );
      expect(serverSettings()).toContain(`shared_buffers=${buffers[0].mb}`);
      // The migrated schema is there: the app runs on this server, not on the test server.
      const { rows: tables } = await client.query(`SELECT to_regclass('transactions') AS t`);
      expect(tables[0].t).toBe('transactions');
    } finally {
      await client.end();
    }
  });

  it("says why when its server refuses to start, with the server's own words", async () => {
    // A data directory that only looks like a cluster: PG_VERSION and nothing else.
    const broken = mkdtempSync(join(tmpdir(), 'finance-embedded-broken-'));
    mkdirSync(join(broken, 'pg'));
    writeFileSync(join(broken, 'pg', 'PG_VERSION'), '18\n');
    try {
      await expect(
        startApp({ DATABASE_URL: '', DATA_DIR: broken, LOG_LEVEL: 'info' }),
      ).rejects.toThrow(/the embedded PostgreSQL in .* did not start[\s\S]*postgresql\.conf/);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  }, 60_000);
});
