import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import type request from 'supertest';
import { contractCheckedRequest } from './contract';
import { createTestDatabase, testPool } from './database';
import { freePort } from './ports';

export const ADMIN = { email: 'root@test.local', password: 'root-password-1' };
export const JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

/**
 * The settings every test instance runs with, in process (test/integration/harness.ts) or as a
 * process: a fresh data dir, the known admin, cheap hashing and limits no test reaches by accident.
 */
export function testEnv(databaseUrl: string): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'finance-test-data-')),
    JWT_SECRET,
    BCRYPT_ROUNDS: '4',
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    THROTTLE_LIMIT: '100000',
    THROTTLE_LOGIN_LIMIT: '100000',
    THROTTLE_LOGIN_IP_LIMIT: '100000',
    LOG_LEVEL: 'warn',
  };
}

export interface TestApp {
  url: string;
  /** supertest against the app; every response of a documented operation is checked against openapi.json. */
  http: () => ReturnType<typeof request>;
  sql: Pool;
  logs: () => string;
  stop: () => Promise<void>;
  /** The database this instance runs on; pass it to another startApp to share it. */
  databaseUrl: string;
  /** The app's process, for tests that signal it or wait for its exit. */
  child: ChildProcess;
}

export interface StartOptions {
  /**
   * Run on this existing database (another instance's `databaseUrl`) instead of a fresh one. The
   * instance that created the database drops it on stop; this one leaves it alone.
   */
  databaseUrl?: string;
}

/**
 * Starts the built app (dist/) as a real process on its own fresh database, the way `npm start`
 * runs it. The e2e tests talk to it over HTTP only.
 */
export async function startApp(
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<TestApp> {
  if (process.env.TEST_EXTERNAL_URL) return externalApp(process.env.TEST_EXTERNAL_URL, env);
  const ownsDatabase = options.databaseUrl === undefined;
  const created = ownsDatabase ? await createTestDatabase() : undefined;
  const databaseUrl = options.databaseUrl ?? created!.url;

  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [join(__dirname, '..', 'dist', 'src', 'main.js')],
    {
      env: {
        PATH: process.env.PATH,
        ...testEnv(databaseUrl),
        PORT: String(port),
        // The tests talk to 127.0.0.1 only, so every instance exercises the HOST setting.
        HOST: '127.0.0.1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitForReady(url, child, () => output);

  const sql = testPool(databaseUrl);
  return {
    url,
    http: () => contractCheckedRequest(url),
    sql,
    logs: () => output,
    databaseUrl,
    child,
    stop: async () => {
      await sql.end();
      await stopProcess(child);
      await created?.drop();
    },
  };
}

// Never leave an app process behind when a hook fails or times out: it would keep jest alive.
const running = new Set<ChildProcess>();
process.once('exit', () => running.forEach((child) => child.kill('SIGKILL')));

export function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  // Already gone (exited, or killed by a signal): the exit event will not fire again.
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill(signal);
  });
}

async function waitForReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`app exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`app did not become ready:\n${output()}`);
}

/**
 * TEST_EXTERNAL_URL: the tests talk to an app that is already running there (the topology behind
 * HAProxy: scripts/topology/e2e.sh) instead of spawning one, and TEST_EXTERNAL_DATABASE_URL is
 * its database, for the tests' own SQL. Only files that need no settings of their own, no process
 * and no database to themselves can run this way.
 */
function externalApp(url: string, env: Record<string, string>): TestApp {
  if (Object.keys(env).length > 0) {
    throw new Error(
      `this test starts its app with its own settings (${Object.keys(env).join(', ')}): not runnable against TEST_EXTERNAL_URL`,
    );
  }
  const databaseUrl = process.env.TEST_EXTERNAL_DATABASE_URL;
  if (!databaseUrl) throw new Error('TEST_EXTERNAL_URL needs TEST_EXTERNAL_DATABASE_URL');
  const sql = testPool(databaseUrl);
  return {
    url,
    http: () => contractCheckedRequest(url),
    sql,
    logs: () => '',
    databaseUrl,
    get child(): ChildProcess {
      throw new Error(
        'an external app has no process here: not runnable against TEST_EXTERNAL_URL',
      );
    },
    stop: () => sql.end(),
  };
}
