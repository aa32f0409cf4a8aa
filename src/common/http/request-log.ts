import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * One short line per request at `info`: who asked for what and how it ended, aborted ones
 * included (Fastify's `onResponse` hook would miss those). Health checks are not logged; below
 * `info` nothing is attached at all. Server errors are logged with their cause by the exception
 * filter. A Fastify `onRequest` hook.
 */
export function requestLog(logger: Logger) {
  return (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    if (logger.isLevelEnabled('info') && !req.url.startsWith('/health')) {
      reply.raw.once('close', () => {
        // Flat fields: pino-http's `req`/`res` serializers expect the raw objects.
        const line = {
          reqId: req.id,
          method: req.method,
          url: req.originalUrl,
          statusCode: reply.raw.statusCode,
          responseTime: Math.round(reply.elapsedTime),
        };
        if (!reply.raw.writableFinished) logger.warn(line, 'request aborted');
        else logger.info(line, 'request completed');
      });
    }
    done();
  };
}
