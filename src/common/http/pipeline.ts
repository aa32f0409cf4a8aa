import fastifyCors from '@fastify/cors';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { answerNotModified } from '../etag';
import { sendProblem } from '../problem';
import { requestContext } from '../request-context';
import { drainBeforeClose } from './drain';
import { registerJsonBody, routeBodyLimits } from './json-body';
import { requestLog } from './request-log';

export const JSON_BODY_LIMIT = 1024 * 1024;

const secure = helmet({
  contentSecurityPolicy: { directives: { 'script-src': ["'self'", "'unsafe-inline'"] } },
});

/**
 * The request id and helmet's headers, on the Node response: Fastify merges them into whatever
 * it sends, and responses written to the Node response directly (the CSV export) carry them too.
 */
function identify(req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void {
  reply.raw.setHeader('X-Request-Id', req.id);
  secure(req.raw, reply.raw, (err?: unknown) => done(err as Error | undefined));
}

/**
 * What every request crosses before and after its route, as Fastify hooks (no Express-style
 * middleware is mounted: middie would put each request through a second router):
 * - `onRequest`: identify (above); CORS when origins are configured, after it, so preflights
 *   carry the request id too; the request log line;
 * - body parsing (json-body.ts), before guards, so a refused body is not rate counted;
 * - `preHandler`: the request context (who is asking) around guards, interceptors and the route;
 * - `onSend`: 304 for a GET whose `If-None-Match` names the response's ETag; a 413 reads the
 *   rest of the refused body before the connection closes (drain.ts).
 */
export function registerHttpPipeline(
  fastify: FastifyInstance,
  options: { logger: Logger; corsOrigins: string[] },
): void {
  fastify.addHook('onRequest', identify);
  if (options.corsOrigins.length > 0) {
    void fastify.register(fastifyCors, {
      origin: options.corsOrigins,
      credentials: true,
      // @fastify/cors defaults to the CORS-safelisted methods only.
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
      exposedHeaders: ['X-Request-Id', 'ETag', 'Location', 'Retry-After'],
      // An OPTIONS request without Access-Control-Request-Method is answered like a preflight
      // (204), as on Express, not refused with a bare 400.
      strictPreflight: false,
    });
  }
  fastify.addHook('onRequest', requestLog(options.logger));
  registerJsonBody(fastify, JSON_BODY_LIMIT);
  routeBodyLimits(fastify);
  fastify.addHook('preHandler', requestContext);
  fastify.addHook('onSend', answerNotModified);
  fastify.addHook('onSend', drainBeforeClose);
}

/**
 * Fastify's `frameworkErrors`: a path that is not valid percent-encoding is refused by the router
 * before any hook runs; it gets the same problem body as everything else.
 */
export function routingProblem(
  _error: FastifyError,
  req: FastifyRequest,
  reply: FastifyReply,
): void {
  identify(req, reply, () => undefined);
  sendProblem(req, reply, { status: 400, detail: 'The path is not valid percent-encoding' });
}

/**
 * Fastify's `clientErrorHandler`, for requests that are not HTTP (a malformed header line, a bad
 * Content-Length, headers past 16 KiB): a bare status line and a closed connection, as Node
 * itself answers them; there is no request to give an id or a problem body to.
 */
export function bareClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 408
        : 400;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`);
}
