/**
 * pg-pool gives up waiting for a free connection (`connectionTimeoutMillis`, DB_POOL_TIMEOUT_MS)
 * with a plain Error; a new connection that cannot be opened in time fails the same way. Both
 * mean "busy now, fine later": a 503 with Retry-After, never a 500.
 */
const POOL_TIMEOUTS = [
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
];

export function isPoolTimeout(error: unknown): boolean {
  return error instanceof Error && POOL_TIMEOUTS.includes(error.message);
}

/**
 * The database is not there for this request: its server shut down or crashed (57P01, 57P02),
 * is starting (57P03) or refuses the connection (ECONNREFUSED, or the database closed to
 * connections); the connection broke (08xxx, pg's "Connection
 * terminated"); or the server is a standby that cannot write (25006: a failover has not reached
 * this connection yet); or PgBouncer cannot reach a server for it (below). Each means "retry shortly" (a 503 with Retry-After), never a 500.
 */
const UNAVAILABLE_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '25006',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ETIMEDOUT',
]);
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
  // 55000 on connect: the database is closed to connections (ALLOW_CONNECTIONS false).
  /is not currently accepting connections$/,
];
/**
 * PgBouncer's own refusals, all SQLSTATE 08P01 (which PostgreSQL also uses for real protocol
 * violations, a defect: those stay 500s): its server connection died under the client, it cannot
 * log in to the server (during a failover no node leads), or no server connection came free
 * within query_wait_timeout.
 */
const PGBOUNCER_MESSAGES = [
  /^server conn crashed\?$/,
  /^server login has been failing/,
  /^pgbouncer cannot connect to server$/,
  /^query_wait_timeout$/,
  /^no more connections allowed/,
];

export function isDatabaseUnavailable(error: unknown): boolean {
  // TypeORM wraps the driver's error; a raw client's arrives as it is.
  const candidates = [error, (error as { driverError?: unknown } | null)?.driverError];
  return candidates.some((e) => {
    if (!(e instanceof Error) || POOL_TIMEOUTS.includes(e.message)) return false;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (code === '08P01' && PGBOUNCER_MESSAGES.some((pattern) => pattern.test(e.message)))
      return true;
    return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(e.message));
  });
}
