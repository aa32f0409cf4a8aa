import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JWT_SECRET, startApp, type TestApp } from '../app';

interface Exit {
  code: number | null;
  stderr: string;
  stdout: string;
}

/**
 * Runs the built app with exactly `env` (plus PATH) and waits for it to exit. The database URL
 * names a database that does not exist, so a configuration that is wrongly accepted fails later
 * with a message that names no variable, instead of touching a real database.
 */
function runApp(env: Record<string, string | undefined>): Promise<Exit> {
  const server = process.env.TEST_PG_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const url = new URL(server);
  url.pathname = '/finance_config_test_does_not_exist';
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    PORT: '0',
    DATABASE_URL: url.toString(),
    DATA_DIR: mkdtempSync(join(tmpdir(), 'finance-config-')),
    JWT_SECRET,
    LOG_LEVEL: 'warn',
  };
  const merged: Record<string, string> = { ...base };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete merged[key];
    else merged[key] = value;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'src', 'main.js')], {
      env: merged,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the app did not stop on invalid configuration:\n${stdout}${stderr}`));
    }, 150_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What each refused start is expected to name; the secrets must not be echoed back. */
const SHORT_SECRET = 'too-short-but-secret-42';
const DB_PASSWORD = 'hunter2-db-password';
const REFUSED: [string, Record<string, string | undefined>, string[]][] = [
  ['PORT that is not a number', { PORT: 'abc' }, ['PORT']],
  ['BCRYPT_ROUNDS below 4', { BCRYPT_ROUNDS: '2' }, ['BCRYPT_ROUNDS']],
  [
    'NODE_ENV=production without JWT_SECRET',
    { NODE_ENV: 'production', JWT_SECRET: undefined },
    ['JWT_SECRET'],
  ],
  ['JWT_SECRET shorter than 32 characters', { JWT_SECRET: SHORT_SECRET }, ['JWT_SECRET']],
  ['CORS_ORIGINS=*', { CORS_ORIGINS: '*' }, ['CORS_ORIGINS']],
  ['a * among CORS_ORIGINS', { CORS_ORIGINS: 'https://a.example,*' }, ['CORS_ORIGINS']],
  ['a CORS origin without a scheme', { CORS_ORIGINS: 'a.example' }, ['CORS_ORIGINS']],
  ['a CORS origin with a trailing slash', { CORS_ORIGINS: 'https://a.example/' }, ['CORS_ORIGINS']],
  ['an unknown LOG_LEVEL', { LOG_LEVEL: 'loud' }, ['LOG_LEVEL']],
  ['a HOST that is neither an address nor a host name', { HOST: 'not a host' }, ['HOST']],
  [
    'a DATABASE_DIRECT_URL that is not PostgreSQL',
    { DATABASE_DIRECT_URL: 'redis://h' },
    ['DATABASE_DIRECT_URL'],
  ],
  [
    'a DATABASE_REPLICA_URL entry that is not PostgreSQL',
    { DATABASE_REPLICA_URL: `postgres://127.0.0.1:5433/db,mysql://app:${DB_PASSWORD}@h/db` },
    ['DATABASE_REPLICA_URL'],
  ],
  [
    'a DATABASE_REPLICA_URL of only commas',
    { DATABASE_REPLICA_URL: ',,' },
    ['DATABASE_REPLICA_URL'],
  ],
  ['REPLICA_MAX_LAG_MS that is not a number', { REPLICA_MAX_LAG_MS: '5s' }, ['REPLICA_MAX_LAG_MS']],
  ['a SHUTDOWN_DRAIN_MS over two minutes', { SHUTDOWN_DRAIN_MS: '120001' }, ['SHUTDOWN_DRAIN_MS']],
  ['a negative REPLICA_MAX_LAG_MS', { REPLICA_MAX_LAG_MS: '-1' }, ['REPLICA_MAX_LAG_MS']],
  ['MIGRATIONS_RUN that is not a boolean', { MIGRATIONS_RUN: 'sometimes' }, ['MIGRATIONS_RUN']],
  ['JWT_ACCESS_TTL that is not a duration', { JWT_ACCESS_TTL: 'forever' }, ['JWT_ACCESS_TTL']],
  [
    'a DATABASE_URL that is not PostgreSQL',
    { DATABASE_URL: `mysql://app:${DB_PASSWORD}@h/db` },
    ['DATABASE_URL'],
  ],
  ['an ADMIN_PASSWORD over 72 bytes', { ADMIN_PASSWORD: 'p'.repeat(73) }, ['ADMIN_PASSWORD']],
  ['a TRUST_PROXY that is no address', { TRUST_PROXY: 'everyone' }, ['TRUST_PROXY']],
  ['two invalid variables', { PORT: 'abc', BCRYPT_ROUNDS: '2' }, ['PORT', 'BCRYPT_ROUNDS']],
];

describe('configuration', () => {
  describe('invalid values stop the start with a message naming the variable', () => {
    const exits = new Map<string, Exit>();

    // Loading the app costs a few CPU seconds per process: two at a time keeps this quicker than
    // one after the other without starving the other test worker's app.
    beforeAll(async () => {
      const queue = [...REFUSED];
      const worker = async () => {
        for (let next = queue.shift(); next; next = queue.shift())
          exits.set(next[0], await runApp(next[1]));
      };
      await Promise.all([worker(), worker()]);
    }, 240_000);

    it.each(REFUSED)('refuses %s', (label, _env, variables) => {
      const exit = exits.get(label)!;
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(exit.stderr).toContain('Invalid configuration');
      for (const variable of variables)
        expect(exit.stderr).toMatch(new RegExp(`\\b${variable}\\b`));
    });

    it('prints a plain message, not a stack trace', () => {
      for (const exit of exits.values()) expect(exit.stderr).not.toMatch(/\n\s+at /);
    });

    it('does not print the rejected secret', () => {
      const exit = exits.get('JWT_SECRET shorter than 32 characters')!;
      expect(exit.stderr + exit.stdout).not.toContain(SHORT_SECRET);
    });

    it('does not print the password of a rejected DATABASE_URL', () => {
      const exit = exits.get('a DATABASE_URL that is not PostgreSQL')!;
      expect(exit.stderr + exit.stdout).not.toContain(DB_PASSWORD);
    });

    it('does not print the password of a rejected DATABASE_REPLICA_URL', () => {
      const exit = exits.get('a DATABASE_REPLICA_URL entry that is not PostgreSQL')!;
      expect(exit.stderr + exit.stdout).not.toContain(DB_PASSWORD);
    });
  });

  describe('accepted values', () => {
    let app: TestApp | undefined;
    afterEach(async () => {
      await app?.stop();
      app = undefined;
    });

    it('starts with TRUST_PROXY=true', async () => {
      app = await startApp({ TRUST_PROXY: 'true' });
      await app.http().get('/health/ready').expect(200);
    });
  });

  describe('CORS_ORIGINS set to an allow-list', () => {
    let app: TestApp;
    const A = 'https://a.example';
    const C = 'https://c.example:8443';

    beforeAll(async () => {
      app = await startApp({ CORS_ORIGINS: ` ${A} , ${C} ` });
    });
    afterAll(() => app.stop());

    it('echoes an allowed origin and allows credentials', async () => {
      const res = await app.http().get('/health/live').set('Origin', A).expect(200);
      expect(res.headers['access-control-allow-origin']).toBe(A);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers.vary).toMatch(/origin/i);
    });

    it('echoes every origin of the list', async () => {
      const res = await app.http().get('/health/live').set('Origin', C).expect(200);
      expect(res.headers['access-control-allow-origin']).toBe(C);
    });

    it.each([
      ['another host', 'https://b.example'],
      ['the allowed host as a prefix of another', 'https://a.example.evil.test'],
      ['another scheme', 'http://a.example'],
      ['another port', 'https://a.example:8443'],
      ['null', 'null'],
    ])('sends no CORS headers for %s', async (_label, origin) => {
      const res = await app.http().get('/health/live').set('Origin', origin).expect(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('never answers with the wildcard origin', async () => {
      const res = await app.http().get('/health/live').set('Origin', A);
      expect(res.headers['access-control-allow-origin']).not.toBe('*');
    });

    it('answers a preflight from an allowed origin', async () => {
      const res = await app
        .http()
        .options('/api/v1/users')
        .set('Origin', A)
        .set('Access-Control-Request-Method', 'PATCH')
        .set('Access-Control-Request-Headers', 'authorization,content-type');
      expect(res.status).toBeLessThan(300);
      expect(res.headers['access-control-allow-origin']).toBe(A);
      expect(res.headers['access-control-allow-methods']).toMatch(/PATCH/);
      expect(res.headers['access-control-allow-headers']).toMatch(/authorization/i);
    });

    it('gives a preflight its request id and security headers too', async () => {
      const res = await app
        .http()
        .options('/api/v1/users')
        .set('Origin', A)
        .set('Access-Control-Request-Method', 'PATCH')
        .set('X-Request-Id', 'preflight-1');
      expect(res.status).toBeLessThan(300);
      expect(res.headers['x-request-id']).toBe('preflight-1');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    });

    it('answers an OPTIONS request without Access-Control-Request-Method like a preflight', async () => {
      // Not a bare 400 "Invalid Preflight Request" (@fastify/cors' strict default).
      const res = await app.http().options('/api/v1/users').set('Origin', A);
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(A);
    });

    it('answers a preflight from another origin without CORS headers', async () => {
      const res = await app
        .http()
        .options('/api/v1/users')
        .set('Origin', 'https://b.example')
        .set('Access-Control-Request-Method', 'POST');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('lets browser code read X-Request-Id and Retry-After', async () => {
      const res = await app.http().get('/api/v1/auth/me').set('Origin', A).expect(401);
      expect(res.headers['access-control-allow-origin']).toBe(A);
      const exposed = String(res.headers['access-control-expose-headers']).toLowerCase();
      expect(exposed).toContain('x-request-id');
      expect(exposed).toContain('retry-after');
    });
  });
});
