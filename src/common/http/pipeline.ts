import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { answerNotModified } from '../etag';
import { requestContext } from '../request-context';
import { registerJsonBody } from './json-body';
import { requestLog } from './request-log';

export const JSON_BODY_LIMIT = 1024 * 1024;

/**
 * What every request crosses before and after its route, as Fastify hooks (no Express-style
 * middleware is mounted: middie would put each request through a second router):
 * - `onRequest`: the request id header and helmet's headers, on the Node response so responses
 *   written to it directly (the CSV export) carry them too; the request log line;
 * - body parsing (json-body.ts), before guards, so a refused body is not rate counted;
 * - `preHandler`: the request context (who is asking) around guards, interceptors and the route;
 * - `onSend`: 304 for a GET whose `If-None-Match` names the response's ETag.
 */
export function registerHttpPipeline(fastify: FastifyInstance, logger: Logger): void {
  const secure = helmet({
    contentSecurityPolicy: { directives: { 'script-src': ["'self'", "'unsafe-inline'"] } },
  });
  fastify.addHook('onRequest', (req, reply, done) => {
    reply.raw.setHeader('X-Request-Id', req.id);
    secure(req.raw, reply.raw, (err?: unknown) => done(err as Error | undefined));
  });
  fastify.addHook('onRequest', requestLog(logger));
  registerJsonBody(fastify, JSON_BODY_LIMIT);
  fastify.addHook('preHandler', requestContext);
  fastify.addHook('onSend', answerNotModified);
}
