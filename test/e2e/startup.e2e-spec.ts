import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { ADMIN, JWT_SECRET, startApp, type TestApp } from '../app';

/**
 * Start-up against a shared database (docs/api.md section 13): instances started at the same moment on
 * an empty database all become ready, with each migration applied once and one bootstrapped
 * admin; MIGRATIONS_RUN=false leaves migrating to a release step and refuses a stale schema.
 */

const MIGRATIONS = readdirSync(join(__dirname, '..', '..', 'dist', 'src', 'database', 'migrations'))
  .filter((f) => f.endsWith('.js'))
  .map((f) => f.replace(/\.js$/, ''));

function serverUrl(): string {
  const url = process.env.TEST_PG_SERVER_URL;
  if (!url) throw new Error('TEST_PG_SERVER_URL is not set; run through jest');
  return url;
}

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: serverUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh, empty database on the test server and its URL. */
async function emptyDatabase(): Promise<{ name: string; url: string }> {
  const name = `finance_startup_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

const dropDatabase = (name: string) =>
  admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

describe('start-up on a shared database', () => {
  it('brings three instances started at the same moment on an empty database to ready, migrating once', async () => {
    const db = await emptyDatabase();
    let apps: TestApp[] = [];
    try {
      apps = await Promise.all([1, 2, 3].map(() => startApp({}, { databaseUrl: db.url })));
      for (const app of apps) await app.http().get('/health/ready').expect(200);
      const { rows } = await apps[0].sql.query<{ name: string; n: number }>(
        'SELECT name, count(*)::int AS n FROM migrations GROUP BY name ORDER BY name',
      );
      expect(rows.map((r) => r.n)).toEqual(MIGRATIONS.map(() => 1));
      expect(rows).toHaveLength(MIGRATIONS.length);
      const users = await apps[0].sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM users WHERE email = $1',
        [ADMIN.email],
      );
      expect(users.rows[0].n).toBe(1);
      // Every instance serves the same data.
      for (const app of apps) {
        await app.http().post('/api/v1/auth/login').send(ADMIN).expect(200);
      }
    } finally {
      await Promise.all(apps.map((app) => app.stop()));
      await dropDatabase(db.name);
    }
  });

  it('with MIGRATIONS_RUN=false starts on a migrated database and refuses a database with pending migrations', async () => {
    const db = await emptyDatabase();
    try {
      // An empty database: the start stops with a message naming the setting.
      const refused = await new Promise<{ code: number | null; output: string }>((resolve) => {
        let output = '';
        const child = spawn(
          process.execPath,
          [join(__dirname, '..', '..', 'dist', 'src', 'main.js')],
          {
            env: {
              PATH: process.env.PATH,
              NODE_ENV: 'test',
              PORT: '0',
              DATABASE_URL: db.url,
              JWT_SECRET,
              MIGRATIONS_RUN: 'false',
              LOG_LEVEL: 'warn',
            },
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        child.once('exit', (code) => resolve({ code, output }));
      });
      expect(refused.code).toBe(1);
      expect(refused.output).toContain('MIGRATIONS_RUN=false');
      expect(refused.output).toContain('pending migrations');

      // Migrated by a first instance, the database then serves one started with MIGRATIONS_RUN=false.
      const migrator = await startApp({}, { databaseUrl: db.url });
      await migrator.stop();
      const app = await startApp({ MIGRATIONS_RUN: 'false' }, { databaseUrl: db.url });
      try {
        await app.http().post('/api/v1/auth/login').send(ADMIN).expect(200);
      } finally {
        await app.stop();
      }
    } finally {
      await dropDatabase(db.name);
    }
  });
});
