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
