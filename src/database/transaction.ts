import { AsyncLocalStorage } from 'node:async_hooks';
import { DatabaseError, type Pool, type PoolClient } from 'pg';
import { type DataSource, type EntityManager, QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable } from '../common/filters/pool-errors';
import type { Queryable } from './sql';

/**
 * The one rule that keeps the pool from starving: code that holds a pooled connection (inside a
 * transaction, or a checked-out client streaming a COPY or an export) does all its work on that
 * connection and never waits for a second one. With N connections and N such requests each
 * waiting for another, nothing moves until the timeouts fire.
 *
 * `inTransaction` and `holding` mark the async scope that holds a connection; `guardPool` makes
 * the pool refuse a checkout from inside such a scope at once, so a repository call that forgot
 * its transaction's manager fails loudly in every test instead of deadlocking under load.
 */
const holdingConnection = new AsyncLocalStorage<true>();

export class NestedConnectionError extends Error {
  constructor() {
    super(
      'A pooled connection was requested while this request already holds one (inside a transaction): pass the transaction manager instead',
    );
  }
}

/** Runs `fn` in one database transaction; everything inside must use `m`. */
export function inTransaction<T>(db: DataSource, fn: (m: EntityManager) => Promise<T>): Promise<T> {
  // eslint-disable-next-line no-restricted-properties -- the one place a transaction is opened
  return db.transaction((m) => holdingConnection.run(true, () => fn(m)));
}

/**
 * Runs `fn` with a checked-out pg client (COPY, a streamed export), inside the guarded scope. A
 * client whose work failed is discarded rather than returned to the pool mid-statement.
 */
export async function withClient<T>(
  db: DataSource | Pool,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await poolOf(db).connect();
  let failed = false;
  try {
    return await holdingConnection.run(true, () => fn(client));
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    client.release(failed);
  }
}

/**
 * A transaction on a checked-out client, for streams (a COPY, an export's cursor): BEGIN with
 * `begin`, no statement timeout (a stream is many messages, not one runaway statement), COMMIT
 * when `fn` resolves, ROLLBACK when it throws.
 */
export function inClientTransaction<T>(
  db: DataSource | Pool,
  begin:
    | 'BEGIN'
    | 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'
    | 'BEGIN ISOLATION LEVEL REPEATABLE READ',
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  return withClient(db, async (client) => {
    await client.query(begin);
    try {
      await client.query('SET LOCAL statement_timeout = 0');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}

/**
 * Installs the guards on a pool: the data source's (once, after it is initialised) or a
 * replica's. Besides the nested-checkout guard: a client on which a query met an unavailable
 * database (isDatabaseUnavailable: the connection broke, the server is shutting down, or it is
 * a standby that refused a write with 25006) is discarded when it is released, never handed to
 * the next request. TypeORM's query runner releases its client without an error whatever its
 * query met, and a connection that answered 25006 is otherwise healthy (it would answer 25006
 * again, on every write, until something closes it); docs/operations.md "High availability".
 */
export function guardPool(db: DataSource | Pool): void {
  const pool = poolOf(db);
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  pool.connect = ((...args: unknown[]) => {
    const callback = args[0];
    if (holdingConnection.getStore()) {
      const error = new NestedConnectionError();
      if (typeof callback === 'function') {
        (callback as (e: Error) => void)(error);
        return undefined;
      }
      return Promise.reject(error);
    }
    if (typeof callback === 'function') {
      // TypeORM's form: it keeps the third argument and calls it to release.
      return connect((error: Error | undefined, client?: PoolClient, release?: Release) => {
        if (!client || !release) return (callback as ConnectCallback)(error, client, release);
        const guarded = discardingRelease(client, release);
        return (callback as ConnectCallback)(error, client, guarded);
      });
    }
    return (connect() as Promise<PoolClient>).then((client) => {
      discardingRelease(client, client.release.bind(client));
      return client;
    });
  }) as Pool['connect'];
}

type Release = (error?: Error | boolean) => void;
type ConnectCallback = (error: Error | undefined, client?: PoolClient, release?: Release) => void;

/** Clients on which a query met an unavailable database: discarded at their release. */
const unavailableOn = new WeakSet<PoolClient>();
const watched = new WeakSet<PoolClient>();

function discardingRelease(client: PoolClient, release: Release): Release {
  if (!watched.has(client)) {
    watched.add(client);
    // pg-pool listens for a client's errors only while it is idle in the pool. One checked out
    // and waiting between statements (a COPY's or an export's transaction) whose session ends
    // from outside (a failover, pg_terminate_backend) would otherwise raise an unhandled 'error'
    // event and end the process; its next statement fails instead, and it is discarded.
    client.on('error', () => unavailableOn.add(client));
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((...args: unknown[]) => {
      const result = query(...args);
      if (result instanceof Promise) {
        void result.catch((error: unknown) => {
          if (isDatabaseUnavailable(error)) unavailableOn.add(client);
        });
      }
      return result;
    }) as PoolClient['query'];
  }
  // `||`, not `??`: withClient releases a client whose work succeeded with `false`, and one that
  // met an unavailable database on the way must still be discarded.
  const guarded: Release = (error) =>
    release(
      error ||
        (unavailableOn.has(client)
          ? new Error('discarded: the database was unavailable on this connection')
          : undefined),
    );
  client.release = guarded;
  return guarded;
}

/** The pg pool under a data source (TypeORM's postgres driver calls it `master`). */
export function poolOf(db: DataSource | Pool): Pool {
  return 'driver' in db ? (db.driver as unknown as { master: Pool }).master : db;
}

/**
 * Plain reads straight on a data source's pg pool: TypeORM's per-query QueryRunner (check out,
 * log, wrap, release) costs ~40 µs a statement (bench --cpu-prof), for SQL that needs none of it.
 * With `prepare` (real sessions, no transaction-pooling PgBouncer in front), each statement text
 * becomes a named prepared statement on each connection (`preparedName`; ReadRouting.reader says
 * which statements may). Errors come out as TypeORM's would, so the problem filter maps them the
 * same way: what the server reported is a QueryFailedError; a connection that could not be had
 * (pool timeout, nested checkout) stays as it is.
 */
export function poolReads(db: DataSource | Pool, prepare: boolean): Queryable {
  const pool = poolOf(db);
  return {
    query: (sql, params) =>
      pool
        .query({ text: sql, values: params, name: prepare ? preparedName(sql) : undefined })
        .catch((error: unknown) => {
          throw error instanceof DatabaseError ? new QueryFailedError(sql, params, error) : error;
        }),
  };
}

/**
 * The read statements the app prepares, by text. Their texts carry no values (parameters only),
 * so there are about a hundred (each dashboard read in two forms, own-currency and converting,
 * times the shapes of its range); past the cap a text runs unnamed, so a caller that put values in its
 * text could not grow every connection's prepared statements without bound.
 */
const PREPARED_CAP = 500;
const preparedNames = new Map<string, string>();

/**
 * The name a read's text is prepared under. A prepared statement is parsed once per connection,
 * and PostgreSQL may keep its plan: after five executions it compares a generic plan with the
 * custom ones and keeps the generic one only when it is no costlier. A dashboard's rollup
 * statement spends ~150 µs of the server's CPU in parsing and planning otherwise
 * (docs/performance.md, "Prepared reads").
 */
function preparedName(sql: string): string | undefined {
  let name = preparedNames.get(sql);
  if (name === undefined && preparedNames.size < PREPARED_CAP) {
    name = `read_${preparedNames.size}`;
    preparedNames.set(sql, name);
  }
  return name;
}
