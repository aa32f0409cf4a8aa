/**
 * The benchmark's baseline (issue 15): the benchmarked routes on node:http and pg alone, over the
 * same database, schema and SQL as the product. It is the ceiling the product is measured
 * against, not a product: no framework, validation only as far as the queries need it, no
 * helmet, request ids, logging, rate limiting, idempotency keys or per-request user lookup.
 * Tokens come from a static map (BASELINE_TOKENS); `npm run bench -- --baseline` starts it with
 * the tokens the product issued to the bench users, so both servers get identical requests.
 *
 *   PORT=3100 DATABASE_URL=postgres://… BASELINE_TOKENS='{"<token>":{"userId":"<uuid>","role":"admin"}}' \
 *     npm run bench:baseline
 */
import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import { Pool } from 'pg';
import { HttpError, LIST_PARAMS, type Principal, readQuery, Routes } from './routes';

const PREFIX = '/api/v1';
const MAX_BODY_BYTES = 1024 * 1024;

function tokensFromEnv(): Map<string, Principal> {
  const raw = process.env.BASELINE_TOKENS;
  if (!raw) throw new Error('BASELINE_TOKENS is required: {"<token>": {"userId", "role"}}');
  const parsed = JSON.parse(raw) as Record<string, Principal>;
  const map = new Map<string, Principal>();
  for (const [token, p] of Object.entries(parsed)) {
    if (typeof p?.userId !== 'string' || !['admin', 'analyst', 'viewer'].includes(p.role))
      throw new Error(`BASELINE_TOKENS: bad entry for token ${token.slice(0, 12)}…`);
    map.set(token, { userId: p.userId, role: p.role });
  }
  return map;
}

const tokens = tokensFromEnv();
// The product's pool settings (src/database/data-source-options.ts), so both have as many
// database connections: DB_POOL_MAX, default 10.
const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DB_POOL_MAX ?? 10),
  connectionTimeoutMillis: 5_000,
  statement_timeout: 15_000,
  application_name: 'finance-api-baseline',
});
// An idle client's error (a restarted server) must not crash the process.
pool.on('error', (error) => console.error('pool:', error.message));
const routes = new Routes(pool);

function send(res: ServerResponse, status: number, body: unknown, headers?: OutgoingHttpHeaders) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The product's ETag (src/common/etag.ts): a hash of the representation. */
function etagOf(representation: object): string {
  const hash = createHash('sha256').update(JSON.stringify(representation)).digest('base64url');
  return `"${hash.slice(0, 27)}"`;
}

/** Static token map instead of JWT verification and the product's per-request user lookup. */
function authenticate(req: IncomingMessage): Principal {
  const header = req.headers.authorization;
  const principal = header?.startsWith('Bearer ') ? tokens.get(header.slice(7)) : undefined;
  if (!principal) throw new HttpError(401, 'Unauthorized');
  return principal;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
    throw new HttpError(415, 'send application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body over 1 MiB');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'malformed JSON');
  }
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const mark = url.indexOf('?');
  const path = mark === -1 ? url : url.slice(0, mark);
  const search = mark === -1 ? '' : url.slice(mark + 1);
  const get = req.method === 'GET';
  // The runner's readiness and drain checks: 200 once the pool answers.
  if (path === '/health/ready' && get) {
    await pool.query('SELECT 1');
    return send(res, 200, { status: 'ok' });
  }
  if (path === '/health/live' && get) return send(res, 200, { status: 'ok' });
  if (!path.startsWith(`${PREFIX}/`)) throw new HttpError(404, `Cannot ${req.method} ${path}`);
  const actor = authenticate(req);
  const route = path.slice(PREFIX.length);
  if (route === '/transactions' && get) {
    const query = readQuery(search, [...LIST_PARAMS, 'sort', 'limit', 'page', 'cursor']);
    return send(res, 200, await routes.list(actor, query));
  }
  if (route === '/transactions' && req.method === 'POST') {
    readQuery(search, []);
    const row = await routes.create(actor, await readJson(req), req.socket.remoteAddress ?? null);
    const location = `${PREFIX}/transactions/${String(row.id)}`;
    return send(res, 201, row, { location, etag: etagOf(row) });
  }
  const byId = /^\/transactions\/([^/]+)$/.exec(route);
  if (byId && get) {
    readQuery(search, []);
    const row = await routes.get(actor, decodeURIComponent(byId[1]));
    return send(res, 200, row, { etag: etagOf(row) });
  }
  if (route === '/dashboard/summary' && get)
    return send(res, 200, await routes.summary(actor, readQuery(search, ['from', 'to'])));
  if (route === '/dashboard/categories' && get) {
    const query = readQuery(search, ['from', 'to', 'type']);
    return send(res, 200, await routes.categories(actor, query));
  }
  if (route === '/dashboard/trends' && get) {
    const query = readQuery(search, ['from', 'to', 'interval']);
    return send(res, 200, await routes.trends(actor, query));
  }
  throw new HttpError(404, `Cannot ${req.method} ${path} (not a route of the baseline)`);
}

/** RFC 9457 body like the product's, without instance and request id. */
function fail(res: ServerResponse, error: unknown): void {
  let status = 500;
  let detail = 'Internal server error';
  if (error instanceof HttpError) {
    status = error.status;
    detail = error.message;
  } else if (
    error instanceof Error &&
    /timeout exceeded when trying to connect/.test(error.message)
  ) {
    status = 503; // the pool wait ran out, as the product's DB_POOL_TIMEOUT_MS
    detail = 'database busy';
  } else {
    console.error(error);
  }
  if (res.headersSent) return void res.destroy();
  const body = { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail };
  send(res, status, body, { 'content-type': 'application/problem+json' });
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => fail(res, error));
});

const port = Number(process.env.PORT ?? 3100);
server.listen(port, () => console.log(`baseline listening on ${port} (${tokens.size} tokens)`));

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    // Finish what is in flight, then close the pool.
    server.close(() => void pool.end().finally(() => process.exit(0)));
    server.closeIdleConnections();
  });
}
